"""``shopfuse interactions ...``: users' purchases, carts and views."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError

interactions_app = typer.Typer(help="Users' purchases, carts and views.", no_args_is_help=True)


@interactions_app.command("add")
def interactions_add(
    file: Annotated[Path, typer.Argument(help="user_id,item_id,timestamp[,event,weight,price] CSV/JSONL.")],
    store: StoreOpt,
) -> None:
    """Append interactions to the store's log (checked row by row first; nothing half-written)."""
    from shopfuse.recommend import InteractionLog, read_interactions

    try:
        engine = open_engine(store)
        events = read_interactions(file)
        known = set(engine.store.hashes())
        unknown = {e.item_id for e in events.events} - known
        part = InteractionLog(engine.path / "interactions").append(events)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(f"{len(events)} interactions of {len(events.users)} users appended as {part.name}")
    if unknown:
        typer.echo(f"note: {len(unknown)} item ids are not in the store yet (kept; used once ingested)")
