"""``shopfuse copy check``: titles, descriptions and attributes against what the photos show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import StoreOpt, fail, open_engine, show_progress
from shopfuse.errors import ConfigError, ShopfuseError


def copy_check(
    store: StoreOpt,
    out_json: Annotated[
        Path | None, typer.Option("--json", help="Write the full report (every finding) as JSON here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML page with thumbnails here.")
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Compare the photo's reading with the text only at this confidence or more.",
        ),
    ] = 0.8,
    limit: Annotated[int | None, typer.Option(min=0, help="Check at most this many products.")] = None,
    where: Annotated[
        str | None, typer.Option(help="Check only products matching this filter (articleType = 'Shirts').")
    ] = None,
) -> None:
    """List text that contradicts the photos, what the photos show that no text states, and duplicates."""
    from shopfuse.content.page_report import render_page_check
    from shopfuse.tasks.duplicates import DuplicateRule
    from shopfuse.tasks.page_check import check_pages

    try:
        engine = open_engine(store)
        if engine.model is None:
            raise ConfigError(
                f"the store at {store} has no model to read its photos (ingest 500+ products with "
                "photos and titles, or `shopfuse ingest --learn on`)"
            )
        report = check_pages(
            engine.store,
            engine.model,
            where=where,
            limit=limit,
            min_confidence=min_confidence,
            duplicates=DuplicateRule(variant_attribute=engine.config.variant_attribute),
            progress=show_progress(),
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    data = report.to_dict()
    if out_json is not None:
        out_json.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if html is not None:
        html.write_text(render_page_check(data, store=str(store)), encoding="utf-8")
    counts = data["counts"]
    typer.echo(
        f"{data['products']} products checked ({data['with_photo']} with a photo): "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items())
        + f". {data['compared']}."
    )
    for finding in data["findings"][:10]:
        typer.echo("  " + _line(finding))
    if len(data["findings"]) > 10:
        typer.echo(
            f"  ... {len(data['findings']) - 10} more" + ("" if out_json or html else " (--json, --html)")
        )
    for path in (out_json, html):
        if path is not None:
            typer.echo(f"written: {path}")


def _line(finding: dict[str, object]) -> str:
    kind = finding["kind"]
    if kind == "duplicate":
        return f"duplicate {finding['id']}: same product as {', '.join(map(str, finding['others']))}"  # type: ignore[call-overload]
    if kind == "missing":
        return f"missing {finding['id']}: photo shows {finding['photo_says']} ({finding['attribute']})"
    return (
        f"contradiction {finding['id']} {finding['field']}: {finding['text']!r}, "
        f"photo shows {finding['photo_says']} ({finding['confidence']})"
    )
