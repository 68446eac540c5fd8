"""hetPQA evidence ranking -> the Q&A evaluation contract of ``shopfuse eval qa`` (JSON lines).

Reads ``product-qa/hetPQA/evidence_ranking/dev.csv`` (tab-separated: qid, ASIN, qa_pair_id, question,
candidate, label, source, confidence) and writes one line per question::

    {"qid", "question", "product": {"id": ASIN, "title": ""}, "evidence": [{"id": qa_pair_id, "text",
     "source"}], "labels": {qa_pair_id: 0|1}, "answer"?: reference}

Attribute candidates (``item_weight:  { unit:pounds, normalized_value:{...}, value:13. }``) are
rendered as ``item weight: 13 pounds``. Reference answers come from ``answer_generation/*.csv``,
matched on (ASIN, question, case-folded); about a third of the questions have one.

    python benchmarks/data/hetpqa.py --out /tmp/hetpqa_qa.jsonl

The output goes where ``--out`` says (default under /tmp), never into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "product-qa" / "hetPQA"
SOURCES = ("attribute", "bullet", "Desc", "OSP", "review", "CQA")

csv.field_size_limit(sys.maxsize)


def render_attribute(candidate: str) -> str:
    """``key:  { value:"x" }; { value:"y" }`` -> ``key: x; y`` (units kept, normalised copies dropped)."""
    key, _, rest = candidate.partition(":")
    rest = rest.replace('\\"', '"')
    rest = re.sub(r"normalized_value:\{[^{}]*\},?\s*", "", rest)
    rest = re.sub(r"\{\s*unit:([^,{}]+),\s*value:([^,{}]+?)\s*\}", r"\2 \1", rest)
    rest = re.sub(r"\bvalue:", "", rest)
    rest = re.sub(r"(\w+):", r"\1 ", rest)
    rest = re.sub(r"[{}\[\]\"]", " ", rest)
    rest = re.sub(r"(\d)\.(?!\d)", r"\1", rest)
    rest = re.sub(r"\s+,", ",", re.sub(r"\s+", " ", rest)).strip(" ,;")
    rest = re.sub(r"\s*;\s*", "; ", rest)
    return f"{key.strip().replace('_', ' ')}: {rest.replace('_', ' ')}"


def references(root: Path) -> dict[tuple[str, str], str]:
    """``{(ASIN, question case-folded): answer}`` from every answer_generation split."""
    out: dict[tuple[str, str], str] = {}
    for path in sorted((root / "answer_generation").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                answer = (row.get("answer") or "").strip()
                if answer:
                    out.setdefault((row["ASIN"], row["question"].strip().casefold()), answer)
    return out


def convert(root: Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """The contract lines, in file order of first appearance of each question."""
    refs = references(root)
    questions: dict[str, dict[str, Any]] = {}
    with (root / "evidence_ranking" / "dev.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qid, asin, question = row["qid"], row["ASIN"], row["question"].strip()
            item = questions.setdefault(
                qid,
                {
                    "qid": qid,
                    "question": question,
                    "product": {"id": asin, "title": ""},
                    "evidence": [],
                    "labels": {},
                },
            )
            text = row["candidate"].strip()
            if row["source"] == "attribute":
                text = render_attribute(text)
            if not text:
                continue
            item["evidence"].append({"id": row["qa_pair_id"], "text": text, "source": row["source"]})
            item["labels"][row["qa_pair_id"]] = int(row["label"])
            reference = refs.get((asin, question.casefold()))
            if reference:
                item["answer"] = reference
    return list(questions.values())


def main() -> None:
    """Write the converted file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="hetPQA folder")
    parser.add_argument("--out", type=Path, default=Path("/tmp/hetpqa_qa.jsonl"))
    args = parser.parse_args()
    lines = convert(args.root)
    args.out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    answered = sum(1 for x in lines if "answer" in x)
    print(f"{len(lines)} questions ({answered} with a reference answer) -> {args.out}")


if __name__ == "__main__":
    main()
