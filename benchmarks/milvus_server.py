"""A real Milvus 2.3 server (``milvus-server``) against the Lance store: search p50/p99, one run.

Both stores are shopfuse's own (``MilvusStore`` on ``milvus://127.0.0.1:PORT/bench``, which on a
2.3 server is the split layout: a data collection plus one collection per vector column;
``LanceStore`` in a temporary folder), filled through ``upsert`` with the same ``--rows``
products: **synthetic** ``--dim``-d unit vectors (``--clusters`` random centres plus Gaussian
noise, not real photos' vectors) and a ``gender`` attribute (Women/Men/Unisex at random). Exact
search (FLAT index on Milvus, the in-memory matrix on Lance). Then ``--queries`` queries (noisy
copies of stored vectors), k = 10, without and with the filter ``gender = 'Women'``, the two
stores taking turns query by query; "agree" counts queries whose top-10 ids equal NumPy's.

``--kill``: afterwards the server is killed with SIGKILL right after an unflushed upsert of
``--unflushed`` new rows, restarted on the same data folder and port, and the time until a count
answers (the store waits for the "Loading" collections, ``SHOPFUSE_MILVUS_WAIT``) and the rows that
came back are recorded.

Run::

    python benchmarks/milvus_server.py --rows 100000 --kill     # several minutes on the 2-core box

Results: a table on stdout and ``benchmarks/results/milvus_server.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import latency_ms, peak_rss_mib, print_table, rate, top_k, write_results

from shopfuse.encoders.base import EncoderInfo
from shopfuse.store import milvus_server
from shopfuse.store.base import Record
from shopfuse.store.lance import LanceStore
from shopfuse.store.milvus import MilvusStore
from shopfuse.types import Product

NAME = "milvus_server"
GENDERS = ("Women", "Men", "Unisex")
WHERE = "gender = 'Women'"


def make_data(rows: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Clustered unit vectors and a gender per row."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, rows)] + rng.normal(size=(rows, dim)).astype(np.float32) * 0.6
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    genders = [GENDERS[i] for i in rng.integers(0, 3, rows)]
    return vectors, genders


def fill(store: Any, vectors: np.ndarray, genders: list[str], start: int = 0, batch: int = 5000) -> float:
    """Upsert every row in batches; returns seconds."""
    began = time.perf_counter()
    for lo in range(0, len(vectors), batch):
        records = [
            Record(
                Product(id=f"p{start + i}", title=f"product {start + i}", attributes={"gender": genders[i]}),
                f"h{start + i}",
                {"image": vectors[i]},
            )
            for i in range(lo, min(lo + batch, len(vectors)))
        ]
        store.upsert(records)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kill", action="store_true", help="measure recovery after kill -9")
    parser.add_argument("--unflushed", type=int, default=1000)
    parser.add_argument("--restart-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    info = EncoderInfo("synthetic", "1", args.dim, "space-synthetic")
    vectors, genders = make_data(args.rows, args.dim, args.clusters, args.seed)
    women = np.array([g == "Women" for g in genders])
    rng = np.random.default_rng(args.seed + 1)
    queries = (
        vectors[rng.integers(0, args.rows, args.queries)] + rng.normal(size=(args.queries, args.dim)) * 0.1
    )
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)

    with tempfile.TemporaryDirectory(prefix="shopfuse-bench-milvus-") as tmp:
        started = time.perf_counter()
        server = milvus_server.start(Path(tmp) / "milvus")
        startup_s = time.perf_counter() - started
        uri = f"milvus://{server.address}/bench"
        try:
            stores: dict[str, Any] = {
                "milvus-server": MilvusStore.create(uri, {"image": info}),
                "lance": LanceStore.create(Path(tmp) / "lance", {"image": info}),
            }
            results: dict[str, Any] = {"server_startup_s": round(startup_s, 1), "stores": {}}
            for name, store in stores.items():
                seconds = fill(store, vectors, genders)
                began = time.perf_counter()
                store.optimize()
                results["stores"][name] = {
                    "insert_rows_per_s": rate(args.rows, seconds),
                    "optimize_s": round(time.perf_counter() - began, 1),
                }
            timings: dict[str, dict[str, list[float]]] = {n: {"plain": [], "filtered": []} for n in stores}
            agree: dict[str, dict[str, int]] = {n: {"plain": 0, "filtered": 0} for n in stores}
            for q in queries:
                scores = vectors @ q
                expected = {
                    "plain": {f"p{i}" for i in top_k(scores, 10)},
                    "filtered": {f"p{i}" for i in top_k(np.where(women, scores, -np.inf), 10)},
                }
                for name, store in stores.items():
                    for kind, where in (("plain", None), ("filtered", WHERE)):
                        began = time.perf_counter()
                        hits = store.search("image", q, encoder=info, k=10, where=where)
                        timings[name][kind].append(time.perf_counter() - began)
                        agree[name][kind] += {h.id for h in hits} == expected[kind]
            for name in stores:
                for kind in ("plain", "filtered"):
                    results["stores"][name][kind] = {
                        **latency_ms(timings[name][kind]),
                        "agree": f"{agree[name][kind]}/{args.queries}",
                    }
            if args.kill:
                results["kill_9"] = kill_and_recover(server, uri, stores["milvus-server"], args, info)
            results["peak_rss_mib_client"] = round(peak_rss_mib(), 0)
        finally:
            server.kill()
    rows = [
        [n, r["insert_rows_per_s"], r["plain"]["p50_ms"], r["plain"]["p99_ms"], r["plain"]["agree"],
         r["filtered"]["p50_ms"], r["filtered"]["p99_ms"], r["filtered"]["agree"]]
        for n, r in results["stores"].items()
    ]  # fmt: skip
    headers = ["store", "rows/s", "p50", "p99", "agree", "filtered p50", "filtered p99", "agree"]
    print_table(f"{args.rows} products, {args.dim}-d, k=10 (ms)", headers, rows)
    if "kill_9" in results:
        print("kill -9:", results["kill_9"])
    write_results(NAME, vars(args), results)


def kill_and_recover(
    server: milvus_server.MilvusServer,
    uri: str,
    store: MilvusStore,
    args: argparse.Namespace,
    info: EncoderInfo,
) -> dict[str, Any]:
    """SIGKILL right after an unflushed upsert; restart on the same folder and port; time the recovery."""
    vectors, genders = make_data(args.unflushed, args.dim, args.clusters, args.seed + 2)
    fill(store, vectors, genders, start=args.rows)
    before = store.count()
    store.close()
    server.kill()
    began = time.perf_counter()
    try:
        restarted = milvus_server.start(server.data, port=server.port, timeout=args.restart_timeout)
    except (TimeoutError, RuntimeError) as exc:  # recorded: what a restart after kill -9 did here
        return {"rows_before_kill": before, "restart_error": str(exc)[:300]}
    server.process = restarted.process
    started_s = time.perf_counter() - began
    os.environ.setdefault("SHOPFUSE_MILVUS_WAIT", "300")
    reopened = MilvusStore(uri)  # waits while the collections load (code 101)
    after = reopened.count()
    answered_s = time.perf_counter() - began
    hits = reopened.search("image", vectors[0], encoder=info, k=1)
    reopened.close()
    return {
        "rows_before_kill": before,
        "rows_after_restart": after,
        "unflushed_rows_written": args.unflushed,
        "restart_healthy_s": round(started_s, 1),
        "first_answer_s": round(answered_s, 1),
        "last_unflushed_row_found": bool(hits and hits[0].id == f"p{args.rows}"),
    }


if __name__ == "__main__":
    main()
