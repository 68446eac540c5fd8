"""``shopfuse ask`` and ``shopfuse eval qa``: grounded product Q&A with citations, and its evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shopfuse.cli._common import JsonOutOpt, StoreOpt, fail, open_engine, write_json
from shopfuse.errors import ShopfuseError

__all__ = ["ask", "eval_qa", "format_answer"]


def format_answer(result: dict[str, Any]) -> str:
    """The readable default output: the answer, its source, then the specification and opinions apart."""
    lines = [f"Q: {result['question']}", f"A: {result['answer']}"]
    for cite in result["citations"]:
        lines.append(f"   source: {cite['ref']} ({cite['source']}): {cite['text']}")
    if result["status"] == "not_stated":
        lines.append("   nothing in the product's record answers this.")
    for title, key in (("Specification", "specification"), ("Customers say", "opinions")):
        if result[key]:
            lines.append(f"{title}:")
            lines += [f"  - [{c['ref']}] {c['text']}" for c in result[key]]
    return "\n".join(lines)


def ask(
    question: Annotated[str, typer.Argument(help='The question, e.g. "is this machine washable?"')],
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", "-i", help="The product's id in the store.")],
    image: Annotated[
        Path | None,
        typer.Option("--image", help="The shopper's photo: its text, attributes as evidence."),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Ranked evidence to show.")] = 5,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Recognised attributes count from this confidence.")
    ] = 0.5,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Answer a question about one product from its own record, citing the field and sentence, or say
    "not stated"."""
    from shopfuse.content.ask import AskParts, ask_store, ranker_for

    try:
        engine = open_engine(store)
        ranker = ranker_for(engine.text_encoder, engine.config.text_encoder.name)
        photo = engine.components() if image is not None else None
        parts = AskParts(engine.store, ranker, engine.model, engine.predict_attributes, photo)
        result = ask_store(parts, item, question, image=image, k=k, min_confidence=min_confidence)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    data = {"item": item, **result.to_dict()}
    if json_out:
        write_json(data, None)
    else:
        typer.echo(format_answer(data))


def eval_qa(
    data: Annotated[Path, typer.Option("--data", "-d", help="Q&A JSON lines (qid, question...).")],
    k: Annotated[int, typer.Option("--k", min=1, help="nDCG cut-off.")] = 5,
    lexical: Annotated[
        bool, typer.Option("--lexical", help="Rank by words alone (no sentence encoder): the baseline.")
    ] = False,
    json_out: JsonOutOpt = None,
) -> None:
    """Score Q&A: evidence ranking (nDCG@k, P@1), answers (ROUGE-L, BLEU), abstention ("not stated" P/R)."""
    from shopfuse.content.qa import QARanker, text_encoder
    from shopfuse.evaluation.qa import evaluate_qa, read_qa

    try:
        items = read_qa(data)
        ranker = QARanker(None) if lexical else QARanker(text_encoder())
        report = evaluate_qa(items, ranker, k=k)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    report = {"data": str(data), "ranker": "lexical" if lexical else "use-multilingual+lexical", **report}
    if json_out is not None:
        write_json(report, json_out)
        return
    ranking, answers, abst = report["ranking"], report["answers"], report["abstention"]
    typer.echo(f"{report['questions']} questions from {data}")
    typer.echo(
        f"ranking ({ranking['questions']} answerable): nDCG@{k} {ranking[f'nDCG@{k}']}  P@1 {ranking['P@1']}"
    )
    rouge, bleu = answers["ROUGE-L"], answers["BLEU"]
    typer.echo(f"answers ({answers['questions']} with a reference): ROUGE-L {rouge}  BLEU {bleu}")
    if abst:
        typer.echo(
            f"abstention: 'not stated' said {int(abst['not_stated'])} times, {int(abst['unanswerable'])} "
            f"unanswerable; precision {abst['precision']} recall {abst['recall']}"
        )
    typer.echo(f"latency: {report['latency_ms']['mean']} ms per question (mean)")
