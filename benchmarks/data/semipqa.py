"""semiPQA attribute ranking -> Q&A contract lines: which product attribute answers the question.

``semiPQA/attribute_ranking/{dev,testseen,testunseen}.csv`` (tab-separated: qid, qa_pair_id,
question, candidate, label) lists a product's attributes per question, the answering ones labelled
1. Each question becomes ``{"qid", "question", "product": {"id": "semipqa-<qid>"}, "evidence":
[{"id", "text": "key: value", "source": "attribute"}], "labels"}``. The product's ASIN is not
given; each question is its own product.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from data.hetpqa import render_attribute

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "product-qa" / "semiPQA"

csv.field_size_limit(sys.maxsize)


def convert(split: str = "dev", root: Path = DEFAULT_ROOT, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` questions of a split (file order) that have an answering attribute."""
    questions: dict[str, dict[str, Any]] = {}
    with (root / "attribute_ranking" / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            item = questions.setdefault(
                row["qid"],
                {
                    "qid": f"semipqa-{row['qid']}",
                    "question": row["question"].strip(),
                    "product": {"id": f"semipqa-{row['qid']}"},
                    "evidence": [],
                    "labels": {},
                },
            )
            item["evidence"].append(
                {"id": row["qa_pair_id"], "text": render_attribute(row["candidate"]), "source": "attribute"}
            )
            item["labels"][row["qa_pair_id"]] = int(row["label"])
    out = [q for q in questions.values() if any(v >= 1 for v in q["labels"].values())]
    return out[:limit] if limit else out
