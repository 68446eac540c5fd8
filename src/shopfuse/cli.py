"""The ``shopfuse`` command line, a thin layer over :class:`shopfuse.engine.Engine`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig, OcrMode
from shopfuse.errors import ShopfuseError
from shopfuse.types import Hit

app = typer.Typer(
    help="shopfuse: multimodal product search that runs offline on a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[Path, typer.Option("--store", "-s", help="Store directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def _engine_config(
    text_encoder: str | None,
    image_encoder: str | None,
    clip_path: Path | None,
    ocr: OcrMode | None,
    base: EngineConfig | None = None,
) -> EngineConfig:
    """Engine config from CLI options, on top of ``base`` (a store's saved config) or defaults."""
    config = (base or EngineConfig()).model_copy(deep=True)

    def spec(name: str) -> ComponentSpec:
        if name == "clip":
            if clip_path is None:
                raise ShopfuseError("the clip encoder needs --clip-path DIR (a local checkpoint)")
            return ComponentSpec(name="clip", params={"path": str(clip_path)})
        return ComponentSpec(name=name)

    if text_encoder:
        config.text_encoder = spec(text_encoder)
    if image_encoder:
        config.image_encoder = None if image_encoder == "none" else spec(image_encoder)
    if ocr:
        config.ocr = ocr
    return config


def _open(store: Path, config: EngineConfig | None = None, *, create: bool = False) -> Any:
    from shopfuse.engine import Engine

    return Engine.open(store, config, create=create)


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no results")
        return
    for rank, hit in enumerate(hits, start=1):
        why = ", ".join(f"{m} {s:.3f}" for m, s in hit.contributions.items())
        attrs = ", ".join(f"{k}={v}" for k, v in list(hit.attributes.items())[:4] if v is not None)
        typer.echo(f"{rank:>3}. {hit.score:.4f}  {hit.id:<12} {hit.title or '(no title)'}")
        typer.echo(f"       [{why}]  {attrs}")


@app.command()
def ingest(
    catalog: Annotated[Path, typer.Argument(help="CSV, TSV, JSONL or Parquet catalogue.")],
    store: StoreOpt,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", help="Map a standard field to a column: title=productDisplayName."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="YAML file mapping fields to columns.")
    ] = None,
    text_encoder: Annotated[
        str | None,
        typer.Option(help="use-multilingual (default), multilingual-e5-small, minilm, clip."),
    ] = None,
    image_encoder: Annotated[
        str | None, typer.Option(help="efficientnet-colour (default), clip or none.")
    ] = None,
    clip_path: Annotated[
        Path | None, typer.Option(help="Local transformers CLIP checkpoint for the clip encoder.")
    ] = None,
    ocr: Annotated[
        OcrMode | None,
        typer.Option(help="Text in photos: off (default), auto (detect first, read where found), on."),
    ] = None,
    sync: Annotated[
        bool, typer.Option(help="Delete stored products that are no longer in the catalogue.")
    ] = True,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Products per commit.")] = None,
    report: Annotated[Path | None, typer.Option(help="Problem report path (JSON lines).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: when stderr is a terminal).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Encode a catalogue into a store; only changed products are re-encoded."""
    try:
        from shopfuse.engine import CONFIG_FILE

        saved = EngineConfig.load(store / CONFIG_FILE) if (store / CONFIG_FILE).is_file() else None
        config = _engine_config(text_encoder, image_encoder, clip_path, ocr, saved)
        if batch_size:
            config.batch_size = batch_size
        engine = _open(store, config, create=True)
        result = engine.ingest(
            catalog,
            FieldMapping.from_options(field or [], mapping),
            sync=sync,
            progress=progress if progress is not None else sys.stderr.isatty(),
            report_path=report,
            limit=limit,
        )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(result.to_dict()) if as_json else result.summary())
    if result.stored == 0 and result.unchanged == 0 and result.rows > 0:
        typer.echo("error: nothing could be ingested", err=True)
        raise typer.Exit(1)


@app.command()
def search(
    store: StoreOpt,
    query: Annotated[str | None, typer.Argument(help="Text query, any language.")] = None,
    image: Annotated[Path | None, typer.Option("--image", "-i", help="Query photo.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Number of results.")] = 10,
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help="SQL filter on attributes: \"gender = 'Women'\"."),
    ] = None,
    text_encoder: Annotated[
        str | None,
        typer.Option(help="Encode the query with this encoder (must match the store's)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a store by text or by photo."""
    if (query is None) == (image is None):
        raise _fail(ShopfuseError("give either a text query or --image PATH"))
    try:
        engine = _open(store)
        if image is not None:
            hits = engine.search_image(image, k=k, where=where)
        elif text_encoder and text_encoder != engine.config.text_encoder.name:
            from shopfuse.registry import registry

            other = registry.create("text_encoder", text_encoder)
            vector = other.encode_text([query], role="query")[0]
            hits = engine.searcher().vector_query(vector, other.text_info, k=k, where=where)
        else:
            hits = engine.search_text(query or "", k=k, where=where)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _print_hits(hits, as_json)


@app.command()
def info(store: StoreOpt, as_json: JsonOpt = False) -> None:
    """Counts, modalities present and the encoders that made the vectors."""
    try:
        details = _open(store).info()
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(details, indent=2, ensure_ascii=False))
        return
    typer.echo(f"store      {details['store']} ({details['backend']})")
    typer.echo(f"products   {details['products']}")
    for column, count in details["modalities"].items():
        enc = details["encoders"][column]
        typer.echo(f"  {column:<6} {count:>7} vectors  {enc['name']} {enc['version']} ({enc['dim']}-d)")
    attrs = ", ".join(f"{n}:{t}" for n, t in details["attributes"].items())
    typer.echo(f"attributes {attrs or '-'}")
    typer.echo(f"ocr        {details['config']['ocr']}")


@app.command()
def delete(
    store: StoreOpt,
    ids: Annotated[list[str], typer.Argument(help="Product ids to delete.")],
) -> None:
    """Delete products by id."""
    try:
        removed = _open(store).delete(ids)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(f"deleted {removed} of {len(ids)}")


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", "-s", help="Where to build the demo store.")] = Path(
        "demo-store"
    ),
    data: Annotated[
        Path | None, typer.Option(help="The shared data folder (default: ../shared/data).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Ingest only the first N products (quicker).")
    ] = None,
) -> None:
    """Ingest the shared fashion catalogue and run example searches (text, Chinese, photo, filter)."""
    from shopfuse.demo import run_demo

    try:
        run_demo(store, data, limit)
    except ShopfuseError as exc:
        raise _fail(exc) from exc


def main() -> None:
    """Entry point for ``python -m shopfuse``."""
    app()
