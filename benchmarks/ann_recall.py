"""Approximate search at a million vectors, and store search against raw FAISS.

Part 1, ``--rows`` (1,000,000) x ``--dim`` (512) float32 vectors: shopfuse's ``AnnIndex``
(FAISS ``IndexIVFFlat`` and ``IndexHNSWFlat``, inner product, the index the Lance store builds
with ``ann`` settings) against exact search (FAISS ``IndexFlatIP``, the ground truth): recall@10
(share of the exact top 10 found) averaged over ``--recall-queries`` queries, per-query latency
(p50/p99) with one thread, and with two threads each running single-query searches side by
side (``--latency-queries`` per thread count), build time, and the memory the index adds
(resident set growth while building; the index holds its own copy of the vectors).

Part 2, ``--store-rows`` (100,000) x 512: ``LanceStore.search`` (exact; in-memory matrix,
fetching the hits' fields) and ``MilvusStore.search`` (Milvus Lite, FLAT, and HNSW with
``--milvus-hnsw``) against raw ``IndexFlatIP.search`` on the same vectors, query by query in
turn, one BLAS/OpenMP thread in this process (Milvus Lite runs in its own process and threads).
"ratio" is a store's p50 over FAISS's.

Vectors: a Gaussian mixture, closer to real embeddings than uniform noise: ``--clusters``
(1,000) random unit centres; each vector is a centre plus N(0, noise^2/dim) per coordinate
(``--noise``, 1.0: noise of about the centre's length), normalised, so a vector's cosine to its
centre is about 1/sqrt(1 + noise^2) (0.7). Queries are fresh draws from the same mixture. Few
big clusters are easy for IVF (a query's neighbours share its cell); many small noisy ones
(``--clusters 20000 --noise 2``) are close to uniform noise, where no ANN index does well.
Seeded (``--seed``).

Run (about 15 minutes on 2 cores; needs ``faiss-cpu``, ``pymilvus``, ``milvus-lite``)::

    python benchmarks/ann_recall.py
    python benchmarks/ann_recall.py --rows 200000 --store-rows 20000   # a quick look
    python benchmarks/ann_recall.py --indexes ivf --clusters 10000 --skip-part-two --name ann_recall_1m_c10k

Results: tables on stdout and ``benchmarks/results/ann_recall.json``.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from _common import latency_ms, peak_rss_mib, print_table, write_results
from threadpoolctl import threadpool_limits

from shopfuse.config import AnnSettings
from shopfuse.encoders.base import EncoderInfo
from shopfuse.store.ann import AnnIndex
from shopfuse.store.base import Record
from shopfuse.store.lance import LanceStore
from shopfuse.store.milvus import MilvusStore
from shopfuse.types import Product

NAME = "ann_recall"
K = 10


def mixture(
    count: int, centres: np.ndarray, rng: np.random.Generator, noise: float = 1.0, chunk: int = 100_000
) -> np.ndarray:
    """``count`` normalised draws from the Gaussian mixture around ``centres``."""
    dim = centres.shape[1]
    out = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        block = centres[rng.integers(0, len(centres), n)]
        block += rng.standard_normal((n, dim), dtype=np.float32) * np.float32(noise / np.sqrt(dim))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + n] = block
    return out


def rss_mib() -> float:
    """Current resident memory of this process in MiB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's exact top-k found."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def timed(search: Callable[[np.ndarray], Any], queries: np.ndarray, threads: int) -> dict[str, float]:
    """Per-query latency of single-query ``search`` calls from ``threads`` threads side by side."""
    seconds: list[float] = []
    lock = threading.Lock()

    def worker(part: np.ndarray) -> None:
        mine = []
        for q in part:
            started = time.perf_counter()
            search(q[None])
            mine.append(time.perf_counter() - started)
        with lock:
            seconds.extend(mine)

    workers = [threading.Thread(target=worker, args=(p,)) for p in np.array_split(queries, threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    return {**latency_ms(seconds), "qps": round(len(queries) / wall, 1)}


def sweep(
    label: str,
    index: AnnIndex,
    knob: str,
    values: list[int],
    queries: np.ndarray,
    truth: np.ndarray,
    latency_queries: np.ndarray,
) -> list[dict[str, Any]]:
    """Recall and latency of ``index`` for each value of its search knob."""
    rows = []
    for value in values:
        faiss.omp_set_num_threads(2)
        _, found = index.search(queries, K, **{knob: value})
        row: dict[str, Any] = {"index": label, knob: value, "recall@10": round(recall(found, truth), 4)}
        faiss.omp_set_num_threads(1)
        for threads in (1, 2):
            row[f"{threads}t"] = timed(
                lambda q, v=value: index.search(q, K, **{knob: v}), latency_queries, threads
            )
        rows.append(row)
        print(f"  {label} {knob}={value}: recall@10 {row['recall@10']}, p50 {row['1t']['p50_ms']} ms")
    return rows


def part_one(args: argparse.Namespace, rng: np.random.Generator, centres: np.ndarray) -> dict[str, Any]:
    """ANN recall, latency, build time and memory at ``args.rows`` vectors."""
    started = time.perf_counter()
    data = mixture(args.rows, centres, rng, args.noise)
    queries = mixture(args.recall_queries, centres, rng, args.noise)
    print(f"{args.rows} x {args.dim} vectors generated in {time.perf_counter() - started:.0f} s")
    faiss.omp_set_num_threads(2)
    exact = faiss.IndexFlatIP(args.dim)
    exact.add(data)
    started = time.perf_counter()
    _, truth = exact.search(queries, K)
    truth_s = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    exact_queries = queries[: args.latency_queries // 4]
    exact_latency = {t: timed(lambda q: exact.search(q, K), exact_queries, t) for t in (1, 2)}
    exact.reset()  # frees its copy of the vectors
    gc.collect()
    print(f"exact ground truth for {len(queries)} queries in {truth_s:.0f} s")
    latency_queries = queries[: args.latency_queries]
    out: dict[str, Any] = {
        "exact": {"ground_truth_s": round(truth_s, 1), "1t": exact_latency[1], "2t": exact_latency[2]},
        "indexes": [],
        "sweeps": [],
    }
    plans = [
        ("ivf", AnnSettings(kind="ivf", nlist=args.nlist), "nprobe", args.nprobe),
        (
            "hnsw",
            AnnSettings(kind="hnsw", m=args.m, ef_construction=args.ef_construction),
            "ef_search",
            args.ef,
        ),
    ]
    for kind, settings, knob, values in plans:
        if kind not in args.indexes:
            continue
        faiss.omp_set_num_threads(2)
        gc.collect()
        before = rss_mib()
        started = time.perf_counter()
        index = AnnIndex(data, settings, seed=args.seed)
        build_s = time.perf_counter() - started
        added = rss_mib() - before
        label = f"IVF{index.index.nlist},Flat" if kind == "ivf" else f"HNSW{args.m},efC{args.ef_construction}"
        print(f"{label}: built in {build_s:.0f} s, +{added:.0f} MiB")
        out["indexes"].append(
            {"index": label, "build_s": round(build_s, 1), "memory_mib": round(added), "settings": settings}
        )
        out["sweeps"] += sweep(label, index, knob, values, queries, truth, latency_queries)
        del index
        gc.collect()
    return out


def part_two(
    args: argparse.Namespace, rng: np.random.Generator, centres: np.ndarray, root: Path
) -> dict[str, Any]:
    """Store search latency over raw FAISS flat search on the same ``args.store_rows`` vectors."""
    data = mixture(args.store_rows, centres, rng, args.noise)
    queries = mixture(args.store_queries + 3, centres, rng, args.noise)
    info = EncoderInfo("mixture", "1", args.dim, f"mixture-{args.dim}")
    ids = [f"p{i}" for i in range(len(data))]
    genders = rng.choice(["Women", "Men", "Unisex"], len(data)).tolist()
    records = [
        Record(Product(id=i, title=f"product {i}", attributes={"gender": g}), i, {"vec": v})
        for i, g, v in zip(ids, genders, data, strict=True)
    ]
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(data)
    searches: dict[str, Callable[[np.ndarray], list[str]]] = {
        "faiss IndexFlatIP": lambda q: [ids[r] for r in flat.search(q[None], K)[1][0]]
    }
    loads: dict[str, float] = {}
    stores: list[tuple[str, Any]] = [("LanceStore (exact)", LanceStore.create(root / "lance", {"vec": info}))]
    stores.append(("MilvusStore (Lite, FLAT)", MilvusStore.create(root / "milvus", {"vec": info})))
    if args.milvus_hnsw:
        settings = AnnSettings(kind="hnsw", m=args.m, ef_construction=args.ef_construction)
        stores.append(
            (
                "MilvusStore (Lite, HNSW)",
                MilvusStore.create(root / "milvus-hnsw", {"vec": info}, ann=settings),
            )
        )
    for label, store in stores:
        started = time.perf_counter()
        for s in range(0, len(records), 5000):
            store.upsert(records[s : s + 5000])
        store.optimize()
        loads[label] = round(time.perf_counter() - started, 1)
        print(f"{label}: {len(records)} rows loaded in {loads[label]} s")
        searches[label] = lambda q, st=store: [h.id for h in st.search("vec", q, encoder=info, k=K)]
    seconds: dict[str, list[float]] = {name: [] for name in searches}
    found: dict[str, list[list[str]]] = {name: [] for name in searches}
    faiss.omp_set_num_threads(1)
    with threadpool_limits(1):
        for n, query in enumerate(queries):
            for name, search in searches.items():
                started = time.perf_counter()
                hits = search(query)
                if n >= 3:
                    seconds[name].append(time.perf_counter() - started)
                    found[name].append(hits)
    base = latency_ms(seconds["faiss IndexFlatIP"])["p50_ms"]
    rows = []
    for name in searches:
        stats = latency_ms(seconds[name])
        rows.append(
            {
                "search": name,
                **stats,
                "ratio_p50": round(stats["p50_ms"] / base, 2),
                "recall@10": round(recall(np.array(found[name]), np.array(found["faiss IndexFlatIP"])), 4),
                "load_s": loads.get(name),
            }
        )
    return {"rows": rows}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="vectors in part 1 (1,000,000)")
    parser.add_argument("--dim", type=int, default=512, help="dimension (512)")
    parser.add_argument("--clusters", type=int, default=1000, help="mixture components (1000)")
    parser.add_argument("--noise", type=float, default=1.0, help="noise length over centre length (1.0)")
    parser.add_argument("--recall-queries", type=int, default=500, help="queries for recall (500)")
    parser.add_argument("--latency-queries", type=int, default=200, help="timed queries per setting (200)")
    parser.add_argument("--indexes", default="ivf,hnsw", help="part 1 indexes: ivf,hnsw")
    parser.add_argument("--nlist", type=int, default=4096, help="IVF clusters (4096)")
    parser.add_argument("--nprobe", default="8,16,32,64", help="IVF nprobe sweep")
    parser.add_argument("--m", type=int, default=16, help="HNSW M (16)")
    parser.add_argument("--ef-construction", type=int, default=40, help="HNSW efConstruction (40)")
    parser.add_argument("--ef", default="16,32,64,128", help="HNSW efSearch sweep")
    parser.add_argument("--store-rows", type=int, default=100_000, help="vectors in part 2 (100,000)")
    parser.add_argument("--store-queries", type=int, default=100, help="timed queries in part 2 (100)")
    parser.add_argument("--milvus-hnsw", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--skip-part-one", action="store_true", help="only the store comparison")
    parser.add_argument("--skip-part-two", action="store_true", help="only the ANN measurements")
    parser.add_argument("--name", default=NAME, help=f"results file name ({NAME})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.nprobe = [int(v) for v in args.nprobe.split(",")]
    args.ef = [int(v) for v in args.ef.split(",")]
    args.indexes = [v.strip() for v in args.indexes.split(",") if v.strip()]
    return args


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.clusters, args.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    results: dict[str, Any] = {}
    if not args.skip_part_one:
        results["ann"] = part_one(args, rng, centres)
        gc.collect()
    if not args.skip_part_two:
        with tempfile.TemporaryDirectory(prefix="shopfuse-bench-ann-") as tmp:
            results["stores"] = part_two(args, rng, centres, Path(tmp))
    if "ann" in results:
        ann = results["ann"]
        print_table(
            f"ANN at {args.rows} x {args.dim} (Gaussian mixture, {args.clusters} clusters), k={K}; "
            f"exact IndexFlatIP p50 {ann['exact']['1t']['p50_ms']} ms (1 thread)",
            ["index", "build s", "MiB", "knob", "recall@10", "p50 1t", "p99 1t", "p50 2t", "p99 2t",
             "qps 2t"],
            [
                [s["index"], b["build_s"], b["memory_mib"], f"{knob}={s[knob]}", s["recall@10"],
                 s["1t"]["p50_ms"], s["1t"]["p99_ms"], s["2t"]["p50_ms"], s["2t"]["p99_ms"], s["2t"]["qps"]]
                for s in ann["sweeps"]
                for b in ann["indexes"] if b["index"] == s["index"]
                for knob in ("nprobe", "ef_search") if knob in s
            ],
        )  # fmt: skip
    if "stores" in results:
        print_table(
        f"Store search vs raw FAISS flat at {args.store_rows} x {args.dim}, k={K}, "
        f"{args.store_queries} queries, 1 thread (ms)",
        ["search", "p50", "p99", "ratio p50", "recall@10", "load s"],
        [[r["search"], r["p50_ms"], r["p99_ms"], r["ratio_p50"], r["recall@10"], r["load_s"]]
         for r in results["stores"]["rows"]],
        )  # fmt: skip
    results["peak_rss_mib"] = round(peak_rss_mib())
    write_results(args.name, vars(args), results)


if __name__ == "__main__":
    main()
