"""``shopfuse demo``: ingest the shared fashion catalogue and show what search can do."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.errors import ConfigError
from shopfuse.types import Hit

__all__ = ["FASHION_MAPPING", "find_data", "run_demo"]

FASHION_MAPPING = FieldMapping(
    title="productDisplayName", exclude=["image", "width", "height", "bytes", "sha1"]
)
"""The shared fashion catalogue's columns: the title is ``productDisplayName``; file facts are dropped."""

EXAMPLE_QUERIES: list[tuple[str, str | None]] = [
    ("black leather shoes for men", None),
    ("红色连衣裙", None),
    ("蓝色牛仔裤", None),
    ("analog watch", "gender = 'Women'"),
]


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


def _show(title: str, hits: list[Hit], seconds: float) -> None:
    typer.echo(f"\n{title}  ({seconds * 1000:.0f} ms)")
    for rank, hit in enumerate(hits, start=1):
        a = hit.attributes
        facts = " / ".join(str(a.get(k)) for k in ("gender", "articleType", "baseColour") if a.get(k))
        typer.echo(f"  {rank}. {hit.score:.3f}  {hit.title}  [{facts}]")


def run_demo(store: Path, data: Path | None = None, limit: int | None = None) -> None:
    """Ingest (resumable, incremental) and print example searches."""
    from shopfuse.engine import Engine

    folder = find_data(data)
    catalog = folder / "fashion-products" / "metadata.csv"
    typer.echo(f"ingesting {catalog} into {store} ...")
    engine = Engine.open(store)
    report = engine.ingest(catalog, FASHION_MAPPING, progress=sys.stderr.isatty(), limit=limit)
    typer.echo(report.summary())
    info = engine.info()
    typer.echo(f"store holds {info['products']} products; vectors per modality: {info['modalities']}")
    engine.search_text("warm-up", k=1)  # loads the vector matrices once, so timings below are warm
    for query, where in EXAMPLE_QUERIES:
        started = time.perf_counter()
        hits = engine.search_text(query, k=5, where=where)
        label = f"text query {query!r}" + (f" where {where}" if where else "")
        _show(label, hits, time.perf_counter() - started)
    first = (
        engine.store.get([engine.store.vectors("image")[0][0]])[0]
        if info["modalities"].get("image")
        else None
    )
    if first and first.get("image"):
        started = time.perf_counter()
        hits = engine.search_image(first["image"], k=5)
        _show(f"photo query {first['image']} ({first['title']})", hits, time.perf_counter() - started)
    typer.echo(f'\ntry: shopfuse search --store {store} "white sneakers" -k 5')
