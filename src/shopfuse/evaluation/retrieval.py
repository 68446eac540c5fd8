"""Retrieval evaluation: queries as ``qid<TAB>text``, TREC qrels, metrics computed by ranx."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

from shopfuse.errors import CatalogError
from shopfuse.optional import require

__all__ = ["RETRIEVAL_METRICS", "read_qrels", "read_queries", "retrieval_metrics"]


def RETRIEVAL_METRICS(k: int) -> dict[str, str]:  # noqa: N802  (a table, computed from k)
    """Report name -> ranx metric name, for cut-off ``k``."""
    return {
        f"nDCG@{k}": f"ndcg@{k}",
        f"Recall@{k}": f"recall@{k}",
        f"MRR@{k}": f"mrr@{k}",
        f"P@{k}": f"precision@{k}",
        "MAP": "map",
    }


def read_queries(path: str | Path) -> dict[str, str]:
    """``{qid: text}`` from a file of ``qid<TAB>text`` lines (any language, UTF-8)."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise CatalogError(f"queries file not found: {file}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{file}: queries must be UTF-8 ({exc})") from exc
    queries: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("\t")
        if not sep or not qid.strip() or not text.strip():
            raise CatalogError(f"{file}:{number}: expected 'qid<TAB>query text', got {line!r}")
        if qid.strip() in queries:
            raise CatalogError(f"{file}:{number}: duplicate query id {qid.strip()!r}")
        queries[qid.strip()] = text.strip()
    if not queries:
        raise CatalogError(f"{file}: no queries")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{qid: {docid: grade}}`` from TREC qrels lines ``qid 0 docid grade`` (whitespace separated)."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise CatalogError(f"qrels file not found: {file}") from exc
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise CatalogError(f"{file}:{number}: expected 'qid 0 docid grade', got {line!r}")
        qid, _, docid, grade = parts
        try:
            qrels.setdefault(qid, {})[docid] = int(grade)
        except ValueError as exc:
            raise CatalogError(f"{file}:{number}: grade {grade!r} is not an integer") from exc
    if not qrels:
        raise CatalogError(f"{file}: no judgements")
    return qrels


def retrieval_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    k: int = 10,
) -> dict[str, float]:
    """nDCG@k, Recall@k, MRR@k, P@k and MAP over the queries asked that have judgements.

    The queries asked are the keys of ``run``: one per query, empty when it retrieved nothing (such a
    query counts as zero). Judged queries that were not asked are not scored, so a query file that
    covers part of the qrels is averaged over its own queries only; asked queries without a relevant
    document in the qrels are not scored either (TREC convention). Both are counted, as
    ``qrels_without_query`` and ``queries_without_judgement``, beside ``queries``, the number scored.
    """
    ranx = require("ranx", "ranx", "eval", "retrieval metrics")

    judged = {q: dict(d) for q, d in qrels.items() if any(g > 0 for g in d.values())}
    if not judged:
        raise CatalogError("the qrels hold no relevant document")
    scored = [q for q in run if q in judged]
    if not scored:
        raise CatalogError(
            f"none of the {len(run)} queries asked has a relevant document in the qrels "
            "(do the query ids match the qrels'?)"
        )
    counts = {
        "queries": len(scored),
        "qrels_without_query": sum(1 for q in judged if q not in run),
        "queries_without_judgement": len(run) - len(scored),
    }
    ranked = {q: dict(run[q]) for q in scored}
    names = RETRIEVAL_METRICS(k)
    if not any(ranked.values()):  # ranx cannot score a run that retrieved nothing at all
        return {**dict.fromkeys(names, 0.0), **counts}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety chatter
        scores = ranx.evaluate(
            ranx.Qrels({q: judged[q] for q in scored}),
            ranx.Run(ranked),
            list(names.values()),
            make_comparable=True,
        )
    return {**{label: float(scores[metric]) for label, metric in names.items()}, **counts}
