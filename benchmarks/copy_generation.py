"""Copy generators on held-out AdvertiseGen (zh) and H&M (en) products, next to the retrieval baseline.

Same split as ``copy_reference.py`` (seed 0, 20% of products held out; H&M by product_code). The
default generator (``phrases``) learns its phrase bank and vocabulary from the training products'
copy only and writes for the held-out products from their attributes (and the H&M title); it
never sees their copy. Scored by :func:`shopfuse.evaluation.copy.evaluate_copy`: BLEU-4, METEOR,
ROUGE-L, CIDEr-D, distinct-1/2, the ChatGLM-style zh figures, and the fact metrics (coverage of key
attributes, contradiction rate, unsupported claims, PARENT). Per style: paragraph (the text
metrics' subject), bullets and title (fact metrics). Latency per product.

    nice -n 10 python benchmarks/copy_generation.py     # -> benchmarks/results/copy_generation.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from _common import COPY_HEADERS, copy_scores, print_table, write_results
from copy_reference import retrieval_baseline
from data.copy_data import CopySplit, advertisegen, hm_articles

from shopfuse.content.base import CopyRequest
from shopfuse.content.claims import Lexicon
from shopfuse.content.facts import ProductFacts
from shopfuse.content.generate import PhraseGenerator
from shopfuse.demo import find_data
from shopfuse.evaluation.copy import evaluate_copy

SEED = 0
TEST_SHARE = 0.2


def run(split: CopySplit, lang: str) -> dict[str, Any]:
    train = [ProductFacts.from_record(r) for r in split.train]
    test = [ProductFacts.from_record(r) for r in split.test]
    started = time.perf_counter()
    generator = PhraseGenerator.from_examples(
        [(f, r["description"]) for f, r in zip(train, split.train, strict=True)]
    )
    learn_seconds = time.perf_counter() - started
    catalog = {r["id"]: r for r in split.test}
    scoring_lexicon = Lexicon.build([*train, *test])
    out: dict[str, Any] = {
        "salience": {slot: generator.bank.salience(slot) for slot in sorted(generator.bank.present)},
        "train_products": len(train),
        "test_products": len(test),
        "bank_pieces": len(generator.bank.pieces),
        "learn_seconds": round(learn_seconds, 2),
    }
    baseline = retrieval_baseline(split)
    out["retrieval_baseline"] = evaluate_copy(
        baseline, split.references, catalog, lang=lang, lexicon=scoring_lexicon, per_item=False
    )
    shop_style = PhraseGenerator(generator.bank, min_salience=0.3)
    for style, writer in (
        ("paragraph", generator),
        ("bullets", generator),
        ("title", generator),
        ("paragraph_shop_plan", shop_style),
    ):
        texts: dict[str, str] = {}
        started = time.perf_counter()
        shape = style.split("_")[0]
        for facts in test:
            texts[facts.id] = writer.generate(facts, CopyRequest(lang=lang, style=shape)).text  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        report = evaluate_copy(
            texts, split.references, catalog, lang=lang, lexicon=scoring_lexicon, per_item=False
        )
        report["ms_per_product"] = round(1000 * seconds / max(len(test), 1), 2)
        report["examples"] = [
            {"id": k, "text": v, "reference": split.references[k][0]} for k, v in list(texts.items())[:5]
        ]
        out[f"phrases_{style}"] = report
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="Shared data folder.")
    args = parser.parse_args()
    data = find_data(args.data)
    results = {
        "advertisegen_zh": run(
            advertisegen(data / "product-copy-zh" / "pairs.jsonl", seed=SEED, test_share=TEST_SHARE), "zh"
        ),
        "hm_en": run(
            hm_articles(data / "hm-purchases" / "items.csv", seed=SEED, test_share=TEST_SHARE), "en"
        ),
    }
    rows = []
    for name, res in results.items():
        for system in (
            "retrieval_baseline",
            "phrases_paragraph",
            "phrases_bullets",
            "phrases_title",
            "phrases_paragraph_shop_plan",
        ):
            f = res[system]["facts"]
            unsupported = f["unsupported_rate"] if "unsupported_rate" in f else f.get("unsupported")
            rows.append(
                [name, system, *copy_scores(res[system]), unsupported, res[system].get("ms_per_product", "")]
            )
    print_table(
        "Copy generators on held-out products",
        ["set", "system", *COPY_HEADERS, "unsup", "ms"],
        rows,
    )
    write_results("copy_generation", {"seed": SEED, "test_share": TEST_SHARE}, results)


if __name__ == "__main__":
    main()
