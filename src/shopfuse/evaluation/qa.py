"""Product Q&A evaluation: evidence ranking, answer quality against references, and abstention.

A Q&A file is JSON lines, one question each::

    {"qid", "question", "product": {"id", "title", "attributes"?, "description"?},
     "evidence": [{"id", "text", "source"}], "labels"?: {"<evidence id>": 0|1|2}, "answer"?: "<reference>"}

Reported:

* ranking, over questions with labels and some evidence labelled >= 1: nDCG@k (linear gains, the
  ``ndcg`` of ranx and trec_eval) and P@1 (the top evidence is labelled >= 1);
* answers, over questions with a reference: ROUGE-L F1 (longest common subsequence of
  :func:`~shopfuse.content.text.words`, so Chinese is segmented) and corpus BLEU (sacrebleu; its
  ``zh`` tokeniser when the references are Chinese); a "not stated" answer scores as that text;
* abstention, over labelled questions: a question is answerable when some evidence is labelled
  >= 1; precision and recall of saying "not stated" on the unanswerable ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopfuse.content.catalog import jsonl_objects
from shopfuse.content.text import is_chinese, words
from shopfuse.errors import CatalogError
from shopfuse.optional import require

if TYPE_CHECKING:
    from shopfuse.content.qa import QARanker

__all__ = [
    "QAItem",
    "abstention",
    "bleu",
    "evaluate_qa",
    "ndcg_at_k",
    "precision_at_1",
    "read_qa",
    "rouge_l",
]


@dataclass(slots=True)
class QAItem:
    """One question of a Q&A file."""

    qid: str
    question: str
    product: dict[str, Any]
    evidence: list[dict[str, str]]
    labels: dict[str, int] | None = None
    answer: str | None = None

    @property
    def answerable(self) -> bool | None:
        """Whether some evidence is labelled >= 1 (``None`` without labels)."""
        if self.labels is None:
            return None
        return any(v >= 1 for v in self.labels.values())


def _item(data: Any, where: str) -> QAItem:
    """One validated line."""
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected a JSON object")
    for name in ("qid", "question", "product"):
        if name not in data:
            raise CatalogError(f"{where}: missing {name!r}")
    product = data["product"]
    if not isinstance(product, dict) or not str(product.get("id") or "").strip():
        raise CatalogError(f"{where}: 'product' must be an object with an 'id'")
    question = str(data["question"]).strip()
    if not question:
        raise CatalogError(f"{where}: empty 'question'")
    evidence = data.get("evidence") or []
    if not isinstance(evidence, list):
        raise CatalogError(f"{where}: 'evidence' must be a list")
    items = []
    for i, e in enumerate(evidence):
        if not isinstance(e, dict) or "id" not in e or not str(e.get("text") or "").strip():
            raise CatalogError(f"{where}: evidence {i} needs an 'id' and a non-empty 'text'")
        items.append({"id": str(e["id"]), "text": str(e["text"]), "source": str(e.get("source") or "text")})
    labels = data.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            raise CatalogError(f"{where}: 'labels' must be an object {{evidence id: 0|1|2}}")
        try:
            labels = {str(k): int(v) for k, v in labels.items()}
        except (TypeError, ValueError) as exc:
            raise CatalogError(f"{where}: labels must be integers 0, 1 or 2") from exc
    answer = data.get("answer")
    return QAItem(
        str(data["qid"]),
        question,
        product,
        items,
        labels,
        str(answer).strip() if answer is not None and str(answer).strip() else None,
    )


def read_qa(path: str | Path) -> list[QAItem]:
    """The questions of a Q&A JSONL file; errors name the line."""
    file = Path(path)
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, data in jsonl_objects(file):
        where = f"{file}:{number}"
        item = _item(data, where)
        if item.qid in seen:
            raise CatalogError(f"{where}: duplicate qid {item.qid!r}")
        seen.add(item.qid)
        items.append(item)
    if not items:
        raise CatalogError(f"{file}: no questions")
    return items


# ---------------------------------------------------------------------------------------------------
# Metrics


def ndcg_at_k(ranking: Sequence[str], labels: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains (grade / log2(rank + 1)); 0 when nothing is relevant."""
    dcg = sum(labels.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]))
    ideal = sorted((g for g in labels.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best > 0 else 0.0


def precision_at_1(ranking: Sequence[str], labels: Mapping[str, int]) -> float:
    """1 when the top evidence is labelled >= 1, else 0."""
    return float(bool(ranking) and labels.get(ranking[0], 0) >= 1)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 over :func:`~shopfuse.content.text.words` (Chinese segmented with jieba)."""
    hyp, ref = words(hypothesis), words(reference)
    if not hyp or not ref:
        return 0.0
    lcs = _lcs(hyp, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hyp), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (sacrebleu, 0-100), its ``zh`` tokeniser when most references are Chinese."""
    if not hypotheses:
        return 0.0
    sacrebleu = require("sacrebleu", "sacrebleu", "eval", "BLEU of Q&A answers")
    chinese = sum(is_chinese(r) for r in references) * 2 > len(references)
    result = sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize="zh" if chinese else "13a")
    return float(result.score)


def abstention(predicted: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of "not stated" (``predicted``) against the truly unanswerable."""
    tp = sum(p and u for p, u in zip(predicted, unanswerable, strict=True))
    said, truth = sum(predicted), sum(unanswerable)
    precision = tp / said if said else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "not_stated": float(said),
        "unanswerable": float(truth),
    }


# ---------------------------------------------------------------------------------------------------
# Running


@dataclass(slots=True)
class QAResult:
    """What the system did with one question."""

    qid: str
    ranking: list[str]
    answer: str
    not_stated: bool
    seconds: float
    citations: list[str] = field(default_factory=list)


def answer_items(items: Iterable[QAItem], ranker: QARanker, *, k: int = 5) -> list[QAResult]:
    """Answer every question from its product's facts and its listed evidence."""
    from shopfuse.content.facts import ProductFacts
    from shopfuse.content.qa import Evidence, answer, evidence_of

    out = []
    for item in items:
        started = time.perf_counter()
        product = {"id": item.product["id"], **{k_: v for k_, v in item.product.items() if k_ != "id"}}
        pool = evidence_of(ProductFacts.from_record(product)) + [
            Evidence.given(e["id"], e["text"], e["source"]) for e in item.evidence
        ]
        result = answer(item.question, pool, ranker=ranker, k=len(pool))
        out.append(
            QAResult(
                item.qid,
                [r.evidence.id for r in result.evidence],
                result.answer,
                result.status == "not_stated",
                time.perf_counter() - started,
                [r.evidence.id for r in result.citations],
            )
        )
    return out


def score_results(items: Sequence[QAItem], results: Sequence[QAResult], *, k: int = 5) -> dict[str, Any]:
    """The metrics of answered questions (see the module docstring)."""
    by_qid = {r.qid: r for r in results}
    ndcg, p1 = [], []
    predicted, unanswerable = [], []
    hyps, refs, answered_rouge = [], [], []
    for item in items:
        result = by_qid[item.qid]
        if item.labels is not None:
            predicted.append(result.not_stated)
            unanswerable.append(not item.answerable)
            if item.answerable:
                ndcg.append(ndcg_at_k(result.ranking, item.labels, k))
                p1.append(precision_at_1(result.ranking, item.labels))
        if item.answer is not None:
            hyps.append(result.answer)
            refs.append(item.answer)
            if not result.not_stated:
                answered_rouge.append(rouge_l(result.answer, item.answer))

    def mean(values: Sequence[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    rouge = [rouge_l(h, r) for h, r in zip(hyps, refs, strict=True)]
    seconds = sorted(r.seconds for r in results)
    return {
        "questions": len(items),
        "ranking": {"questions": len(ndcg), f"nDCG@{k}": mean(ndcg), "P@1": mean(p1)},
        "answers": {
            "questions": len(refs),
            "ROUGE-L": mean(rouge),
            "BLEU": round(bleu(hyps, refs), 2) if refs else None,
            "ROUGE-L_answered": mean(answered_rouge),
            "answered": len(answered_rouge),
        },
        "abstention": (
            {k_: round(v, 4) for k_, v in abstention(predicted, unanswerable).items()} if predicted else None
        ),
        "latency_ms": {
            "mean": round(1000 * sum(seconds) / len(seconds), 2) if seconds else None,
            "p50": round(1000 * seconds[len(seconds) // 2], 2) if seconds else None,
        },
    }


def evaluate_qa(items: Sequence[QAItem], ranker: QARanker, *, k: int = 5) -> dict[str, Any]:
    """Answer every question with ``ranker`` and score the answers."""
    return score_results(items, answer_items(items, ranker, k=k), k=k)
