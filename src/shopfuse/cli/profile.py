"""``shopfuse profile ...``: user profiles and segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import JsonOutOpt, StoreOpt, fail, open_engine, write_json
from shopfuse.errors import ShopfuseError

profile_app = typer.Typer(help="User profiles and segments.", no_args_is_help=True)


@profile_app.command("user")
def profile_user(
    store: StoreOpt,
    user: Annotated[str, typer.Option("--user", help="User id.")],
    vector: Annotated[bool, typer.Option("--vector", help="Include the profile vector.")] = False,
) -> None:
    """A user's interests (categories, colours, types, price band) with weights, as JSON."""
    try:
        profile = open_engine(store).recommendations().profile(user)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps(profile.to_dict(with_vector=vector), ensure_ascii=False, indent=2))


@profile_app.command("segments")
def profile_segments(
    store: StoreOpt,
    n: Annotated[int | None, typer.Option("--n", min=2, help="Segments (default: by silhouette).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save a PNG map of the segments.")] = None,
    out: JsonOutOpt = None,
) -> None:
    """Cluster users by their profile vectors and describe each segment."""
    from shopfuse.recommend.profiles import plot_segments

    try:
        profiles, segments, labels = open_engine(store).recommendations().segments(n)
    except (ShopfuseError, ValueError) as exc:
        raise fail(exc) from exc
    for segment in segments:
        typer.echo(f"segment {segment.id}: {len(segment.users)} users - {segment.description}", err=True)
    if plot is not None:
        usable = [p for p in profiles if p.vector is not None]
        plot_segments(usable, labels, segments, plot)
        typer.echo(f"plot written to {plot}", err=True)
    write_json([s.to_dict() for s in segments], out)
