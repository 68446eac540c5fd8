"""``shopfuse report``: the marketing insights page of a store (and an impression log)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError


def report(
    store: StoreOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML page to write.")],
    log: Annotated[
        Path | None,
        typer.Option(
            help="Impression log (CSV/Parquet, or a folder of the service's JSON-lines parts) for the "
            "best and worst creatives per segment."
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Name a log column: reward=click, context=age,segment (repeatable)."),
    ] = None,
    segments: Annotated[
        int | None, typer.Option("--segments", min=2, max=20, help="User segments (default: by silhouette).")
    ] = None,
    segment_column: Annotated[
        str | None, typer.Option(help="The log's column to split creatives by (default: segment or auto).")
    ] = None,
    min_impressions: Annotated[
        float, typer.Option(min=1, help="Fewest (effective) impressions for a creative to be ranked.")
    ] = 50.0,
    trend_attribute: Annotated[
        list[str] | None,
        typer.Option(
            help="Attribute whose share over time is plotted (repeatable; default: type and colour)."
        ),
    ] = None,
    title: Annotated[str, typer.Option(help="The page's title.")] = "Marketing insights",
) -> None:
    """Write a self-contained HTML report: segments, creatives per segment, trends, catalogue gaps."""
    from shopfuse.creative.logs import LogMapping, read_log
    from shopfuse.insights.report import ReportOptions, build_report, write_report

    try:
        impressions = None
        if log is not None:
            if log.is_dir():
                from shopfuse.creative.journal import read_journal

                impressions = read_journal(log)
            else:
                impressions = read_log(log, LogMapping.from_options(map_ or []))
        recommendations = open_engine(store).recommendations()
        options = ReportOptions(
            title=title,
            segments=segments,
            segment_column=segment_column,
            min_impressions=min_impressions,
            trend_attributes=trend_attribute or None,
        )
        page = build_report(recommendations, impressions, options, store=store)
        write_report(page, out)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(f"report written to {out}", err=True)
