"""Copy evaluation of the retrieval baseline on held-out AdvertiseGen (zh) and H&M (en) products.

The baseline a generator must beat: for each held-out product, copy the human copy of the training
product whose attribute set is most similar (Jaccard over ``key#value``; ties to the first training
product). Split by product with seed 0, 20% held out (:mod:`data.copy_data`; H&M by product_code).
Scored by :func:`shopfuse.evaluation.copy.evaluate_copy` with every metric: BLEU-4 (sacrebleu),
METEOR, ROUGE-L, CIDEr-D, distinct-1/2, length, the ChatGLM-style figures for Chinese (next to the
published ChatGLM-6B P-tuning v2 AdvertiseGen dev ones), and the fact metrics against the held-out
records (claims found with a lexicon of train + test products). The held-out human copy is scored
against its own record too (``human_copy_facts``): what coverage and contradiction rate real copy has.

    nice -n 10 python benchmarks/copy_reference.py            # -> benchmarks/results/copy_reference.json
    python benchmarks/copy_reference.py --out-dir /tmp/copy   # also write the JSONL files for the CLI
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _common import COPY_HEADERS, copy_scores, print_table, write_results
from data.copy_data import CopySplit, advertisegen, hm_articles, write_jsonl

from shopfuse.content.claims import Lexicon
from shopfuse.content.facts import ProductFacts, attribute_values
from shopfuse.demo import find_data
from shopfuse.evaluation.copy import evaluate_copy

SEED = 0
TEST_SHARE = 0.2


def key_values(record: Mapping[str, Any]) -> set[str]:
    """``key#value`` of every attribute value (case-folded)."""
    return {f"{k}#{v}".casefold() for k, val in record["attributes"].items() for v in attribute_values(val)}


def retrieval_baseline(split: CopySplit) -> dict[str, str]:
    """``{test id: copy of the most similar training product}`` (Jaccard over ``key#value``)."""
    train = [(key_values(r), r["description"]) for r in split.train]
    out: dict[str, str] = {}
    for record in split.test:
        mine = key_values(record)
        best, best_score = train[0][1], -1.0
        for theirs, text in train:
            score = len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0
            if score > best_score:
                best, best_score = text, score
        out[record["id"]] = best
    return out


def run(name: str, split: CopySplit, lang: str, out_dir: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    candidates = retrieval_baseline(split)
    catalog = {r["id"]: r for r in split.test}
    lexicon = Lexicon.build(ProductFacts.from_record(r) for r in [*split.train, *split.test])
    report = evaluate_copy(candidates, split.references, catalog, lang=lang, lexicon=lexicon, per_item=False)
    human = evaluate_copy(
        {k: v[0] for k, v in split.references.items()},
        split.references,
        catalog,
        lang=lang,
        lexicon=lexicon,
        per_item=False,
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_jsonl(out_dir / f"{name}_train.jsonl", split.train)
        write_jsonl(out_dir / f"{name}_test.jsonl", split.test)
        write_jsonl(
            out_dir / f"{name}_references.jsonl", [{"id": k, "texts": v} for k, v in split.references.items()]
        )
        write_jsonl(out_dir / f"{name}_baseline.jsonl", [{"id": k, "text": v} for k, v in candidates.items()])
    return {
        "train_products": len(split.train),
        "test_products": len(split.test),
        "references": sum(len(v) for v in split.references.values()),
        "retrieval_baseline": report,
        "human_copy_facts": human["facts"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="Shared data folder.")
    parser.add_argument("--out-dir", type=Path, default=None, help="Also write the JSONL files here.")
    args = parser.parse_args()
    data = find_data(args.data)
    results = {
        "advertisegen_zh": run(
            "advertisegen",
            advertisegen(data / "product-copy-zh" / "pairs.jsonl", seed=SEED, test_share=TEST_SHARE),
            "zh",
            args.out_dir,
        ),
        "hm_en": run(
            "hm",
            hm_articles(data / "hm-purchases" / "items.csv", seed=SEED, test_share=TEST_SHARE),
            "en",
            args.out_dir,
        ),
    }
    rows = []
    for name, res in results.items():
        human = res["human_copy_facts"]
        rows.append(
            [
                name,
                res["test_products"],
                *copy_scores(res["retrieval_baseline"]),
                human["coverage"],
                human["contradiction_rate"],
            ]
        )
    print_table(
        "Retrieval baseline (nearest training product's copy)",
        ["set", "n", *COPY_HEADERS, "human cover", "human contra"],
        rows,
    )
    zh = results["advertisegen_zh"]["retrieval_baseline"]["chatglm"]
    print(
        f"\nAdvertiseGen, ChatGLM-style: BLEU-4 {zh['bleu-4']} ROUGE-1 {zh['rouge-1']} "
        f"ROUGE-2 {zh['rouge-2']} ROUGE-L {zh['rouge-l']} "
        "(published ChatGLM-6B P-tuning v2: 7.97 / 31.2 / 7.1 / 25.0)"
    )
    params = {"seed": SEED, "test_share": TEST_SHARE, "baseline": "retrieval: Jaccard over key#value"}
    print(write_results("copy_reference", params, results))


if __name__ == "__main__":
    main()
