"""``shopfuse info``, ``check`` and ``delete``: look after a store."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shopfuse.cli._common import JsonOpt, StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError


def info(store: StoreOpt, as_json: JsonOpt = False) -> None:
    """Counts, modalities present and the encoders that made the vectors."""
    try:
        details = open_engine(store).info()
    except ShopfuseError as exc:
        raise fail(exc) from exc
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


def check(
    store: StoreOpt,
    as_json: JsonOpt = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Make a damaged store ingestable again: move a damaged table into damaged/, or delete "
            "products with bad vectors; then re-ingest the catalogue.",
        ),
    ] = False,
) -> None:
    """Re-hash the store's files and read every row: exit 1 when damage is found."""
    from shopfuse.store.checking import check_store, describe, repair_store

    try:
        report = check_store(store)
        done = repair_store(store, report) if repair else []
        if done:
            report = check_store(store)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "repaired": done}, indent=2, ensure_ascii=False))
    else:
        typer.echo(describe(report, done))
    if not report.ok:
        raise typer.Exit(1)


def delete(
    store: StoreOpt,
    ids: Annotated[list[str], typer.Argument(help="Product ids to delete.")],
) -> None:
    """Delete products by id."""
    try:
        removed = open_engine(store).delete(ids)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(f"deleted {removed} of {len(ids)}")
