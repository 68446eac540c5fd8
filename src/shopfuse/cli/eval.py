"""``shopfuse eval ...``: the evaluation harness."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import (
    FieldOpt,
    JsonOutOpt,
    MappingOpt,
    fail,
    field_mapping,
    show_progress,
    split_labels,
    write_json,
)
from shopfuse.errors import ShopfuseError

eval_app = typer.Typer(help="The evaluation harness.", no_args_is_help=True)


@eval_app.command("retrieval")
def eval_retrieval(
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue to search (JSONL/CSV).")],
    queries: Annotated[Path, typer.Option(help="qid<TAB>text per line, any language.")],
    qrels: Annotated[Path, typer.Option(help="TREC qrels: qid 0 docid grade.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (omit: raw encoders baseline).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Cut-off.")] = 10,
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: JsonOutOpt = None,
) -> None:
    """Ingest CAT into a temporary store with the model, run the queries, score against the qrels."""
    from shopfuse.workflows import evaluate_retrieval

    try:
        metrics = evaluate_retrieval(
            model,
            catalog,
            queries,
            qrels,
            k=k,
            mapping=field_mapping(field, mapping),
            progress=show_progress(),
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    write_json(metrics, out)
    typer.echo(
        f"scored {metrics['queries']} queries; not scored: {metrics['qrels_without_query']} judged "
        f"queries missing from {queries}, {metrics['queries_without_judgement']} queries without a "
        "relevant document in the qrels",
        err=True,
    )


@eval_app.command("attributes")
def eval_attributes(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder.")],
    test: Annotated[Path, typer.Option("--test", help="Catalogue the model never saw, with label columns.")],
    labels: Annotated[str, typer.Option(help="Label columns to score, comma separated.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: JsonOutOpt = None,
) -> None:
    """Accuracy, macro-F1 and weighted-F1 per label on a held-out catalogue."""
    from shopfuse.workflows import evaluate_attributes

    try:
        metrics = evaluate_attributes(
            model,
            test,
            split_labels(labels),
            mapping=field_mapping(field, mapping),
            progress=show_progress(),
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    write_json(metrics, out)


@eval_app.command("recommend")
def eval_recommend(
    items: Annotated[Path, typer.Option("--items", help="Catalogue (JSONL/CSV: id, image, optional text).")],
    train: Annotated[Path, typer.Option("--train", help="user_id,item_id,timestamp CSV to learn from.")],
    test: Annotated[Path, typer.Option("--test", help="user_id,item_id,timestamp CSV to predict.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (omit: raw encoders).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Recommendations per user.")] = 12,
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: JsonOutOpt = None,
) -> None:
    """Recall, MAP, nDCG, HitRate@k, coverage and cold share of hybrid and every baseline."""
    from shopfuse.workflows import evaluate_recommendations

    try:
        metrics = evaluate_recommendations(
            model,
            items,
            train,
            test,
            k=k,
            mapping=field_mapping(field, mapping),
            progress=show_progress(),
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    write_json(metrics, out)


def _register_content_commands() -> None:
    """``eval copy`` and ``eval qa`` live with their features (cli/copy_eval.py, cli/qa.py)."""
    from shopfuse.cli.copy_eval import eval_copy
    from shopfuse.cli.qa import eval_qa

    eval_app.command("copy")(eval_copy)
    eval_app.command("qa")(eval_qa)


_register_content_commands()
