"""Learning by default on the fashion catalogue: does the model ingest learns beat the raw encoders?

15% of the products (random, seed 0) are held out as PHOTO-ONLY: the catalogue this script
ingests keeps their id and photo and drops their title and every attribute, so the model never
trains on them. Relevance is judged from the original ``metadata.csv`` throughout. The catalogue is
written in a shuffled order (seed 0), so "the first N products" below is a random sample of the
shop, not an id range (the file is sorted by id, and its first ids are mostly T-shirts and bags).

1. Colour+type queries: every (baseColour, articleType) pair with at least 5 products (held-out ones
   included) becomes the query "<colour> <type>" in English (natural type names: "Tshirts" ->
   "t-shirt") and in Chinese from the hand-written tables ``ZH_COLOUR`` / ``ZH_TYPE`` below (not from
   the glossary, and not from sellers). P@10 and nDCG@10 over all products, and over the held-out
   photo-only products alone (relevance restricted to them; the search still ranks all products;
   queries with no held-out relevant product are not scored). Rows: raw encoders (``learn off``)
   in vector, lexical and hybrid modes; the learned model (``learn auto``) in vector mode with query
   understanding (the default), without it, and in hybrid mode. Default search settings otherwise
   (``k=10``, duplicate listings collapsed, RRF for hybrid).
2. The threshold for learning: stores holding the first N photo+text products (their stored
   vectors copied over from the raw store, so nothing is encoded again), learned with
   ``learn on``; the whole catalogue, held-out products included, is then served through each model
   (the raw vectors fused by it) and searched with the colour+type queries. N = 100 ... all.
3. The README's example queries judged by attributes, P@5 raw vs learned (vector mode), with the
   learned store's top 5 and what its query understanding read.
4. Time of ingest (``learn off``) and of learning (``Engine.learn``) on the whole catalogue, peak RSS.
5. Photo-only recognition: articleType and baseColour accuracy on the held-out products from the
   224x224 photos, and from the same photos downscaled to 60x80 px (ingested into a second store
   served by the same learned model, ``learn off``).

Run::

    python benchmarks/learned_default.py --work /tmp/learned-default
    python benchmarks/learned_default.py --limit 1500   # a quick trial on a random 1,500 products
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import peak_rss_mib, print_table, write_results
from PIL import Image
from threadpoolctl import threadpool_limits

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import EngineConfig
from shopfuse.engine import Engine
from shopfuse.evaluation.retrieval import retrieval_metrics
from shopfuse.model import learning
from shopfuse.model.learning import stored_records

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LABELS = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "usage")
"""The attribute columns of ``metadata.csv`` the ingested catalogue carries (held-out rows: none)."""
HELD_OUT_SHARE = 0.15
MIN_RELEVANT = 5
THRESHOLDS = (100, 250, 500, 1000, 2000)

EN_COLOUR = {"Multi": "multicoloured", "Off White": "off-white"}
"""English colour words where the lower-cased value is not what a shopper types."""
EN_TYPE = {
    "Accessory Gift Set": "accessory gift set", "Backpacks": "backpack", "Belts": "belt",
    "Briefs": "briefs", "Capris": "capris", "Caps": "cap", "Casual Shoes": "casual shoes",
    "Clutches": "clutch", "Cufflinks": "cufflinks", "Dresses": "dress", "Duffel Bag": "duffel bag",
    "Flats": "flats", "Flip Flops": "flip flops", "Formal Shoes": "formal shoes",
    "Fragrance Gift Set": "fragrance gift set", "Handbags": "handbag", "Heels": "heels",
    "Innerwear Vests": "vest", "Jackets": "jacket", "Jeans": "jeans", "Kurtas": "kurta",
    "Kurtis": "kurti", "Laptop Bag": "laptop bag", "Mufflers": "muffler",
    "Perfume and Body Mist": "perfume", "Sandals": "sandals", "Scarves": "scarf", "Shirts": "shirt",
    "Shorts": "shorts", "Skirts": "skirt", "Socks": "socks", "Sports Shoes": "sports shoes",
    "Stockings": "stockings", "Sunglasses": "sunglasses", "Sweaters": "sweater",
    "Sweatshirts": "sweatshirt", "Ties": "tie", "Tops": "top", "Track Pants": "track pants",
    "Tracksuits": "tracksuit", "Trousers": "trousers", "Trunk": "trunks", "Tshirts": "t-shirt",
    "Tunics": "tunic", "Wallets": "wallet", "Watches": "watch",
}  # fmt: skip
ZH_COLOUR = {
    "Beige": "米色", "Black": "黑色", "Blue": "蓝色", "Bronze": "古铜色", "Brown": "棕色",
    "Charcoal": "炭灰色", "Copper": "铜色", "Cream": "奶油色", "Gold": "金色", "Green": "绿色",
    "Grey": "灰色", "Khaki": "卡其色", "Magenta": "洋红色", "Maroon": "酒红色", "Multi": "多色",
    "Navy Blue": "藏青色", "Off White": "米白色", "Olive": "橄榄绿", "Orange": "橙色", "Peach": "桃色",
    "Pink": "粉色", "Purple": "紫色", "Red": "红色", "Silver": "银色", "Steel": "钢灰色", "Tan": "棕褐色",
    "White": "白色", "Yellow": "黄色",
}  # fmt: skip
ZH_TYPE = {
    "Accessory Gift Set": "配饰礼盒", "Backpacks": "双肩包", "Belts": "腰带", "Briefs": "三角内裤",
    "Capris": "七分裤", "Caps": "鸭舌帽", "Casual Shoes": "休闲鞋", "Clutches": "手拿包",
    "Cufflinks": "袖扣", "Dresses": "连衣裙", "Duffel Bag": "旅行袋", "Flats": "平底鞋",
    "Flip Flops": "人字拖", "Formal Shoes": "正装皮鞋", "Fragrance Gift Set": "香水礼盒",
    "Handbags": "手提包", "Heels": "高跟鞋", "Innerwear Vests": "背心", "Jackets": "夹克",
    "Jeans": "牛仔裤", "Kurtas": "库尔塔长衫", "Kurtis": "库尔蒂上衣", "Laptop Bag": "电脑包",
    "Mufflers": "围脖", "Perfume and Body Mist": "香水", "Sandals": "凉鞋", "Scarves": "围巾",
    "Shirts": "衬衫", "Shorts": "短裤", "Skirts": "半身裙", "Socks": "袜子", "Sports Shoes": "运动鞋",
    "Stockings": "长筒袜", "Sunglasses": "太阳镜", "Sweaters": "毛衣", "Sweatshirts": "卫衣",
    "Ties": "领带", "Tops": "上衣", "Track Pants": "运动裤", "Tracksuits": "运动套装",
    "Trousers": "长裤", "Trunk": "平角内裤", "Tshirts": "T恤", "Tunics": "束腰长衫", "Wallets": "钱包",
    "Watches": "手表",
}  # fmt: skip

Judge = Callable[[dict[str, str]], bool]
README_QUERIES: list[tuple[str, Judge, str]] = [
    ("红色连衣裙", lambda r: r["baseColour"] == "Red" and r["articleType"] == "Dresses", "Red Dresses"),
    ("red dress", lambda r: r["baseColour"] == "Red" and r["articleType"] == "Dresses", "Red Dresses"),
    ("蓝色衬衫", lambda r: r["baseColour"] == "Blue" and r["articleType"] == "Shirts", "Blue Shirts"),
    ("blue shirt", lambda r: r["baseColour"] == "Blue" and r["articleType"] == "Shirts", "Blue Shirts"),
    (
        "summer dress",
        lambda r: r["articleType"] == "Dresses" and r["season"] == "Summer",
        "Dresses, season Summer",
    ),
    (
        "black leather shoes",
        lambda r: r["baseColour"] == "Black" and "Shoes" in r["articleType"],
        "Black, articleType containing Shoes",
    ),
    (
        "黑色皮鞋",
        lambda r: r["baseColour"] == "Black" and "Shoes" in r["articleType"],
        "Black, articleType containing Shoes",
    ),
]
"""Query, relevance rule on the original metadata, the rule in words."""

ROWS = (
    ("raw vector", "raw", "vector", True),
    ("raw lexical", "raw", "lexical", True),
    ("raw hybrid", "raw", "hybrid", True),
    ("learned vector + understanding (default)", "learned", "vector", True),
    ("learned vector, understanding off", "learned", "vector", False),
    ("learned hybrid", "learned", "hybrid", True),
)
"""Name, store, search mode, query understanding."""


def round4(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# ---------------------------------------------------------------------------------------- data


def read_metadata(path: Path, limit: int | None, seed: int) -> tuple[list[dict[str, str]], set[str]]:
    """The catalogue rows in a shuffled order (absolute image paths) and the held-out ids."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["image"] = str((path.parent / row["image"]).resolve())
    rng = np.random.default_rng(seed)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    if limit:
        rows = rows[:limit]
    held = rng.choice(len(rows), size=round(HELD_OUT_SHARE * len(rows)), replace=False)
    return rows, {rows[int(i)]["id"] for i in held}


def catalogue_row(row: dict[str, str], held_out: bool, image: str | None = None) -> dict[str, Any]:
    """One JSONL product: photo only for a held-out product, else title, photo and attributes."""
    if held_out:
        return {"id": row["id"], "image": image or row["image"]}
    out: dict[str, Any] = {
        "id": row["id"],
        "title": row["productDisplayName"],
        "image": image or row["image"],
    }
    out.update({name: row[name] for name in LABELS if (row.get(name) or "").strip()})
    return out


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def colour_type_queries(
    rows: Sequence[dict[str, str]], held: set[str]
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, int]], dict[str, dict[str, int]], list[dict]]:
    """Queries per language, qrels over all products, qrels over held-out products, the pair list."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        if row["baseColour"] and row["articleType"]:
            pairs.setdefault((row["baseColour"], row["articleType"]), []).append(row["id"])
    kept = sorted((key, ids) for key, ids in pairs.items() if len(ids) >= MIN_RELEVANT)
    missing = sorted(
        {c for (c, _), _ in kept if c not in ZH_COLOUR}
        | {t for (_, t), _ in kept if t not in ZH_TYPE | EN_TYPE}
    )
    if missing:
        raise SystemExit(f"no translation for {missing}: add them to EN_TYPE / ZH_COLOUR / ZH_TYPE")
    queries: dict[str, dict[str, str]] = {"en": {}, "zh": {}}
    qrels_all: dict[str, dict[str, int]] = {}
    qrels_held: dict[str, dict[str, int]] = {}
    listing = []
    for n, ((colour, kind), ids) in enumerate(kept):
        qid = f"ct{n:03d}"
        queries["en"][qid] = f"{EN_COLOUR.get(colour, colour.lower())} {EN_TYPE[kind]}"
        queries["zh"][qid] = f"{ZH_COLOUR[colour]}{ZH_TYPE[kind]}"
        qrels_all[qid] = dict.fromkeys(ids, 1)
        held_ids = [i for i in ids if i in held]
        if held_ids:
            qrels_held[qid] = dict.fromkeys(held_ids, 1)
        listing.append(
            {
                "qid": qid, "colour": colour, "type": kind, "en": queries["en"][qid],
                "zh": queries["zh"][qid], "relevant": len(ids), "relevant_held_out": len(held_ids),
            }
        )  # fmt: skip
    return queries, qrels_all, qrels_held, listing


def ceiling(qrels: dict[str, dict[str, int]], k: int = 10) -> float:
    """The best P@k any ranking can reach (queries with fewer than k relevant products cap it)."""
    return round(float(np.mean([min(len(d), k) / k for d in qrels.values()])), 4)


# ----------------------------------------------------------------------------------- searching


def run_queries(engine: Engine, queries: dict[str, str], *, mode: str, k: int) -> dict[str, dict[str, float]]:
    run = {}
    for qid, text in queries.items():
        hits = engine.search_text(text, k=k, mode=mode)  # type: ignore[arg-type]
        # ranx ranks by score; ties keep no order, so strictly decreasing scores from the rank
        run[qid] = {h.id: float(len(hits) - rank) for rank, h in enumerate(hits)}
    return run


def scores(
    run: dict[str, dict[str, float]],
    qrels_all: dict[str, dict[str, int]],
    qrels_held: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """P@10 / nDCG@10 over all products and over the held-out ones (same ranking, restricted qrels)."""
    every = retrieval_metrics(qrels_all, run, k=10)
    held_run = {q: r for q, r in run.items() if q in qrels_held}
    held = retrieval_metrics(qrels_held, held_run, k=10)
    return {
        "P@10": round4(every["P@10"]), "nDCG@10": round4(every["nDCG@10"]), "queries": every["queries"],
        "held_out_P@10": round4(held["P@10"]), "held_out_nDCG@10": round4(held["nDCG@10"]),
        "held_out_queries": held["queries"],
    }  # fmt: skip


def set_understanding(engine: Engine, on: bool) -> None:
    if engine.model is not None:
        engine.model.config.ranking.understand_queries = on


# ------------------------------------------------------------------------------------- stores


def copy_records(source: Engine, target: Engine, ids: Sequence[str], *, fuse: bool) -> int:
    """Store ``ids`` of ``source`` in ``target`` from their stored raw vectors (nothing re-encoded),
    fused by ``target``'s model when ``fuse``."""
    raw: dict[str, dict[str, Any]] = {}
    for column in source.store.manifest.columns:
        if column in ("text", "image"):
            got, matrix = source.store.vectors(column)
            raw[column] = dict(zip(got, matrix, strict=True))
    encoder = target.product_encoder() if fuse else None
    done = 0
    for start in range(0, len(ids), 1000):
        records = stored_records(source.store, list(ids[start : start + 1000]), raw)
        if encoder is not None:
            encoder.fuse(records)
        target.store.upsert(records)
        done += len(records)
    return done


def predictions_accuracy(engine: Engine, ids: list[str], truth: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Accuracy of articleType and baseColour predictions for ``ids`` (from their photos alone)."""
    if engine.model is None or engine.model.heads is None:
        return {"note": "the model has no attribute heads"}
    rows = engine.predict_attributes(ids=ids)
    out: dict[str, Any] = {"products": len(rows)}
    for label in ("articleType", "baseColour"):
        pairs = [
            (r.predicted[label], truth[r.id][label])
            for r in rows
            if label in r.predicted and truth[r.id][label]
        ]
        if not pairs:
            out[label] = None
            continue
        right = [p.value == t for p, t in pairs]
        confident = [ok for (p, _), ok in zip(pairs, right, strict=True) if p.confidence >= 0.5]
        out[label] = {
            "accuracy": round4(np.mean(right)),
            "n": len(pairs),
            "confident_share": round4(len(confident) / len(pairs)),
            "accuracy_when_confident": round4(np.mean(confident)) if confident else None,
        }
    return out


# ---------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--metadata", type=Path, default=SHARED / "fashion-products" / "metadata.csv")
    parser.add_argument(
        "--work", type=Path, default=None, help="stores and files here (default: a temp folder)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="a random sample of this many products (trial)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="learned_default", help="results file name")
    parser.add_argument(
        "--thresholds", default=",".join(map(str, THRESHOLDS)), help="N values below all (comma separated)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shopfuse-learned-") as tmp, threadpool_limits(args.threads):
        work = (args.work or Path(tmp)).resolve()
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        results = run(args, work)
    params = {
        "metadata": str(args.metadata), "limit": args.limit, "seed": args.seed, "threads": args.threads,
        "held_out_share": HELD_OUT_SHARE, "min_relevant": MIN_RELEVANT, "min_pairs_now": learning.MIN_PAIRS,
        "thresholds": args.thresholds,
    }  # fmt: skip
    write_results(args.name, params, results)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rows, held = read_metadata(args.metadata, args.limit, args.seed)
    truth = {r["id"]: r for r in rows}
    held_ids = [r["id"] for r in rows if r["id"] in held]
    paired_ids = [r["id"] for r in rows if r["id"] not in held]
    catalog = write_jsonl(work / "catalog.jsonl", [catalogue_row(r, r["id"] in held) for r in rows])
    queries, qrels_all, qrels_held, listing = colour_type_queries(rows, held)
    print(
        f"{len(rows)} products, {len(held_ids)} held out photo-only, {len(paired_ids)} photo+text; "
        f"{len(listing)} colour+type queries ({len(qrels_held)} with held-out relevant products)"
    )
    results: dict[str, Any] = {
        "products": len(rows), "held_out_photo_only": len(held_ids), "photo_text": len(paired_ids),
        "order": "metadata.csv shuffled with the seed; the first N products are a random sample",
        "zh_source": "Chinese queries from this script's hand-written ZH_COLOUR / ZH_TYPE tables "
        "(not the query glossary, not seller text)",
        "search": "Engine.search_text defaults: k=10, duplicate listings collapsed, RRF for hybrid",
    }  # fmt: skip

    # 4. time: ingest with learning off, then learn (the two halves of `ingest --learn auto`)
    mapping = FieldMapping()
    learned_dir, raw_dir = work / "learned", work / "raw"
    engine = Engine.open(learned_dir, EngineConfig(learn="off"))
    started = time.perf_counter()
    report = engine.ingest(catalog, mapping, progress=False, learn="off")
    ingest_s = time.perf_counter() - started
    rss_ingest = peak_rss_mib()
    print(f"ingest: {report.stored} products in {ingest_s:.0f} s; peak RSS {rss_ingest:.0f} MiB")
    del engine
    shutil.copytree(learned_dir, raw_dir)
    learned = Engine.open(learned_dir)
    started = time.perf_counter()
    learning_report = learned.learn("auto", progress=False, echo=print)
    learn_s = time.perf_counter() - started
    rss_learn = peak_rss_mib()
    print(f"learn: {learn_s:.0f} s ({learning_report.get('reason')}); peak RSS {rss_learn:.0f} MiB")
    if not learning_report.get("learned"):
        raise SystemExit(f"the store did not learn: {learning_report}")
    raw = Engine.open(raw_dir)
    model_folder = learned.model_folder(str(learned.config.model))
    results["time"] = {
        "products": report.stored,
        "ingest_s": round(ingest_s, 1),
        "ingest_products_per_s": round(report.stored / ingest_s, 1),
        "learn_s": round(learn_s, 1),
        "learn_share": round(learn_s / (ingest_s + learn_s), 3),
        "total_s": round(ingest_s + learn_s, 1),
        "peak_rss_mib_after_ingest": round(rss_ingest),
        "peak_rss_mib_after_learn": round(rss_learn),
        "learning_report": learning_report,
    }
    print_table(
        "time: ingest + learn",
        ["products", "ingest s", "learn s", "total s", "peak RSS MiB"],
        [[report.stored, ingest_s, learn_s, ingest_s + learn_s, rss_learn]],
    )

    # 1. colour+type queries, every row
    engines = {"raw": raw, "learned": learned}
    table: dict[str, Any] = {}
    print_rows = []
    for name, store, mode, understand in ROWS:
        engine = engines[store]
        set_understanding(engine, understand)
        entry: dict[str, Any] = {"store": store, "mode": mode, "understand_queries": understand}
        for language in ("en", "zh"):
            started = time.perf_counter()
            run_ = run_queries(engine, queries[language], mode=mode, k=10)
            seconds = time.perf_counter() - started
            entry[language] = scores(run_, qrels_all, qrels_held)
            entry[language]["ms_per_query"] = round(1000 * seconds / len(queries[language]), 1)
            e = entry[language]
            print_rows.append(
                [name, language, e["P@10"], e["nDCG@10"], e["held_out_P@10"], e["held_out_nDCG@10"]]
            )
        table[name] = entry
        set_understanding(engine, True)
    results["colour_type"] = {
        "rows": table,
        "queries": len(listing),
        "queries_with_held_out": len(qrels_held),
        "ceiling_P@10": ceiling(qrels_all),
        "ceiling_held_out_P@10": ceiling(qrels_held),
        "query_list": listing,
    }
    print_table(
        f"colour+type queries ({len(listing)}; held-out: {len(qrels_held)}), P@10 ceiling "
        f"{ceiling(qrels_all)} / held-out {ceiling(qrels_held)}",
        ["row", "lang", "P@10", "nDCG@10", "held-out P@10", "held-out nDCG@10"],
        print_rows,
    )
    results["recommended_default_mode"] = recommend_mode(table)
    print(f"\nrecommended default text mode: {results['recommended_default_mode']}")

    # 3. the README's example queries
    results["readme_queries"] = readme_queries(raw, learned, rows, held)

    # 5. photo-only recognition, original and downscaled photos
    results["photo_only_recognition"] = recognition(learned, model_folder, rows, held_ids, truth, work)

    # 2. the threshold
    sizes = [int(n) for n in args.thresholds.split(",") if n.strip()]
    results["threshold"] = threshold(
        raw, learned, learning_report, sizes, paired_ids, queries, qrels_all, qrels_held, work
    )
    results["peak_rss_mib_whole_run"] = round(peak_rss_mib())
    return results


def recommend_mode(table: dict[str, Any]) -> dict[str, Any]:
    """The text mode with the best mean P@10 over en/zh, all and held-out, among the learned rows."""
    candidates = {
        "vector": table["learned vector + understanding (default)"],
        "hybrid": table["learned hybrid"],
    }
    means = {
        mode: round4(np.mean([e[lang][key] for lang in ("en", "zh") for key in ("P@10", "held_out_P@10")]))
        for mode, e in candidates.items()
    }
    best = max(means, key=lambda m: means[m] or 0.0)
    return {"mode": best, "mean_P@10_en_zh_all_and_held_out": means}


def readme_queries(
    raw: Engine, learned: Engine, rows: list[dict[str, str]], held: set[str]
) -> list[dict[str, Any]]:
    truth = {r["id"]: r for r in rows}
    out = []
    print_rows = []
    for query, judge, rule in README_QUERIES:
        relevant = {r["id"] for r in rows if judge(r)}
        entry: dict[str, Any] = {"query": query, "relevant": rule, "relevant_products": len(relevant)}
        for name, engine in (("raw", raw), ("learned", learned)):
            hits = engine.search_text(query, k=5)
            entry[f"{name}_P@5"] = round4(sum(h.id in relevant for h in hits) / 5)
            if name == "learned":
                entry["learned_top5"] = [
                    {
                        "id": h.id,
                        "title": truth[h.id]["productDisplayName"],
                        "photo_only": h.id in held,
                        "articleType": truth[h.id]["articleType"],
                        "baseColour": truth[h.id]["baseColour"],
                        "season": truth[h.id]["season"],
                        "relevant": h.id in relevant,
                    }
                    for h in hits
                ]
                parsed = engine.parse_query(query)
                entry["learned_understood"] = {
                    "constraints": parsed.get("constraints"),
                    "rewrite": parsed.get("rewrite"),
                }
        out.append(entry)
        print_rows.append([query, entry["relevant_products"], entry["raw_P@5"], entry["learned_P@5"]])
    print_table("README queries, P@5 (vector mode)", ["query", "relevant", "raw", "learned"], print_rows)
    for entry in out:
        print(f"\n{entry['query']}  (learned top 5)")
        for hit in entry["learned_top5"]:
            mark = "+" if hit["relevant"] else " "
            extra = " [photo-only]" if hit["photo_only"] else ""
            print(f"  {mark} {hit['title']}{extra}")
    return out


def recognition(
    learned: Engine,
    model_folder: Path,
    rows: list[dict[str, str]],
    held_ids: list[str],
    truth: dict[str, dict[str, str]],
    work: Path,
) -> dict[str, Any]:
    sizes = Counter(Image.open(truth[i]["image"]).size for i in held_ids)
    original = predictions_accuracy(learned, held_ids, truth)
    small_dir = work / "small-photos"
    small_dir.mkdir()
    small_rows = []
    for pid in held_ids:
        target = small_dir / f"{pid}.jpg"
        with Image.open(truth[pid]["image"]) as image:
            image.convert("RGB").resize((60, 80), Image.Resampling.LANCZOS).save(target, quality=90)
        small_rows.append({"id": pid, "image": str(target)})
    small_catalog = write_jsonl(work / "held_out_small.jsonl", small_rows)
    small = Engine.open(work / "small-store", EngineConfig(model=str(model_folder), learn="off"))
    started = time.perf_counter()
    small.ingest(small_catalog, FieldMapping(), progress=False, learn="off")
    ingest_s = time.perf_counter() - started
    downscaled = predictions_accuracy(small, held_ids, truth)
    out = {
        "held_out_products": len(held_ids),
        "original_photo_sizes": {f"{w}x{h}": n for (w, h), n in sizes.items()},
        "original": original,
        "downscaled_60x80": downscaled,
        "downscaled_ingest_s": round(ingest_s, 1),
        "note": "predictions from the fused product vector of a photo-only product (photo alone); "
        "the downscaled copies are 60 px wide and 80 px high (LANCZOS), served by the same model",
    }
    print_rows = []
    for label in ("articleType", "baseColour"):
        a, b = original.get(label) or {}, downscaled.get(label) or {}
        print_rows.append([label, a.get("accuracy"), b.get("accuracy"), a.get("n")])
    print_table("photo-only recognition, held-out products", ["label", "224x224", "60x80", "n"], print_rows)
    return out


def threshold(
    raw: Engine,
    learned: Engine,
    learning_report: dict[str, Any],
    thresholds: Sequence[int],
    paired_ids: list[str],
    queries: dict[str, dict[str, str]],
    qrels_all: dict[str, dict[str, int]],
    qrels_held: dict[str, dict[str, int]],
    work: Path,
) -> dict[str, Any]:
    every = sorted(raw.store.hashes())
    sizes = [n for n in thresholds if n < len(paired_ids)]
    rows: list[dict[str, Any]] = []

    def measure(engine: Engine) -> dict[str, Any]:
        return {lang: scores(run_queries(engine, queries[lang], mode="vector", k=10), qrels_all, qrels_held)
                for lang in ("en", "zh")}  # fmt: skip

    base = measure(raw)
    rows.append({"N": 0, "row": "raw encoders (learn off)", **base})
    for n in sizes:
        folder = work / f"n{n}"
        subset = Engine.open(folder / "learn", EngineConfig(learn="off"))
        copy_records(raw, subset, paired_ids[:n], fuse=False)
        started = time.perf_counter()
        report = subset.learn("on", progress=False)
        fit_s = time.perf_counter() - started
        if not report.get("learned"):
            rows.append(
                {"N": n, "row": f"learn on, first {n}", "learned": False, "reason": report.get("reason")}
            )
            continue
        model = subset.model_folder(str(subset.config.model))
        served = Engine.open(folder / "served", EngineConfig(model=str(model), learn="off"))
        started = time.perf_counter()
        copy_records(raw, served, every, fuse=True)
        serve_s = time.perf_counter() - started
        entry = {
            "N": n,
            "row": f"learn on, first {n}",
            "learned": True,
            "labels": report.get("labels"),
            "fit_s": round(fit_s, 1),
            "fuse_whole_catalogue_s": round(serve_s, 1),
            "model_metrics": report.get("metrics"),
            **measure(served),
        }
        rows.append(entry)
        print(
            f"N={n}: fit {fit_s:.0f} s, labels {report.get('labels')}; P@10 en {entry['en']['P@10']} "
            f"(held-out {entry['en']['held_out_P@10']})"
        )
        del served, subset
        shutil.rmtree(folder, ignore_errors=True)
    # N = all: the main learned store (`learn auto` fits exactly as `learn on` at this size)
    entry = {
        "N": len(paired_ids),
        "row": f"all {len(paired_ids)} (the main learned store, learn auto)",
        "learned": True,
        "labels": learning_report.get("labels"),
        "fit_s": learning_report.get("seconds"),
        "model_metrics": learning_report.get("metrics"),
        **measure(learned),
    }
    rows.append(entry)
    first_win = {
        key: next(
            (r["N"] for r in rows[1:] if r.get("learned") and r["en"][key] > base["en"][key]),
            None,
        )
        for key in ("P@10", "held_out_P@10")
    }
    print_table(
        "threshold: learn on from the first N photo+text products, whole catalogue served, vector mode",
        ["N", "labels", "fit s", "P@10 en", "held-out P@10 en", "P@10 zh", "held-out P@10 zh"],
        [
            [
                r["N"] or "raw",
                len(r.get("labels") or []) if r["N"] else "-",
                r.get("fit_s"),
                r.get("en", {}).get("P@10"),
                r.get("en", {}).get("held_out_P@10"),
                r.get("zh", {}).get("P@10"),
                r.get("zh", {}).get("held_out_P@10"),
            ]
            for r in rows
        ],
    )
    print(f"first N where learned beats raw (en): {first_win}; MIN_PAIRS now {learning.MIN_PAIRS}")
    return {
        "rows": rows,
        "first_N_beating_raw_en": first_win,
        "min_pairs_now": learning.MIN_PAIRS,
        "main_store_learn": {
            "pairs": learning_report.get("pairs"),
            "seconds": learning_report.get("seconds"),
        },
        "note": "each N: a store of the first N photo+text products (stored vectors copied from the raw "
        "store), Engine.learn('on'); the whole catalogue, held-out photo-only products included, is "
        "then fused by that model (no re-encoding) and searched. fit_s is Engine.learn on the "
        "N-product store (fit + moving its N products into the model). N = all is the main learned store "
        "(learned with auto, which fits the same model as on at that size; it also holds the held-out "
        "photo-only products, which carry no labels).",
    }


if __name__ == "__main__":
    main()
