"""``shopfuse eval copy``: score generated copy against reference copy and the product records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import JsonOutOpt, fail, write_json
from shopfuse.errors import ShopfuseError

__all__ = ["eval_copy"]


def eval_copy(
    candidates: Annotated[Path, typer.Option("--candidates", help="Generated copy: JSONL {id, text}.")],
    references: Annotated[
        Path, typer.Option("--references", help="Reference copy: JSONL {id, text} or {id, texts: [...]}.")
    ],
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", "-c", help="Catalogue JSONL (id, title, attributes...): fact metrics."),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="zh or en (default: the references' language).")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="YAML: banned words, min_chars, max_chars (per lang).")
    ] = None,
    per_item: Annotated[
        bool, typer.Option("--per-item/--summary", help="Include every item's scores.")
    ] = True,
    out: JsonOutOpt = None,
) -> None:
    """BLEU-4, METEOR, ROUGE-L, CIDEr-D, distinct-1/2, length (zh: also the ChatGLM/AdvertiseGen
    figures); with --catalog coverage, contradictions, unsupported claims and PARENT; with --rules
    the rule violations."""
    from shopfuse.evaluation.copy import (
        evaluate_copy,
        load_rules,
        read_candidates,
        read_catalog,
        read_references,
    )

    try:
        report = evaluate_copy(
            read_candidates(candidates),
            read_references(references),
            read_catalog(catalog) if catalog is not None else None,
            lang=lang,
            rules=load_rules(rules) if rules is not None else None,
            per_item=per_item,
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    write_json(report, out)
    missing = report["candidates_without_reference"]
    unread = report["references_without_candidate"]
    note = f"scored {report['scored']} candidates ({report['lang']})"
    if missing:
        note += f"; {len(missing)} without a reference in {references} (not scored): {', '.join(missing[:5])}"
    if unread:
        note += f"; {len(unread)} references without a candidate"
    typer.echo(note, err=True)
