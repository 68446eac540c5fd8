"""Single-query search latency on a store of the shared fashion catalogue, split into its parts.

For every query the time is split into query encoding (the store's own text or image encoder,
called directly) and store search (``engine.searcher().vector_query(vector, info, k=...)``:
the in-memory matrix scores, the Lance filter scan when there is a ``--where``, and fetching
the hits' fields). Right after each engine search, the reference floor runs on the same vector:
exact NumPy search on the same matrix (``store.vectors(column)``, then ``X @ q`` and
``argpartition``), the filter as a precomputed mask; its top-k scores are compared with the
engine's. Interleaving puts both under the same load on a shared box.

Queries: ``--queries`` text queries, English ones built as "<baseColour> <articleType>" from
pairs found in the catalogue plus a fixed list of Chinese ones, each run without and with
``--where``; and ``--image-queries`` photos of stored products, decoded beforehand, without and
with ``--where``. ``--warmup`` queries run untimed first; the very first search of each space,
which loads the matrix cache, is reported on its own. A last table encodes the text queries with
the store's USE encoder and a single-threaded one, alternately. Peak RSS (``ru_maxrss``) is the
whole process's, store building included.

The store holds the whole catalogue by default (``--limit`` for fewer products). Building it
takes about 15 minutes on a 2-core box, so pass ``--store DIR`` to keep it: a DIR that already
holds a store (``engine.json``) is reused as it is, without ingesting. Without ``--store`` a
temporary store is built and removed at the end.

Run::

    python benchmarks/search_latency.py --store /tmp/fashion-store     # build once, then reuse
    python benchmarks/search_latency.py --limit 1000                     # quick check

Results: tables on stdout and ``benchmarks/results/search_latency.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import latency_ms, peak_rss_mib, print_table, top_k, write_results
from PIL import Image

from shopfuse.catalog.load import load_catalog
from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.encoders.base import EncoderInfo
from shopfuse.encoders.text import USEEncoder
from shopfuse.engine import CONFIG_FILE, Engine
from shopfuse.media.images import load_image
from shopfuse.types import Hit, Product

NAME = "search_latency"
CHINESE_QUERIES = [
    "黑色T恤", "红色连衣裙", "蓝色牛仔裤", "白色运动鞋", "手表", "手提包", "女士凉鞋", "男士衬衫",
    "太阳镜", "钱包", "粉色上衣", "灰色卫衣", "绿色T恤", "黑色皮鞋", "棕色皮带", "紫色裙子",
    "女士香水", "男士手表", "帆布鞋", "黄色短裤",
]  # fmt: skip
SCORE_TOLERANCE = 1e-5


@dataclass(slots=True)
class Floor:
    """Exact NumPy search on one column's matrix; the filter, if any, as a boolean mask."""

    matrix: np.ndarray
    mask: np.ndarray | None
    k: int

    def __call__(self, vector: np.ndarray) -> tuple[float, np.ndarray]:
        """Seconds taken and the top-k scores, best first."""
        started = time.perf_counter()
        scores = self.matrix @ vector
        if self.mask is not None:
            scores = np.where(self.mask, scores, -np.inf)
        best = scores[top_k(scores, self.k)]
        return time.perf_counter() - started, best


@dataclass(slots=True)
class Timings:
    """Per-query seconds of one query set: encode, engine search and the NumPy floor."""

    label: str
    encode: list[float] = field(default_factory=list)
    search: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    agree: int = 0

    def row(self) -> dict[str, Any]:
        """Latency statistics, with the floor's when it ran."""
        total = [e + s for e, s in zip(self.encode, self.search, strict=True)]
        row: dict[str, Any] = {
            "queries": self.label,
            "encode": latency_ms(self.encode),
            "search": latency_ms(self.search),
            "total": latency_ms(total),
        }
        if self.floor:
            row["numpy"] = latency_ms(self.floor)
            row["topk_agree"] = f"{self.agree}/{len(self.floor)}"
        return row

    def subset(self, label: str, indices: Sequence[int]) -> Timings:
        """The encode and search timings of some of the queries."""
        return Timings(label, [self.encode[i] for i in indices], [self.search[i] for i in indices])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument("--store", type=Path, default=None, help="store to reuse or build and keep")
    parser.add_argument("--limit", type=int, default=None, help="products when building (all)")
    parser.add_argument("--queries", type=int, default=200, help="text queries (default 200)")
    parser.add_argument("--image-queries", type=int, default=100, help="photo queries (100)")
    parser.add_argument("--where", default="gender = 'Women'", help="filter for the filtered runs")
    parser.add_argument("--k", type=int, default=10, help="results per query (default 10)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed queries first (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="query sampling seed")
    args = parser.parse_args()
    if min(args.queries, args.image_queries, args.k) < 1 or args.warmup < 0:
        parser.error("--queries, --image-queries and --k must be at least 1")
    return args


def text_queries(products: Sequence[Product], count: int, rng: random.Random) -> list[str]:
    """English "<colour> <articleType>" pairs from the catalogue plus Chinese queries."""
    chinese = CHINESE_QUERIES[: min(len(CHINESE_QUERIES), count // 4)]
    pairs = sorted(
        {
            f"{p.attributes['baseColour']} {p.attributes['articleType']}"
            for p in products
            if p.attributes.get("baseColour") and p.attributes.get("articleType")
        }
    )
    english = [rng.choice(pairs) for _ in range(count - len(chinese))]
    queries = english + chinese
    rng.shuffle(queries)
    return queries


def open_store(args: argparse.Namespace, root: Path, catalog: Path) -> tuple[Engine, float | None]:
    """The engine over ``root``: reused if it holds a store, else built; and the build seconds."""
    if (root / CONFIG_FILE).is_file():
        print(f"reusing the store at {root} (no ingest)")
        return Engine.open(root), None
    size = "the whole catalogue" if args.limit is None else f"{args.limit} products"
    print(f"building a store of {size} at {root} (OCR off); the whole catalogue takes ~15 min")
    engine = Engine.open(root, EngineConfig())
    started = time.perf_counter()
    report = engine.ingest(catalog, FASHION_MAPPING, limit=args.limit, progress=True, learn="off")
    print(report.summary())
    return engine, time.perf_counter() - started


def run_queries(
    label: str,
    items: Sequence[Any],
    encode: Callable[[Any], np.ndarray],
    search: Callable[[np.ndarray], list[Hit]],
    floor: Floor,
    warmup: int,
) -> Timings:
    """Time encode, engine search and the NumPy floor of each item, one after the other."""
    for item in items[:warmup]:
        search(encode(item))
    timings = Timings(label)
    for item in items:
        started = time.perf_counter()
        vector = encode(item)
        encoded = time.perf_counter()
        hits = search(vector)
        timings.search.append(time.perf_counter() - encoded)
        timings.encode.append(encoded - started)
        floor_s, best = floor(vector)
        timings.floor.append(floor_s)
        ours = np.array([h.score for h in hits], dtype=np.float64)
        timings.agree += ours.shape == best.shape and np.allclose(ours, best, atol=SCORE_TOLERANCE)
    return timings


def allowed_mask(engine: Engine, column: str, ids: Sequence[str], where: str) -> np.ndarray:
    """Rows of ``column``'s matrix that ``where`` admits, asked of the store's own filter."""
    info = engine.store.manifest.encoder(column)
    probe = np.zeros(info.dim, dtype=np.float32)
    probe[0] = 1.0
    found = engine.store.search(column, probe, encoder=info, k=len(ids), where=where)
    admitted = {hit.id for hit in found}
    return np.array([i in admitted for i in ids], dtype=bool)


def text_encoder_threads(engine: Engine, queries: Sequence[str]) -> list[dict[str, Any]]:
    """Query encoding by the store's USE encoder next to a single-threaded one, query by query.

    USE runs its forward pass on BLAS threads (one per core by default); on a busy box a
    multi-threaded one-row product can wait on a descheduled thread. Interleaving the two
    encoders exposes both to the same load. Empty when the store's text encoder is not USE.
    """
    own = engine.text_encoder
    if not isinstance(own, USEEncoder):
        return []
    single = USEEncoder(threads=1)
    single.encode_text(["warm up"], role="query")
    seconds: dict[str, list[float]] = {"own": [], "single": []}
    for query in queries:
        for name, encoder in (("own", own), ("single", single)):
            started = time.perf_counter()
            encoder.encode_text([query], role="query")
            seconds[name].append(time.perf_counter() - started)
    return [
        {
            "encoder": f"store's USEEncoder ({own.threads or os.cpu_count()} threads)",
            **latency_ms(seconds["own"]),
        },
        {"encoder": "USEEncoder(threads=1)", **latency_ms(seconds["single"])},
    ]


def first_search(engine: Engine, vector: np.ndarray, info: EncoderInfo, k: int) -> float:
    """Seconds of the first search of a space, which loads its column matrices into memory."""
    started = time.perf_counter()
    engine.searcher().vector_query(vector, info, k=k)
    return time.perf_counter() - started


def measure(args: argparse.Namespace, engine: Engine, catalog: Path, rng: random.Random) -> dict[str, Any]:
    """Every timed query set on ``engine``."""
    image_encoder = engine.image_encoder
    if image_encoder is None:
        raise SystemExit("the store has no image encoder; photo queries need one")
    text_encoder = engine.text_encoder
    text_info, image_info = text_encoder.text_info, image_encoder.image_info
    text_ids, text_matrix = engine.store.vectors("text")
    image_ids, image_matrix = engine.store.vectors("image")
    products = load_catalog(catalog, FASHION_MAPPING).products
    with_text, with_image = set(text_ids), set(image_ids)
    queries = text_queries([p for p in products if p.id in with_text], args.queries, rng)
    pictured = [p.image for p in products if p.id in with_image and p.image]
    chosen = rng.sample(pictured, min(args.image_queries, len(pictured)))
    started = time.perf_counter()
    photos: list[Image.Image] = [load_image(path) for path in chosen]
    decode_s = (time.perf_counter() - started) / max(1, len(photos))

    started = time.perf_counter()
    first_text = text_encoder.encode_text(["warm up"], role="query")[0]
    first_image = image_encoder.encode_images(photos[:1])[0]
    model_load_s = time.perf_counter() - started
    cold = {
        "text": first_search(engine, first_text, text_info, args.k),
        "image": first_search(engine, first_image, image_info, args.k),
    }
    text_mask = allowed_mask(engine, "text", text_ids, args.where)
    image_mask = allowed_mask(engine, "image", image_ids, args.where)
    searcher = engine.searcher()

    def encode_text(query: str) -> np.ndarray:
        return text_encoder.encode_text([query], role="query")[0]

    def encode_image(photo: Image.Image) -> np.ndarray:
        return image_encoder.encode_images([photo])[0]

    def searching(info: EncoderInfo, where: str | None) -> Callable[[np.ndarray], list[Hit]]:
        return lambda vector: searcher.vector_query(vector, info, k=args.k, where=where)

    where_label = f"where {args.where}"
    text_all, text_where, image_all, image_where = [
        run_queries(label, items, encode, searching(info, where), Floor(matrix, mask, args.k),
                    args.warmup)
        for label, items, encode, info, where, matrix, mask in (
            ("text", queries, encode_text, text_info, None, text_matrix, None),
            (f"text, {where_label}", queries, encode_text, text_info, args.where, text_matrix,
             text_mask),
            ("image", photos, encode_image, image_info, None, image_matrix, None),
            (f"image, {where_label}", photos, encode_image, image_info, args.where, image_matrix,
             image_mask),
        )
    ]  # fmt: skip
    by_language = [
        text_all.subset(f"text, {lang} only", indices).row()
        for lang, indices in (
            ("English", [i for i, q in enumerate(queries) if q.isascii()]),
            ("Chinese", [i for i, q in enumerate(queries) if not q.isascii()]),
        )
        if indices
    ]
    return {
        "engine": [
            text_all.row(),
            *by_language,
            text_where.row(),
            image_all.row(),
            image_where.row(),
        ],
        "text_encoder_threads": text_encoder_threads(engine, queries),
        "model_load_seconds": round(model_load_s, 3),
        "first_search_seconds": {k: round(v, 3) for k, v in cold.items()},
        "photo_decode_ms_mean": round(decode_s * 1000, 3),
        "where_matches": {"text": int(text_mask.sum()), "image": int(image_mask.sum())},
        "store_info": {
            "products": engine.store.count(),
            "modalities": engine.store.modality_counts(),
        },
    }


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Print the tables and the notes."""
    store = results["store"]
    built = "reused" if store["built_seconds"] is None else f"built in {store['built_seconds']} s"
    print_table(
        f"Search latency, ms, k={args.k}: {store['products']} products ({built})",
        ["queries", "n", "encode p50", "encode p99", "search p50", "search p99", "total p50",
         "total p99"],
        [
            [r["queries"], r["total"]["n"], r["encode"]["p50_ms"], r["encode"]["p99_ms"],
             r["search"]["p50_ms"], r["search"]["p99_ms"], r["total"]["p50_ms"],
             r["total"]["p99_ms"]]
            for r in results["engine"]
        ],
    )  # fmt: skip
    floors = [r for r in results["engine"] if "numpy" in r]
    print_table(
        "Reference floor, ms: exact NumPy on the same matrix (X @ q + argpartition, filter as a "
        "mask), run right after each engine search",
        ["queries", "n", "numpy p50", "numpy p99", "engine search p50", "top-k scores = engine"],
        [
            [r["queries"], r["numpy"]["n"], r["numpy"]["p50_ms"], r["numpy"]["p99_ms"],
             r["search"]["p50_ms"], r["topk_agree"]]
            for r in floors
        ],
    )  # fmt: skip
    if results["text_encoder_threads"]:
        print_table(
            "Text query encoding alone, ms: the store's encoder and a 1-thread one, alternately",
            ["encoder", "n", "p50 ms", "p99 ms", "mean ms"],
            [
                [r["encoder"], r["n"], r["p50_ms"], r["p99_ms"], r["mean_ms"]]
                for r in results["text_encoder_threads"]
            ],
        )
    print(
        f"\nmodel load + first encode {results['model_load_seconds']} s (near 0 when this run "
        f"built the store: the models were loaded by the ingest); first search (loads the "
        f"matrix cache): text {results['first_search_seconds']['text']} s, image "
        f"{results['first_search_seconds']['image']} s; photos decoded beforehand "
        f"({results['photo_decode_ms_mean']} ms each); {args.where!r} admits "
        f"{results['where_matches']['text']} products; vectors per modality "
        f"{store['modalities']}; peak RSS after building/opening the store "
        f"{store['peak_rss_mib_after_build']} MiB."
    )


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    catalog = find_data(args.data) / "fashion-products" / "metadata.csv"
    with tempfile.TemporaryDirectory(prefix="shopfuse-bench-search-") as tmp:
        root = args.store or Path(tmp) / "store"
        engine, build_s = open_store(args, root, catalog)
        rss_after_build = round(peak_rss_mib())
        results = measure(args, engine, catalog, rng)
    results["store"] = {
        "path": str(root) if args.store else "temporary",
        "built_seconds": None if build_s is None else round(build_s, 1),
        "peak_rss_mib_after_build": rss_after_build,
        **results.pop("store_info"),
    }
    results["peak_rss_mib"] = round(peak_rss_mib())
    report(args, results)
    params = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    write_results(NAME, params, results)


if __name__ == "__main__":
    main()
