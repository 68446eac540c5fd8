"""The product-page check (``shopfuse copy check``) on a learned store: findings, time, recall, precision.

1. Copies the store (default ``/tmp/demo-store``, 703 fashion products with the model their ingest
   learned) to ``--work`` and checks it as it is: findings per kind and seconds, at
   ``--min-confidence`` and at 0.5.
2. Injects ``--n`` title contradictions into the copy, half colour swaps (the title's colour
   word, equal to the stated ``baseColour``, replaced by a contrasting colour) and half category
   swaps (the title's ``articleType`` word replaced by a category of another kind: "Tshirts" ->
   "Shoes"), rewriting those products' titles in the store (their photo vectors, which the check
   reads, are untouched), and checks again. Recall: injected titles with a title contradiction on
   the injected word; also among those whose photo the model reads confidently in that slot (the
   most the check can find at that threshold).
3. Writes the contradictions on untouched products (at 0.5, first 20) with their thumbnails to
   ``--review`` (HTML) for a person to judge; verdicts kept in
   ``benchmarks/labels/page_check_review.json`` (``{"<id> <field> <text>": "real" | "false"}``) are
   summarised into the results.

Run::

    nice -n 10 python benchmarks/page_check.py               # ~1 min on 2 busy cores

Results: ``benchmarks/results/page_check.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_results

from shopfuse.content.facts import slot_of
from shopfuse.content.page_report import render_page_check
from shopfuse.engine import Engine
from shopfuse.model.learning import stored_records
from shopfuse.tasks.duplicates import DuplicateRule, stored_vectors
from shopfuse.tasks.page_check import PageCheckReport, check_pages, photo_predictions

LABELS = Path(__file__).resolve().parent / "labels" / "page_check_review.json"
COLOURS = ["Red", "Green", "Blue", "Black", "White", "Yellow", "Pink", "Brown"]
CATEGORY_SWAP = {"Footwear": "Tshirt", "Shoes": "Tshirt", "Flip Flops": "Tshirt", "Sandal": "Tshirt"}
"""A subCategory's replacement word; anything else becomes "Shoes"."""


def _word(text: str, word: str) -> re.Match[str] | None:
    matches = list(re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE))
    return matches[-1] if matches else None


def inject(engine: Engine, n: int, seed: int) -> dict[str, dict[str, Any]]:
    """Rewrite ``n`` titles with a contradiction; ``{id: {kind, word, original, slot}}``."""
    rng = random.Random(seed)
    ids = sorted(engine.store.hashes())
    rows = engine.store.get(ids)
    colour, category = [], []
    for row in rows:
        title, attributes = row.get("title") or "", row.get("attributes") or {}
        shade, kind = attributes.get("baseColour"), attributes.get("articleType")
        if shade and shade in COLOURS and _word(title, shade):
            colour.append(row)
        elif kind and _word(title, kind):
            category.append(row)
    rng.shuffle(colour)
    rng.shuffle(category)
    chosen: dict[str, dict[str, Any]] = {}
    for row in colour[: n // 2]:
        shade = row["attributes"]["baseColour"]
        word = rng.choice([c for c in COLOURS if c != shade])
        m = _word(row["title"], shade)
        assert m is not None
        title = row["title"][: m.start()] + word + row["title"][m.end() :]
        chosen[row["id"]] = {"kind": "colour", "word": word, "original": row["title"], "title": title}
    for row in category[: n - len(chosen)]:
        kind = row["attributes"]["articleType"]
        sub = str(row["attributes"].get("subCategory"))
        word = CATEGORY_SWAP.get(sub, "Shoes")
        m = _word(row["title"], kind)
        assert m is not None
        title = row["title"][: m.start()] + word + row["title"][m.end() :]
        chosen[row["id"]] = {"kind": "category", "word": word, "original": row["title"], "title": title}
    columns = list(engine.store.manifest.columns)
    raw = {c: dict(zip(*engine.store.vectors(c), strict=True)) for c in columns}
    records = stored_records(engine.store, list(chosen), raw)
    for record in records:
        record.product = replace(record.product, title=chosen[record.product.id]["title"])
    engine.store.upsert(records)
    return chosen


def confident_slots(engine: Engine, ids: list[str], threshold: float) -> dict[str, set[str]]:
    """Per product, the slots where the photo reading reaches ``threshold``."""
    assert engine.model is not None
    vectors = stored_vectors(engine.store, "image", ids)
    kept = [i for i in ids if i in vectors]
    readings = photo_predictions(engine.model, np.stack([vectors[i] for i in kept]))
    return {
        pid: {slot_of(label) for label, (_, conf) in reading.items() if conf >= threshold}
        for pid, reading in zip(kept, readings, strict=True)
    }


def run(engine: Engine, threshold: float) -> PageCheckReport:
    assert engine.model is not None
    rule = DuplicateRule(variant_attribute=engine.config.variant_attribute)
    return check_pages(engine.store, engine.model, min_confidence=threshold, duplicates=rule)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=Path("/tmp/demo-store"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/pc-store"))
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--min-confidence", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--review", type=Path, default=Path("/tmp/page_check_review.html"))
    args = parser.parse_args()

    if args.work.exists():
        shutil.rmtree(args.work)
    shutil.copytree(args.store, args.work)
    engine = Engine.open(args.work, create=False)
    results: dict[str, Any] = {"store_products": engine.store.count()}
    untouched: dict[str, PageCheckReport] = {}
    for threshold in sorted({args.min_confidence, 0.5}, reverse=True):
        t0 = time.perf_counter()
        report = run(engine, threshold)
        untouched[f"{threshold:g}"] = report
        results[f"untouched_at_{threshold:g}"] = {
            "counts": report.counts(),
            "seconds": round(time.perf_counter() - t0, 2),
            "products_per_second": round(report.products / max(report.seconds, 1e-9), 1),
        }
        print(f"untouched store, min confidence {threshold:g}: {report.counts()} in {report.seconds:.1f}s")

    chosen = inject(engine, args.n, args.seed)
    for threshold in sorted({args.min_confidence, 0.5}, reverse=True):
        report = run(engine, threshold)
        confident = confident_slots(engine, list(chosen), threshold)
        by_id: dict[str, list[dict[str, Any]]] = {}
        for finding in report.findings:
            if finding.kind == "contradiction" and finding.field == "title":
                by_id.setdefault(finding.id, []).append(finding.to_dict())
        rows = {}
        for kind in ("colour", "category"):
            ids = [i for i, c in chosen.items() if c["kind"] == kind]
            found = [
                i
                for i in ids
                if any(f["text"].casefold() == chosen[i]["word"].casefold() for f in by_id.get(i, []))
            ]
            readable = [i for i in ids if kind in confident.get(i, set())]
            rows[kind] = {
                "injected": len(ids),
                "found": len(found),
                "recall": round(len(found) / len(ids), 3) if ids else None,
                "photo_confident_in_slot": len(readable),
                "found_of_confident": sum(i in found for i in readable),
                "missed_examples": [
                    {"id": i, "title": chosen[i]["title"], "was": chosen[i]["original"]}
                    for i in ids
                    if i not in found
                ][:5],
            }
        others = [f for f in report.findings if f.kind == "contradiction" and f.id not in chosen]
        results[f"injected_at_{threshold:g}"] = {
            "by_kind": rows,
            "contradictions_on_untouched": len(others),
            "counts": report.counts(),
        }
        print(f"injected, min confidence {threshold:g}: {json.dumps(rows)}")

    sample = [f for f in untouched["0.5"].findings if f.kind == "contradiction"][:20]
    review = {
        "findings": [f.to_dict() for f in sample],
        "counts": {"contradiction": len(sample)},
        "products": len(sample),
        "compared": "untouched contradictions to review",
    }
    args.review.write_text(render_page_check(review, store="review sample"), encoding="utf-8")
    keys = [f"{f.id} {f.field} {f.text}" for f in sample]
    results["review_sample"] = [
        {
            "key": k,
            "title": f.title,
            "photo_says": f.photo_says,
            "attribute": f.attribute,
            "confidence": f.confidence,
        }
        for k, f in zip(keys, sample, strict=True)
    ]
    if LABELS.is_file():
        verdicts = json.loads(LABELS.read_text(encoding="utf-8"))
        judged = [verdicts[k] for k in keys if k in verdicts]
        results["review"] = {
            "judged": len(judged),
            "real": sum(v == "real" for v in judged),
            "precision": round(sum(v == "real" for v in judged) / len(judged), 3) if judged else None,
            "how": verdicts.get("_how"),
        }
    write_results(
        "page_check",
        {"store": str(args.store), "n": args.n, "min_confidence": args.min_confidence, "seed": args.seed},
        results,
    )


if __name__ == "__main__":
    main()
