"""Option types and helpers shared by the command modules: store, JSON output, progress, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig, OcrMode
from shopfuse.errors import ShopfuseError

STORE_ENV = "SHOPFUSE_STORE"
"""The environment variable that gives ``--store`` when the option is left out."""
SERVER_ENV = "SHOPFUSE_SERVER"
"""The environment variable that gives ``shopfuse search --server`` when the option is left out."""
_STORE_HELP = (
    "Store folder, or milvus://host:19530/collection for a Milvus server; "
    f"default: the {STORE_ENV} environment variable."
)
StoreOpt = Annotated[
    str, typer.Option("--store", "-s", envvar=STORE_ENV, show_envvar=False, help=_STORE_HELP)
]
OptionalStoreOpt = Annotated[
    str | None, typer.Option("--store", "-s", envvar=STORE_ENV, show_envvar=False, help=_STORE_HELP)
]
"""``--store`` for a command that can do without one (``shopfuse search --server``)."""
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
JsonOutOpt = Annotated[Path | None, typer.Option("--json", help="Also write the JSON here.")]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", "-f", help="Map a standard field to a column: title=productDisplayName."),
]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", "-m", help="YAML field mapping file.")]


def fail(exc: Exception) -> typer.Exit:
    """Print ``exc`` as one error line on stderr; the exit (status 2) for the caller to raise."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def field_mapping(field: list[str] | None, mapping: Path | None) -> FieldMapping:
    """The field mapping from the ``--field`` and ``--mapping`` options."""
    return FieldMapping.from_options(field or [], mapping)


def show_progress(choice: bool | None = None) -> bool:
    """The ``--progress`` choice, or whether stderr is a terminal when none was made."""
    return choice if choice is not None else sys.stderr.isatty()


def split_labels(text: str | None) -> list[str]:
    """The non-empty names of a comma-separated list."""
    return [label.strip() for label in (text or "").split(",") if label.strip()]


def write_json(data: Any, out: Path | None) -> None:
    """Print ``data`` as JSON, and also write it to ``out`` when given."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def engine_config(
    text_encoder: str | None,
    image_encoder: str | None,
    clip_path: Path | None,
    ocr: OcrMode | None,
    base: EngineConfig | None = None,
    model: Path | None = None,
) -> EngineConfig:
    """Engine config from CLI options, on top of ``base`` (a store's saved config) or defaults.

    A new store made with ``--model`` takes the model's encoders.
    """
    config = (base or EngineConfig()).model_copy(deep=True)
    if model is not None:
        from shopfuse.model.shop_model import ShopModel

        trained = ShopModel.load(model)
        config.model = str(model.resolve())
        if base is None:
            config.text_encoder = trained.config.text_encoder
            config.image_encoder = trained.config.image_encoder

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


def open_engine(store: str | Path, config: EngineConfig | None = None, *, create: bool = False) -> Any:
    """Open (or with ``create``, make) the engine of a store; the engine is imported only here."""
    from shopfuse.engine import Engine

    return Engine.open(store, config, create=create)
