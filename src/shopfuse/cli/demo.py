"""``shopfuse demo``: build a store from the shared catalogue and search it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import fail
from shopfuse.errors import ShopfuseError


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
        raise fail(exc) from exc
