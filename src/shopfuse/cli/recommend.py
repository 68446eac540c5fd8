"""``shopfuse recommend ...``: similar, personalised and complementary items."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from shopfuse.cli._common import JsonOpt, StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError

recommend_app = typer.Typer(help="Similar, personalised and complementary items.", no_args_is_help=True)
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, help="How many items.")]


@recommend_app.command("similar")
def recommend_similar(
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", help="Seed product id.")],
    k: KOpt = 10,
    exclude_variants: Annotated[
        bool, typer.Option("--exclude-variants", help="Drop near-duplicates and the item's own variants.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Nearest products by fused multimodal content."""
    try:
        rows = open_engine(store).recommendations().similar(item, k=k, exclude_variants=exclude_variants)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    _print_recs(rows, as_json)


@recommend_app.command("user")
def recommend_user(
    store: StoreOpt,
    user: Annotated[str, typer.Option("--user", help="User id (from the interaction log).")],
    k: KOpt = 12,
    method: Annotated[str, typer.Option(help="hybrid, content, itemknn or popularity.")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """What the user is likely to take next (a user without history gets popular items)."""
    try:
        rows = open_engine(store).recommendations().for_user(user, k=k, method=method)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    _print_recs(rows, as_json)


@recommend_app.command("complete")
def recommend_complete(
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", help="Seed product id.")],
    k: KOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """Complete the look: items of other categories bought with items like this one."""
    try:
        rows = open_engine(store).recommendations().complements(item, k=k)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    _print_recs(rows, as_json)


def _print_recs(rows: list[dict[str, Any]], as_json: bool) -> None:
    """Print recommendations as JSON or as a ranked table (cold items marked)."""
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for rank, row in enumerate(rows, start=1):
        cold = " (cold)" if row.get("cold") else ""
        typer.echo(
            f"{rank:>3}. {row['score']:.4f}  {row['id']:<12} {row.get('title') or '(photo only)'}"
            f"  [{row.get('category', '')}]{cold}"
        )
