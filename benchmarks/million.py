"""One million products: ingest, index build, memory, p50/p99, recall@10; Lance store and Milvus 2.3 server.

Issue 20, part 4. One run, both stores filled with the same ``--rows`` products:

* Vectors: **real** product vectors replicated with noise. The ``--column`` vectors (default
  ``product``, the 256-d fused model vector of photo and text) of every product in
  ``--source`` (``/tmp/demo-store``, opened read-only with ``open_store``; 703 real fashion
  products) are repeated to ``--rows`` rows, each copy plus Gaussian noise N(0, noise^2/dim) per
  coordinate (``--noise``), normalised. Queries are fresh noisy draws of random real products
  (not in the data).
* Attributes: each copy keeps its source product's real ``gender``/``articleType``/``baseColour``
  from ``/work/shared/data/fashion-products/metadata.csv``; titles are generated from them.
* Insert: ``VectorStore.upsert`` in batches of ``--batch`` records (each store's own public API,
  no bulk-load side path), then ``optimize()``.
* Lance store: ``AnnSettings(kind="ivf")`` (FAISS IVF-Flat in memory, nlist ``4*sqrt(rows)``,
  ``--lance-nprobe``), built on the first unfiltered search (timed as "index build"); filtered
  searches stay exact in the Lance store (the scores are masked by the filter). Memory: this
  process's resident-set growth from before the store was made to after the index was built.
* Milvus: a real ``milvus-server`` 2.3.5 (``shopfuse.store.milvus_server``: every port free, so
  it runs beside the test suite's; split layout), ``AnnSettings(kind="ivf",
  nlist=--milvus-nlist)`` = IVF_FLAT, searches at ``--milvus-consistency`` (the store's default,
  ``session``), ``--milvus-filterable`` attributes as real VARCHAR fields (default: the three
  catalogue attributes; ``""``: filters parse each row's JSON); filtered searches widen
  ``nprobe`` by the filter's share (the store's own rule); index build = from the flush
  until ``describe_index`` says every row is indexed; memory: resident set of every process in
  the server's process group (``/proc``), before and after.
* Search: ``--queries`` (200) single queries, k=10, without and with ``--where``; recall@10 against
  exact NumPy brute force over the same matrix (in chunks, one BLAS thread); for Milvus an
  ``nprobe`` sweep (``--milvus-nprobe``).

Run under ``nice``, one BLAS thread (the box is shared with CI)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 19 python benchmarks/million.py --rows 1000000
    nice -n 19 python benchmarks/million.py --rows 20000 --queries 20 --name million_smoke   # a quick look

Results: tables on stdout and ``benchmarks/results/million.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import latency_ms, peak_rss_mib, print_table, rate, write_results
from threadpoolctl import threadpool_limits

from shopfuse.config import AnnSettings
from shopfuse.encoders.base import EncoderInfo
from shopfuse.store import milvus_server
from shopfuse.store.base import Record
from shopfuse.store.lance import LanceStore
from shopfuse.store.locate import open_store
from shopfuse.store.milvus import MilvusStore, column_collection, vector_field
from shopfuse.types import Product

NAME = "million"
K = 10
METADATA = Path("/work/shared/data/fashion-products/metadata.csv")
ATTRIBUTES = ("gender", "articleType", "baseColour")


def rss_mib(pids: list[int]) -> float:
    """Summed resident memory of ``pids`` in MiB (``VmRSS`` from ``/proc``)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def group_pids(pgid: int) -> list[int]:
    """Process ids in process group ``pgid``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = entry.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                found.append(int(entry.parent.name))
    return found


def source_data(source: str, column: str) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Real vectors of ``column`` in the store at ``source`` and each product's catalogue attributes."""
    store = open_store(source)
    ids, matrix = store.vectors(column)
    catalogue: dict[str, dict[str, str]] = {}
    with METADATA.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            catalogue[row["id"]] = {a: row[a] for a in ATTRIBUTES}
    combos = list(catalogue.values())
    rng = np.random.default_rng(1)
    attrs = [catalogue.get(i) or combos[int(rng.integers(len(combos)))] for i in ids]
    return np.asarray(matrix, dtype=np.float32), attrs


def replicate(real: np.ndarray, sources: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``real[sources]`` plus Gaussian noise, normalised (in chunks)."""
    dim = real.shape[1]
    out = np.empty((len(sources), dim), dtype=np.float32)
    for lo in range(0, len(sources), 100_000):
        part = sources[lo : lo + 100_000]
        block = real[part] + rng.standard_normal((len(part), dim), dtype=np.float32) * np.float32(
            noise / np.sqrt(dim)
        )
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[lo : lo + len(part)] = block
    return out


def filter_mask(where: str, attrs: list[dict[str, str]]) -> np.ndarray:
    """Which real products match ``where``, evaluated by the stores' own filter reader (Arrow)."""
    import pyarrow as pa
    from pyarrow.dataset import dataset

    from shopfuse.store.filters import parse_filter, store_fields, to_arrow

    table = pa.table({name: [a[name] for a in attrs] for name in ATTRIBUTES})
    tree = parse_filter(where, store_fields(dict.fromkeys(ATTRIBUTES, "string")))
    keep = dataset(table).to_table(columns={"keep": to_arrow(tree, table.column_names)}).column("keep")
    return np.asarray(keep.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def exact_top(data: np.ndarray, queries: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Exact top-10 rows per query by inner product (NumPy, 100k-row chunks), among ``mask`` rows."""
    best_s = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_i = np.full((len(queries), K), -1, dtype=np.int64)
    for lo in range(0, len(data), 100_000):
        scores = queries @ data[lo : lo + 100_000].T
        if mask is not None:
            scores[:, ~mask[lo : lo + 100_000]] = -np.inf
        top = np.argpartition(-scores, K - 1, axis=1)[:, :K]
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + lo], axis=1)
        order = np.argsort(-cand_s, axis=1, kind="stable")[:, :K]
        best_s, best_i = np.take_along_axis(cand_s, order, 1), np.take_along_axis(cand_i, order, 1)
    return best_i


def fill(store: Any, data: np.ndarray, attrs: list[dict[str, str]], sources: np.ndarray, batch: int) -> float:
    """Upsert every row through ``store.upsert`` in batches; returns seconds."""
    began = time.perf_counter()
    for lo in range(0, len(data), batch):
        records = []
        for i in range(lo, min(lo + batch, len(data))):
            a = attrs[sources[i]]
            title = f"{a['baseColour']} {a['articleType']} for {a['gender']} #{i}"
            product = Product(id=f"p{i}", title=title, attributes=dict(a))
            records.append(Record(product, f"h{i}", {"v": data[i]}))
        store.upsert(records)
        if lo // batch % 20 == 0:
            print(f"    {lo + len(records)} rows, {time.perf_counter() - began:.0f} s", flush=True)
    return time.perf_counter() - began


def measure(
    store: Any, info: EncoderInfo, queries: np.ndarray, truth: np.ndarray, where: str | None, **knobs: Any
) -> dict[str, Any]:
    """Single-query latency and recall@10 of ``store.search`` over ``queries``."""
    seconds, found = [], []
    for q in queries:
        began = time.perf_counter()
        hits = store.search("v", q, encoder=info, k=K, where=where, **knobs)
        seconds.append(time.perf_counter() - began)
        found.append({int(h.id[1:]) for h in hits})
    recall = np.mean([len(f & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)])
    return {**latency_ms(seconds), "recall@10": round(float(recall), 4)}


def wait_indexed(store: MilvusStore, rows: int, timeout: float) -> dict[str, Any]:
    """Poll the vector collection's index until every row is indexed (or ``timeout``)."""
    client: Any = store._client
    name = column_collection(store.location, "v") if store.layout == "split" else store.location.collection
    began = time.perf_counter()
    last: dict[str, Any] = {}
    while time.perf_counter() - began < timeout:
        try:
            last = dict(client.describe_index(name, vector_field("v")))
        except Exception as exc:  # pymilvus errors while the index is being made
            last = {"error": str(exc)[:200]}
        if int(last.get("indexed_rows", 0)) >= rows and int(last.get("pending_index_rows", 0)) == 0:
            break
        time.sleep(2)
    keep = ("index_type", "indexed_rows", "total_rows", "pending_index_rows", "state", "nlist", "error")
    return {"waited_s": round(time.perf_counter() - began, 1), **{k: last[k] for k in keep if k in last}}


def raw_bounded(store: MilvusStore, queries: np.ndarray, truth: np.ndarray, nprobe: int) -> dict[str, Any]:
    """Diagnostic, not the store API: the same IVF search from pymilvus with Bounded consistency, ids only.

    The floor a store search (``--milvus-consistency``, ``session`` by default; ``strong`` waits
    for the server's time tick, ~200 ms) can reach, without fetching the rows' fields.
    """
    client: Any = store._client
    name = column_collection(store.location, "v") if store.layout == "split" else store.location.collection
    seconds, found = [], []
    try:
        for q in queries:
            began = time.perf_counter()
            res = client.search(
                name,
                data=[q.tolist()],
                anns_field=vector_field("v"),
                limit=K,
                output_fields=["id"],
                search_params={"metric_type": "IP", "params": {"nprobe": nprobe}},
                consistency_level="Bounded",
            )
            seconds.append(time.perf_counter() - began)
            found.append({int(h["id"][1:]) for h in res[0]})
    except Exception as exc:  # pymilvus errors: recorded, the benchmark goes on
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    recall = np.mean([len(f & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)])
    return {"nprobe": nprobe, **latency_ms(seconds), "recall@10": round(float(recall), 4)}


def run_lance(args: argparse.Namespace, ctx: dict[str, Any], root: Path) -> dict[str, Any]:
    """The Lance store with IVF settings."""
    info, data = ctx["info"], ctx["data"]
    gc.collect()
    before = rss_mib([os.getpid()])
    settings = AnnSettings(kind=args.lance_kind, nprobe=args.lance_nprobe)
    store = LanceStore.create(root / "lance", {"v": info}, ann=settings)
    print("lance: ingest", flush=True)
    ingest_s = fill(store, data, ctx["attrs"], ctx["sources"], args.batch)
    began = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - began
    after_ingest = rss_mib([os.getpid()])
    began = time.perf_counter()
    store.search("v", ctx["queries"][0], encoder=info, k=K)  # loads the matrix and builds the index
    build_s = time.perf_counter() - began
    after_index = rss_mib([os.getpid()])
    index = store._ann["v"][1]
    out: dict[str, Any] = {
        "index": (
            f"IVF{index.index.nlist},Flat (FAISS, in memory), nprobe {args.lance_nprobe}"
            if args.lance_kind == "ivf"
            else f"HNSW{settings.m},Flat (FAISS, in memory), efConstruction {settings.ef_construction}, "
            f"efSearch {settings.ef_search}"
        ),
        "ingest_s": round(ingest_s, 1),
        "ingest_rows_per_s": rate(args.rows, ingest_s),
        "optimize_s": round(optimize_s, 1),
        "index_build_s": round(build_s, 1),
        "index_build_note": "first unfiltered search: loads the vector matrix and builds the FAISS index",
        "rss_before_mib": before,
        "rss_after_ingest_mib": after_ingest,
        "rss_after_index_mib": after_index,
        "memory_added_mib": round(after_index - before, 1),
        "faiss_index_mib": round(index.memory_bytes() / 2**20, 1),
        "disk_mib": round(sum(f.stat().st_size for f in (root / "lance").rglob("*") if f.is_file()) / 2**20),
    }
    print("lance: search", flush=True)
    out["unfiltered"] = measure(store, info, ctx["queries"], ctx["truth"], None)
    fq = ctx["queries"][: args.filtered_queries]
    for label, f in ctx["filters"].items():
        out[f"filtered_{label}"] = measure(store, info, fq, f["truth"], f["where"])
        out[f"filtered_{label}"]["path"] = "IVF over the clusters holding matches"
    del store
    gc.collect()
    return out


def run_milvus(args: argparse.Namespace, ctx: dict[str, Any], root: Path) -> dict[str, Any]:
    """A real Milvus 2.3 server with IVF_FLAT; the server is killed (its process group) at the end."""
    info, data = ctx["info"], ctx["data"]
    began = time.perf_counter()
    server = milvus_server.start(root / "milvus")
    out: dict[str, Any] = {"server_startup_s": round(time.perf_counter() - began, 1)}
    try:
        pgid = server.process.pid

        def server_rss() -> float:
            return rss_mib(sorted(set(group_pids(pgid)) | set(server.binaries())))

        out["server_rss_empty_mib"] = server_rss()
        settings = AnnSettings(kind="ivf", nlist=args.milvus_nlist, nprobe=args.milvus_nprobe[0])
        filterable = [a for a in args.milvus_filterable.split(",") if a]
        store = MilvusStore.create(
            f"milvus://{server.address}/million",
            {"v": info},
            ann=settings,
            consistency=args.milvus_consistency,
            filterable=filterable,
        )
        out["layout"] = store.layout
        out["consistency"] = store.consistency
        out["filterable"] = filterable
        out["filtered_nprobe_rule"] = "nprobe / filter share (count(*), cached), all lists when it is small"
        out["index"] = f"IVF_FLAT nlist {args.milvus_nlist}"
        print("milvus: ingest", flush=True)
        ingest_s = fill(store, data, ctx["attrs"], ctx["sources"], args.batch)
        out["ingest_s"] = round(ingest_s, 1)
        out["ingest_rows_per_s"] = rate(args.rows, ingest_s)
        out["server_rss_after_ingest_mib"] = server_rss()
        began = time.perf_counter()
        store.optimize()  # flush (seals the segments, which starts their index builds) and compact
        out["flush_s"] = round(time.perf_counter() - began, 1)
        out["index_wait"] = wait_indexed(store, args.rows, args.index_timeout)
        out["index_build_s"] = round(time.perf_counter() - began, 1)
        out["index_build_note"] = "from the flush until describe_index reports every row indexed"
        print("milvus: search", flush=True)
        measure(store, info, ctx["queries"][:5], ctx["truth"][:5], None)  # warm-up
        out["server_rss_after_index_mib"] = server_rss()
        out["memory_added_mib"] = round(out["server_rss_after_index_mib"] - out["server_rss_empty_mib"], 1)
        out["sweep"] = []
        fq = ctx["queries"][: args.filtered_queries]
        for nprobe in args.milvus_nprobe:
            row = {
                "nprobe": nprobe,
                "unfiltered": measure(store, info, ctx["queries"], ctx["truth"], None, nprobe=nprobe),
                **{
                    f"filtered_{label}": measure(store, info, fq, f["truth"], f["where"], nprobe=nprobe)
                    for label, f in ctx["filters"].items()
                },
            }
            print(f"  milvus nprobe {nprobe}: {row}", flush=True)
            out["sweep"].append(row)
        out["raw_client_bounded"] = raw_bounded(store, ctx["queries"], ctx["truth"], args.milvus_nprobe[0])
        out["server_rss_end_mib"] = server_rss()
        store.close()
    finally:
        server.kill()
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="products (1,000,000)")
    parser.add_argument("--source", default="/tmp/demo-store", help="store with the real vectors (read only)")
    parser.add_argument("--column", default="product", help="vector column to replicate (product)")
    parser.add_argument("--noise", type=float, default=0.5, help="noise length over vector length (0.5)")
    parser.add_argument("--queries", type=int, default=200, help="queries, unfiltered (200)")
    parser.add_argument("--filtered-queries", type=int, default=200, help="queries, filtered (200)")
    narrow = "gender = 'Women' AND articleType = 'Tshirts'"
    parser.add_argument("--where", default=narrow, help="narrow filter")
    parser.add_argument("--broad-where", default="gender = 'Women'", help="broad filter")
    parser.add_argument("--batch", type=int, default=10_000, help="records per upsert (10,000)")
    parser.add_argument("--lance-kind", choices=["ivf", "hnsw"], default="ivf", help="Lance's FAISS index")
    parser.add_argument("--lance-nprobe", type=int, default=16)
    parser.add_argument("--milvus-nlist", type=int, default=1024)
    parser.add_argument("--milvus-nprobe", default="16,64", help="Milvus nprobe sweep (16,64)")
    parser.add_argument("--index-timeout", type=float, default=900.0, help="Milvus index wait, s")
    parser.add_argument("--milvus-consistency", default="session", help="Milvus search consistency")
    parser.add_argument("--milvus-filterable", default=",".join(ATTRIBUTES), help="VARCHAR attributes")
    parser.add_argument("--stores", default="lance,milvus")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.milvus_nprobe = [int(v) for v in args.milvus_nprobe.split(",")]
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    return args


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    real, attrs = source_data(args.source, args.column)
    began = time.perf_counter()
    sources = rng.integers(0, len(real), args.rows)
    data = replicate(real, sources, args.noise, rng)
    qsources = rng.integers(0, len(real), args.queries)
    queries = replicate(real, qsources, args.noise, rng)
    fq = queries[: args.filtered_queries]
    truth = exact_top(data, queries, None)
    filters = {}
    for label, where in (("narrow", args.where), ("broad", args.broad_where)):
        mask = filter_mask(where, attrs)[sources]
        filters[label] = {"where": where, "share": float(mask.mean()), "truth": exact_top(data, fq, mask)}
    prep_s = time.perf_counter() - began
    print(f"{args.rows} x {real.shape[1]} vectors and exact top-10 in {prep_s:.0f} s", flush=True)
    info = EncoderInfo("replicated", "1", real.shape[1], f"replicated-{args.column}")
    ctx = {"info": info, "data": data, "attrs": attrs, "sources": sources, "queries": queries,
           "truth": truth, "filters": filters}  # fmt: skip
    results: dict[str, Any] = {
        "data": {
            "rows": args.rows,
            "dim": int(real.shape[1]),
            "real_products": len(real),
            "vectors": f"real '{args.column}' vectors of {len(real)} products in {args.source}, "
            "each copy plus "
            f"N(0, {args.noise}^2/dim) noise, normalised: replicated, not {args.rows} distinct photos",
            "attributes": "each copy keeps its source product's real gender/articleType/baseColour "
            "(metadata.csv)",
            "filters": {k: {"where": f["where"], "share": round(f["share"], 4)} for k, f in filters.items()},
            "prepare_and_ground_truth_s": round(prep_s, 1),
            "insert_path": "VectorStore.upsert in batches of --batch records, then optimize()",
        },
        "stores": {},
    }
    with tempfile.TemporaryDirectory(prefix="shopfuse-bench-million-") as tmp:
        if "lance" in args.stores:
            results["stores"]["lance"] = run_lance(args, ctx, Path(tmp))
        if "milvus" in args.stores:
            results["stores"]["milvus-server"] = run_milvus(args, ctx, Path(tmp))
    rows = []
    lance = results["stores"].get("lance")
    if lance:
        u, f, b = lance["unfiltered"], lance["filtered_narrow"], lance["filtered_broad"]
        rows.append(["lance " + lance["index"], lance["ingest_rows_per_s"], lance["index_build_s"],
                     lance["memory_added_mib"], u["recall@10"], u["p50_ms"], u["p99_ms"], f["recall@10"],
                     f["p50_ms"], f["p99_ms"], b["recall@10"], b["p50_ms"], b["p99_ms"]])  # fmt: skip
    milvus = results["stores"].get("milvus-server")
    if milvus:
        for r in milvus["sweep"]:
            rows.append([f"milvus {milvus['index']} nprobe {r['nprobe']}", milvus["ingest_rows_per_s"],
                         milvus["index_build_s"], milvus["memory_added_mib"], r["unfiltered"]["recall@10"],
                         r["unfiltered"]["p50_ms"], r["unfiltered"]["p99_ms"],
                         r["filtered_narrow"]["recall@10"], r["filtered_narrow"]["p50_ms"],
                         r["filtered_narrow"]["p99_ms"], r["filtered_broad"]["recall@10"],
                         r["filtered_broad"]["p50_ms"], r["filtered_broad"]["p99_ms"]])  # fmt: skip
    headers = ["store", "rows/s", "build s", "MiB", "recall", "p50", "p99", "narrow recall", "p50", "p99"]
    print_table(
        f"{args.rows} products x {real.shape[1]}-d, k={K} (ms; MiB)",
        [*headers, "broad recall", "p50", "p99"],
        rows,
    )
    results["peak_rss_mib_client"] = round(peak_rss_mib())
    write_results(args.name, vars(args), results)


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
