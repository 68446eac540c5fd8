"""``shopfuse attributes ...``: attribute recognition with a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import (
    FieldOpt,
    MappingOpt,
    engine_config,
    fail,
    field_mapping,
    open_engine,
    show_progress,
    split_labels,
)
from shopfuse.errors import ShopfuseError

attributes_app = typer.Typer(help="Attribute recognition with a trained model.", no_args_is_help=True)


@attributes_app.command("predict")
def attributes_predict(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder.")],
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue whose attributes to fill.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    store: Annotated[
        Path | None, typer.Option("--store", "-s", help="Store to build/reuse (default: a temporary one).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write predictions as JSON lines here.")] = None,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Below this, a prediction is flagged for review.")
    ] = 0.5,
    zero_shot: Annotated[
        list[str] | None,
        typer.Option(help="Unseen candidate values LABEL=v1,v2 matched zero-shot in the joint space."),
    ] = None,
) -> None:
    """Predict the model's labels for every product; fills missing values, flags low confidence."""
    import tempfile

    from shopfuse.workflows import temporary_engine

    try:
        candidates = {}
        for option in zero_shot or []:
            label, sep, values = option.partition("=")
            if not sep:
                raise ShopfuseError(f"--zero-shot expects LABEL=v1,v2, got {option!r}")
            candidates[label.strip()] = split_labels(values)
        with tempfile.TemporaryDirectory(prefix="shopfuse-attr-") as tmp:
            engine = (
                temporary_engine(model, Path(tmp))
                if store is None
                else open_engine(store, engine_config(None, None, None, None, None, model), create=True)
            )
            engine.ingest(catalog, field_mapping(field, mapping), progress=show_progress())
            rows = engine.predict_attributes(min_confidence=min_confidence, zero_shot=candidates or None)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    lines = [json.dumps(r.to_dict(), ensure_ascii=False) for r in rows]
    if out is not None:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    filled = sum(1 for r in rows for p in r.to_dict()["labels"].values() if p["filled"])
    review = sum(len(r.flagged) for r in rows)
    typer.echo(
        f"{len(rows)} products: {filled} missing values filled, {review} predictions flagged for review"
        + (f"; written to {out}" if out else "")
    )
    if out is None:
        typer.echo("\n".join(lines[:5]))
