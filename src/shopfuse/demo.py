"""``shopfuse demo``: ingest the shared fashion catalogue and show what search can do."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import typer

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.errors import ConfigError, ShopfuseError
from shopfuse.types import Hit

__all__ = ["FASHION_MAPPING", "find_data", "run_demo"]

FASHION_MAPPING = FieldMapping(
    title="productDisplayName", exclude=["image", "width", "height", "bytes", "sha1"]
)
"""The shared fashion catalogue's columns: the title is ``productDisplayName``; file facts are dropped."""

EXAMPLE_QUERIES: list[tuple[str, str | None]] = [
    ("red dress", None),
    ("红色连衣裙", None),
    ("blue shirt", None),
    ("蓝色衬衫", None),
    ("black leather shoes for men", None),
    ("analog watch", "gender = 'Women'"),
]
PHOTO_ONLY = 3
"""Products the demo also stores as photo-only copies (no title, no attributes), to be found by words."""


def find_data(data: Path | None = None) -> Path:
    """The shared data folder: ``data``, ``$SHOPFUSE_DATA``, or ``../shared/data`` near here."""
    candidates = [data] if data else []
    if os.environ.get("SHOPFUSE_DATA"):
        candidates.append(Path(os.environ["SHOPFUSE_DATA"]))
    candidates.append(Path.cwd().parent / "shared" / "data")
    candidates += [parent / "shared" / "data" for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if (candidate / "fashion-products" / "metadata.csv").is_file():
            return candidate
    raise ConfigError(
        "cannot find the shared data (fashion-products/metadata.csv); pass --data DIR or set SHOPFUSE_DATA"
    )


def _show(title: str, hits: list[Hit], seconds: float, understood: dict[str, Any] | None = None) -> None:
    typer.echo(f"\n{title}  ({seconds * 1000:.0f} ms)")
    if understood and understood.get("constraints"):
        asked = ", ".join(f"{c['label']}={'/'.join(c['values'])}" for c in understood["constraints"])
        typer.echo(f"  understood: {asked}; rewritten as {understood['rewrite']!r}")
    for rank, hit in enumerate(hits, start=1):
        a = hit.attributes
        facts = " / ".join(str(a.get(k)) for k in ("gender", "articleType", "baseColour") if a.get(k))
        why = ", ".join(f"{m} {v:.2f}" for m, v in hit.contributions.items())
        typer.echo(f"  {rank}. {hit.score:.3f}  {hit.title or hit.id}  [{facts or 'photo only'}]  why: {why}")


def run_demo(store: Path, data: Path | None = None, limit: int | None = None) -> None:
    """Ingest and learn (resumable, incremental), then show search, recognition and recommendations."""
    from shopfuse.engine import Engine

    folder = find_data(data)
    catalog = folder / "fashion-products" / "metadata.csv"
    progress = sys.stderr.isatty()
    typer.echo(
        f"ingesting {catalog} into {store} (the shop model is learned from it when it is big enough) ..."
    )
    engine = Engine.open(store)
    report = engine.ingest(
        catalog, FASHION_MAPPING, progress=progress, limit=limit, echo=lambda line: typer.echo("  " + line)
    )
    typer.echo(report.summary())
    photo_only = _add_photo_only(engine, catalog, progress)
    info = engine.info()
    typer.echo(f"store holds {info['products']} products; vectors per modality: {info['modalities']}")
    if engine.model is None:
        typer.echo(
            "no shop model yet: searches below use the raw encoders (shopfuse ingest --learn on to learn)"
        )
    engine.search_text("warm-up", k=1)  # loads the vector matrices once, so timings below are warm
    for query, where in EXAMPLE_QUERIES:
        started = time.perf_counter()
        hits = engine.search_text(query, k=5, where=where)
        label = f"text query {query!r}" + (f" where {where}" if where else "")
        _show(label, hits, time.perf_counter() - started, engine.parse_query(query))
    if engine.model is not None and photo_only:
        _show_photo_only(engine, photo_only)
    first = (
        engine.store.get([engine.store.vectors("image")[0][0]])[0]
        if info["modalities"].get("image")
        else None
    )
    if first and first.get("image"):
        started = time.perf_counter()
        hits = engine.search_image(first["image"], k=5)
        _show(f"similar items: photo of {first['title']}", hits, time.perf_counter() - started)
        _show_shopper(engine, [h.id for h in hits if not h.id.startswith("photo-only-")][:3])
    images = folder / "fashion-products" / "images"
    typer.echo(f'\ntry: shopfuse search --store {store} "white sneakers" -k 5')
    typer.echo(
        f"web UI: shopfuse serve --store {store} --image-root {images}   then open http://127.0.0.1:8000"
    )


def _add_photo_only(engine: Any, catalog: Path, progress: bool) -> list[tuple[str, dict[str, Any]]]:
    """Store photo-only copies of a few products (``photo-only-<id>``), as a shop with untitled items."""
    from shopfuse.catalog.load import load_catalog

    loaded = load_catalog(catalog, FASHION_MAPPING, limit=200)
    chosen = [p for p in loaded.products if p.image][:: max(1, len(loaded.products) // PHOTO_ONLY)][
        :PHOTO_ONLY
    ]
    truth = [(p.id, dict(p.attributes)) for p in chosen]
    for product in chosen:
        product.id = f"photo-only-{product.id}"
        product.title = None
        product.attributes = {}
    loaded.products = chosen
    engine.ingest_catalog(loaded, sync=False, progress=progress)
    return [(f"photo-only-{pid}", attributes) for pid, attributes in truth]


def _show_photo_only(engine: Any, photo_only: list[tuple[str, dict[str, Any]]]) -> None:
    """Photo-only products: what the model recognises in them, and finding one by words."""
    typer.echo("\nphoto-only products (stored without title or attributes): recognised from the photo")
    rows = {r.id: r for r in engine.predict_attributes(ids=[pid for pid, _ in photo_only])}
    for pid, truth in photo_only:
        labels = rows[pid].predicted
        said = ", ".join(
            _recognised(name, p.value, p.confidence, truth.get(name))
            for name, p in labels.items()
            if name in ("articleType", "baseColour", "gender")
        )
        typer.echo(f"  {pid}: {said}")
    pid, truth = photo_only[0]
    words = f"{truth.get('baseColour', '')} {truth.get('articleType', '')}".strip().lower()
    hits = engine.search_text(words, k=50)
    rank = next((n for n, h in enumerate(hits, start=1) if h.id == pid), None)
    where = f"at rank {rank}" if rank else "not in the top 50"
    typer.echo(f"  searching {words!r} finds {pid} (no words of its own) {where}")


def _recognised(name: str, value: str, confidence: float, truth: Any) -> str:
    wrong = "" if truth in (None, value) else f"; the catalogue says {truth}"
    return f"{name}={value} ({confidence:.2f}{wrong})"


def _show_shopper(engine: Any, viewed: list[str]) -> None:
    """Recommendations for a sample shopper who looked at ``viewed``."""
    from shopfuse.recommend.interactions import Event

    now = time.time()
    events = [Event("demo-shopper", item, now - 60 * n, event="view") for n, item in enumerate(viewed)]
    try:
        picks = engine.recommendations().for_user("demo-shopper", k=5, extra=events)
    except ShopfuseError as exc:
        typer.echo(f"\nrecommendations: {exc}")
        return
    typer.echo(f"\nfor a shopper who viewed {', '.join(viewed)}:")
    for rank, pick in enumerate(picks, start=1):
        typer.echo(f"  {rank}. {pick['score']:.3f}  {pick.get('title') or pick['id']}")
