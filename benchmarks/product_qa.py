"""Product Q&A on held-out hetPQA: evidence ranking, answers, abstention, latency.

hetPQA's evidence_ranking/dev.csv (509 real Amazon questions, 2,731 labelled candidates from
attributes, bullets, descriptions, reviews and community answers) is converted to the
``shopfuse eval qa`` contract (:mod:`data.hetpqa`) and split by ASIN (products do not leak): an
ASIN whose MD5 ends in a digit < 7 (hex, mod 10) is TRAIN (about 70%), the rest is TEST.

    python benchmarks/product_qa.py --fit    # fit weights + threshold on TRAIN, print them
    python benchmarks/product_qa.py          # score the package's weights on TEST

``--fit`` fits a logistic regression of "label >= 1" on the ranker's features over the TRAIN
candidates (once with the sentence encoder, once without for the lexical-only baseline) and the
abstention threshold that maximises the macro F1 of the two decisions ("not stated" / answered) on
TRAIN (F1 of "not stated" alone is best when saying it to nearly every question). The slot weight
alone is then refitted on semiPQA attribute_ranking/dev (which attribute answers a question).
Paste the printed dicts into ``shopfuse.content.qa`` (FITTED_WEIGHTS, LEXICAL_WEIGHTS).

The default run reports, on TEST, nDCG@5, P@1, ROUGE-L, BLEU, abstention precision/recall and
latency per question for the fitted ranker and the lexical-only baseline, plus attribute ranking
on semiPQA testunseen, into benchmarks/results/product_qa.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import latency_ms, print_table, write_results
from data import semipqa
from data.hetpqa import DEFAULT_ROOT, convert

from shopfuse.content.qa import (
    FEATURES,
    FITTED_WEIGHTS,
    LEXICAL_WEIGHTS,
    Evidence,
    QARanker,
    text_encoder,
)
from shopfuse.evaluation.qa import QAItem, _item, answer_items, score_results


def is_train(asin: str) -> bool:
    """The ASIN split: about 70% TRAIN."""
    return int(hashlib.md5(asin.encode()).hexdigest(), 16) % 10 < 7


def load(root: Path) -> tuple[list[QAItem], list[QAItem]]:
    """TRAIN and TEST questions."""
    items = [_item(line, f"hetPQA qid {line['qid']}") for line in convert(root)]
    train = [i for i in items if is_train(str(i.product["id"]))]
    test = [i for i in items if not is_train(str(i.product["id"]))]
    return train, test


def feature_rows(items: list[QAItem], ranker: QARanker) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per question: the features of its candidates and their binary labels."""
    out = []
    for item in items:
        evidence = [Evidence.given(e["id"], e["text"], e["source"]) for e in item.evidence]
        labels = np.array([(item.labels or {}).get(e.id, 0) >= 1 for e in evidence], dtype=np.float64)
        out.append((ranker.features(item.question, evidence), labels))
    return out


def logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, steps: int = 50) -> np.ndarray:
    """Weights (last one the bias) of an L2-regularised logistic regression, by Newton's method."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    reg = np.eye(x.shape[1]) * l2
    reg[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + reg @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + reg
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _f1(predicted: list[bool], truth: list[bool]) -> float:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    if not tp:
        return 0.0
    precision, recall = tp / sum(predicted), tp / sum(truth)
    return 2 * precision * recall / (precision + recall)


def fit(rows: list[tuple[np.ndarray, np.ndarray]], use_dense: bool) -> dict[str, float]:
    """Feature weights, bias and abstention threshold from TRAIN rows."""
    x = np.vstack([f for f, _ in rows])
    y = np.concatenate([labels for _, labels in rows])
    columns = [i for i, name in enumerate(FEATURES) if use_dense or name != "dense"]
    w = logistic(x[:, columns], y)
    weights = dict.fromkeys(FEATURES, 0.0)
    for column, value in zip(columns, w[:-1], strict=True):
        weights[FEATURES[column]] = round(float(value), 3)
    weights["bias"] = round(float(w[-1]), 3)
    full = np.array([weights[name] for name in FEATURES])
    best = [float((1 / (1 + np.exp(-(f @ full + weights["bias"])))).max()) for f, _ in rows]
    unanswerable = [not labels.any() for _, labels in rows]
    chosen, top = 0.0, -1.0
    for threshold in np.unique(np.round(best, 3)):
        said = [b < threshold for b in best]
        f1 = (_f1(said, unanswerable) + _f1([not s for s in said], [not u for u in unanswerable])) / 2
        if f1 > top:
            chosen, top = float(threshold), f1
    weights["threshold"] = round(chosen, 3)
    return weights


def fit_slot(rows: list[tuple[np.ndarray, np.ndarray]], weights: dict[str, float]) -> float:
    """The slot weight alone (others held), by logistic regression on semiPQA attribute-ranking rows.

    hetPQA's attributes are mostly not the kinds a question names ("what colour"), so its fit leaves
    the slot weight weak; semiPQA asks which attribute answers a question, which is that case.
    """
    x = np.vstack([f for f, _ in rows])
    y = np.concatenate([labels for _, labels in rows])
    others = np.array([0.0 if name == "slot" else weights[name] for name in FEATURES])
    offset = x @ others + weights["bias"]
    slot = x[:, FEATURES.index("slot")]
    w = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(offset + w * slot)))
        step = float(slot @ (p - y) + w) / float((slot * slot) @ (p * (1 - p)) + 1.0)
        w -= step
        if abs(step) < 1e-8:
            break
    return round(w, 3)


def semipqa_items(split: str, limit: int) -> list[QAItem]:
    """semiPQA attribute-ranking questions as Q&A items."""
    return [_item(line, f"semiPQA {line['qid']}") for line in semipqa.convert(split, limit=limit)]


def run(items: list[QAItem], ranker: QARanker, k: int) -> dict[str, Any]:
    """Metrics and per-question latency on ``items``."""
    results = answer_items(items, ranker, k=k)
    scores = score_results(items, results, k=k)
    scores["latency"] = latency_ms([r.seconds for r in results])
    return scores


def main() -> None:
    """Fit or evaluate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--fit", action="store_true", help="fit weights on TRAIN and print them")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--semipqa", type=int, default=300, help="semiPQA questions to fit / test on")
    args = parser.parse_args()
    train, test = load(args.root)
    print(f"TRAIN {len(train)} questions, TEST {len(test)} questions (split by ASIN)")
    encoder = text_encoder()
    if args.fit:
        started = time.perf_counter()
        dense = fit(feature_rows(train, QARanker(encoder, FITTED_WEIGHTS)), use_dense=True)
        lexical = fit(feature_rows(train, QARanker(None, LEXICAL_WEIGHTS)), use_dense=False)
        attributes = semipqa_items("dev", args.semipqa)
        dense["slot"] = fit_slot(feature_rows(attributes, QARanker(encoder, dense)), dense)
        lexical["slot"] = fit_slot(feature_rows(attributes, QARanker(None, lexical)), lexical)
        print(f"fitted in {time.perf_counter() - started:.1f}s")
        print("FITTED_WEIGHTS =", json.dumps(dense))
        print("LEXICAL_WEIGHTS =", json.dumps(lexical))
        return
    QARanker(encoder).features("warm up", [Evidence.given("0", "warm up", "bullet")])
    rows = {
        "use-multilingual + lexical (fitted)": run(test, QARanker(encoder, FITTED_WEIGHTS), args.k),
        "lexical only (baseline)": run(test, QARanker(None, LEXICAL_WEIGHTS), args.k),
    }
    attributes = semipqa_items("testunseen", args.semipqa)
    for name, ranker in (
        ("use-multilingual + lexical (fitted)", QARanker(encoder, FITTED_WEIGHTS)),
        ("lexical only (baseline)", QARanker(None, LEXICAL_WEIGHTS)),
    ):
        scored = score_results(attributes, answer_items(attributes, ranker, k=args.k), k=args.k)
        rows[name]["semipqa_attribute_ranking"] = scored["ranking"]
        print(f"semiPQA testunseen attribute ranking, {name}: {scored['ranking']}")
    headers = ["ranker", f"nDCG@{args.k}", "P@1", "ROUGE-L", "BLEU", "NS prec", "NS rec", "ms/q"]
    table = [
        [
            name,
            r["ranking"][f"nDCG@{args.k}"],
            r["ranking"]["P@1"],
            r["answers"]["ROUGE-L"],
            r["answers"]["BLEU"],
            r["abstention"]["precision"],
            r["abstention"]["recall"],
            r["latency"]["mean_ms"],
        ]
        for name, r in rows.items()
    ]
    print_table(f"hetPQA TEST ({len(test)} questions, held-out ASINs)", headers, table)
    write_results(
        "product_qa",
        {
            "data": "hetPQA evidence_ranking/dev.csv + answer_generation references",
            "split": "by ASIN, md5 % 10 < 7 -> TRAIN",
            "train_questions": len(train),
            "test_questions": len(test),
            "k": args.k,
            "semipqa": f"attribute_ranking: slot weight fitted on dev, tested on testunseen "
            f"(first {args.semipqa} questions each)",
            "weights": {"fitted": FITTED_WEIGHTS, "lexical": LEXICAL_WEIGHTS},
        },
        rows,
    )


if __name__ == "__main__":
    main()
