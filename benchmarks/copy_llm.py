"""The LLM copy generator (bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M) on a few real products.

Six Chinese products from ``product-copy-zh/pairs.jsonl`` (their ``content`` attributes) and six H&M
articles from ``hm-purchases/items.csv`` (``prod_name`` as title, product type, colour, graphical appearance;
not ``detail_desc``, which is the human reference). For each: seconds per product, tokens/s, how
many drafts it took, the share of the drafts' clauses the fact check dropped, contradicted claims
before the check (the cleaned draft) and after it (the copy returned), the coverage of key facts,
and the raw outputs next to the kept text and the human reference. A fresh join of the model parts
and the model load are timed apart from generation.

Needs the ``llm`` extra. Slow on a shared 2-core box; run it niced::

    nice -n 10 python benchmarks/copy_llm.py                    # 6 zh + 6 en, title, bullets, paragraph
    nice -n 10 python benchmarks/copy_llm.py --n 2 --styles paragraph

Results: tables on stdout and ``benchmarks/results/copy_llm.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table, rate, write_results

from shopfuse.content.base import CopyRequest
from shopfuse.content.claims import Lexicon, check
from shopfuse.content.facts import ProductFacts, parse_key_values
from shopfuse.content.llm import LlamaCppGenerator, bundled_model, bundled_parts, join_parts

NAME = "copy_llm"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HM_FIELDS = ("product_type_name", "colour_group_name", "graphical_appearance_name")
"""Product facts; the catalogue's taxonomy fields (product and garment group, index) read as noise in copy."""


def zh_products(n: int) -> list[tuple[ProductFacts, str]]:
    """``n`` Chinese attribute sets spread over the file, with their human-written ad."""
    lines = (DATA / "product-copy-zh" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    step = len(lines) // n
    out = []
    for i in range(n):
        row = json.loads(lines[i * step])
        record = {"id": f"zh-{i * step}", "lang": "zh", "attributes": parse_key_values(row["content"])}
        out.append((ProductFacts.from_record(record), row["summary"]))
    return out


def en_products(n: int) -> list[tuple[ProductFacts, str]]:
    """``n`` H&M articles with a name and a description, spread over the catalogue."""
    with (DATA / "hm-purchases" / "items.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["prod_name"] and r["detail_desc"]]
    step = len(rows) // n
    out = []
    for row in rows[::step][:n]:
        record = {
            "id": row["article_id"],
            "title": row["prod_name"],
            "lang": "en",
            "attributes": {k: row[k] for k in HM_FIELDS if row[k]},
        }
        out.append((ProductFacts.from_record(record), row["detail_desc"]))
    return out


def run_one(
    generator: LlamaCppGenerator, facts: ProductFacts, reference: str, request: CopyRequest, lexicon: Lexicon
) -> dict[str, Any]:
    """One product: the copy, every draft, and the check before and after."""
    copy = generator.generate(facts, request)
    attempts = generator.last_attempts
    chosen = next(a for a in attempts if a.text == copy.text) if copy.text else attempts[-1]
    after = check(copy.text, facts, lexicon) if copy.text else None
    return {
        "id": facts.id,
        "lang": request.lang,
        "facts": [f"{f.key}={f.value}" for f in facts.key_facts()]
        + ([f"title={facts.title}"] if facts.title else []),
        "text": copy.text,
        "reference": reference,
        "seconds": round(copy.seconds, 2),
        "drafts": len(attempts),
        "prompt_tokens": sum(a.prompt_tokens for a in attempts),
        "completion_tokens": sum(a.completion_tokens for a in attempts),
        "generation_seconds": round(sum(a.seconds for a in attempts), 2),
        "clauses_before": sum(a.clauses_before for a in attempts),
        "clauses_dropped": sum(len(a.dropped) for a in attempts),
        "contradicted_before": chosen.contradicted_before,
        "contradicted_after": len(after.contradicted) if after else 0,
        "unsupported_after": len(after.unsupported) if after else 0,
        "contradicted_before_all_drafts": sum(a.contradicted_before for a in attempts),
        "coverage": round(after.coverage, 3) if after else 0.0,
        "claims": len(copy.claims),
        "attempts": [a.to_dict() for a in attempts],
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals and means over the products of one language."""
    tokens = sum(r["completion_tokens"] for r in rows)
    gen = sum(r["generation_seconds"] for r in rows)
    clauses = sum(r["clauses_before"] for r in rows)
    return {
        "products": len(rows),
        "seconds_per_product_mean": round(float(np.mean([r["seconds"] for r in rows])), 2),
        "seconds_per_product_max": round(max(r["seconds"] for r in rows), 2),
        "tokens_per_second": rate(tokens, gen),
        "drafts_per_product": round(sum(r["drafts"] for r in rows) / len(rows), 2),
        "clauses_dropped_share": round(sum(r["clauses_dropped"] for r in rows) / clauses, 3)
        if clauses
        else 0.0,
        "contradicted_before": sum(r["contradicted_before"] for r in rows),
        "contradicted_after": sum(r["contradicted_after"] for r in rows),
        "contradicted_before_all_drafts": sum(r["contradicted_before_all_drafts"] for r in rows),
        "unsupported_after": sum(r["unsupported_after"] for r in rows),
        "coverage_mean": round(float(np.mean([r["coverage"] for r in rows])), 3),
        "empty": sum(1 for r in rows if not r["text"]),
    }


def timed_fresh_join() -> float:
    """Seconds to join the 22 parts into a new file (the first use on a machine), then removed."""
    with tempfile.TemporaryDirectory(prefix="copy-llm-") as folder:
        start = time.perf_counter()
        join_parts(bundled_parts(), Path(folder) / "model.gguf")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=6, help="products per language")
    parser.add_argument("--styles", default="title,bullets,paragraph", help="comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]

    products = {"zh": zh_products(args.n), "en": en_products(args.n)}
    lexicon = Lexicon.build([f for group in products.values() for f, _ in group])
    join_s = timed_fresh_join()
    model = bundled_model()
    generator = LlamaCppGenerator(threads=args.threads, seed=args.seed, retries=args.retries, lexicon=lexicon)
    load_s = generator.load()
    print(f"model {model.name}: fresh join {join_s:.1f} s, load {load_s:.1f} s")

    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for style in styles:
        rows[style] = {}
        for lang, group in products.items():
            rows[style][lang] = []
            for facts, reference in group:
                request = CopyRequest(lang=lang, style=style)  # type: ignore[arg-type]
                row = run_one(generator, facts, reference, request, lexicon)
                rows[style][lang].append(row)
                print(
                    f"[{style} {lang} {row['id']}] {row['seconds']:.1f} s, {row['drafts']} draft(s): "
                    f"{row['text'][:100]!r}"
                )
            summaries[f"{style}/{lang}"] = summary(rows[style][lang])
        summaries[f"{style}/all"] = summary([r for group in rows[style].values() for r in group])
    summaries["all"] = summary([r for by_lang in rows.values() for group in by_lang.values() for r in group])
    keys = list(summaries["all"])
    print_table(
        f"LLM copy, bundled Qwen2.5-Coder-1.5B Q4_K_M, {args.threads} threads",
        ["style/lang", *keys],
        [[name, *(s[k] for k in keys)] for name, s in summaries.items()],
    )
    write_results(
        NAME,
        {
            "styles": styles,
            "n_per_lang": args.n,
            "threads": args.threads,
            "retries": args.retries,
            "seed": args.seed,
            "temperature": generator.temperature,
            "model": model.name,
            "model_bytes": model.stat().st_size,
        },
        {
            "fresh_join_seconds": round(join_s, 2),
            "load_seconds": round(load_s, 2),
            "note": (
                "seconds per product: the whole generate() call (all drafts and the fact check); "
                "tokens_per_second: completion tokens over the model-call time, prompt processing "
                "included (a redraft reuses the cached prompt); clauses_dropped_share over all drafts; "
                "contradicted_before: the cleaned draft that was kept, before the check; "
                "contradicted_after: the copy returned"
            ),
            "summary": summaries,
            "products": rows,
        },
    )


if __name__ == "__main__":
    main()
