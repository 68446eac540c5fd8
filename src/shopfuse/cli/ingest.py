"""``shopfuse ingest``: encode a catalogue into a store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import (
    FieldOpt,
    JsonOpt,
    StoreOpt,
    engine_config,
    fail,
    field_mapping,
    open_engine,
    show_progress,
)
from shopfuse.config import LearnMode, OcrMode
from shopfuse.errors import ShopfuseError


def ingest(
    catalog: Annotated[Path, typer.Argument(help="CSV, TSV, JSONL or Parquet catalogue.")],
    store: StoreOpt,
    field: FieldOpt = None,
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
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (shopfuse train): fused vectors.")
    ] = None,
    learn: Annotated[
        LearnMode | None,
        typer.Option(
            help="Learn the shop model from the catalogue: auto (default: once 500 products have a "
            "photo and text, again after 20% changed), on (now, from 50), off."
        ),
    ] = None,
    sync: Annotated[
        bool | None,
        typer.Option(
            help="Delete stored products that are no longer in the catalogue "
            "(default: yes for a whole file, no with --limit)."
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Products per commit.")] = None,
    report: Annotated[Path | None, typer.Option(help="Problem report path (JSON lines).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: when stderr is a terminal).")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="Backend of a new store folder: lance (default) or milvus (Milvus Lite)."),
    ] = None,
    ann: Annotated[
        str | None,
        typer.Option(help="Approximate search for a new big store: hnsw or ivf (default: exact)."),
    ] = None,
    filterable: Annotated[
        str | None,
        typer.Option(
            help="A new Milvus store: string attributes to hold as real fields for fast filters "
            "(comma-separated, e.g. gender,articleType); fixed at creation.",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Encode on a Ray cluster: its address (host:port), or auto (the local one, else a new one).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Encode a catalogue into a store; only changed products are re-encoded."""
    try:
        from shopfuse.config import AnnSettings
        from shopfuse.store.locate import read_engine_config
        from shopfuse.store.milvus import is_milvus_uri

        saved = read_engine_config(store)
        config = engine_config(text_encoder, image_encoder, clip_path, ocr, saved, model)
        if batch_size:
            config.batch_size = batch_size
        if backend is not None:
            if backend not in ("lance", "milvus"):
                raise ShopfuseError(f"--backend must be lance or milvus, not {backend!r}")
            config.store_backend = "milvus" if backend == "milvus" else "lance"
        if ann is not None:
            if ann not in ("hnsw", "ivf"):
                raise ShopfuseError(f"--ann must be hnsw or ivf, not {ann!r}")
            config.ann = AnnSettings(kind="hnsw" if ann == "hnsw" else "ivf")
        if filterable is not None:
            if saved is not None:
                raise ShopfuseError("--filterable is fixed when a store is made; this store exists already")
            if not (is_milvus_uri(store) or config.store_backend == "milvus"):
                raise ShopfuseError("--filterable applies to Milvus stores (milvus://..., --backend milvus)")
            config.milvus_filterable = [name.strip() for name in filterable.split(",") if name.strip()]
        engine = open_engine(store, config, create=True)
        result = engine.ingest(
            catalog,
            field_mapping(field, mapping),
            sync=sync,
            progress=show_progress(progress),
            report_path=report,
            limit=limit,
            learn=learn,
            echo=lambda line: typer.echo(line, err=True),
            ray=ray,
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps(result.to_dict()) if as_json else result.summary())
    if result.stored == 0 and result.unchanged == 0 and result.deleted == 0:
        why = "the catalogue has no data rows" if result.rows == 0 else "nothing could be ingested"
        typer.echo(f"error: {why}", err=True)
        raise typer.Exit(1)
