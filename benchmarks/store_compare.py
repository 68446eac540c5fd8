"""Embedded vector stores on random unit vectors: insert speed, search latency, exactness.

Backends (``--backends``, all by default):

* ``lance-store``: shopfuse's own ``LanceStore`` (``upsert`` batches, ``optimize``, then
  ``search``: in-memory matrix scores, the Lance filter scan, fetching the hits' fields);
* ``lance-flat``: a plain LanceDB table (``create_table``/``add``, ``optimize``) searched by Lance
  itself, ``tbl.search(q, vector_column_name=...).distance_type("dot")``, brute force;
* ``milvus``: Milvus Lite through ``pymilvus.MilvusClient`` on a local path, FLAT index with
  inner product, searched after ``flush``;
* ``numpy``: ``X @ q`` plus ``argpartition``, the exact reference (no insert).

For each size in ``--sizes``: ``--dim``-d float32 unit vectors with a ``gender`` string column
(Women/Men/Unisex at random) are inserted in ``--batch`` rows per call, the data prepared
beforehand in each store's input format; "finish" is ``optimize`` (Lance) or ``flush`` (Milvus)
and counts in rows/s. Then ``--queries`` random unit queries, k = ``--k``, run without and with
the string-equality filter ``gender = 'Women'``; backends take turns query by query so all see
the same load, after ``--warmup`` untimed queries each. "agree" counts queries whose top-k id
set equals NumPy's. Peak RSS (``ru_maxrss``) is cumulative over the run.

Run::

    python benchmarks/store_compare.py                           # 10k vectors, a minute or two
    python benchmarks/store_compare.py --sizes 10000,100000      # adds 100k: several minutes

Results: a table on stdout and ``benchmarks/results/store_compare.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
from _common import dir_size_mib, latency_ms, peak_rss_mib, print_table, rate, top_k, write_results

from shopfuse.encoders.base import EncoderInfo
from shopfuse.store.base import Record
from shopfuse.store.lance import LanceStore
from shopfuse.types import Product

NAME = "store_compare"
BACKENDS = ("lance-store", "lance-flat", "milvus", "numpy")
GENDERS = ("Women", "Men", "Unisex")
FILTER_VALUE = "Women"


class Backend(Protocol):
    """A store under test: load rows, then answer top-k queries with an optional filter."""

    name: str

    def insert(self, ids: list[str], genders: list[str], vectors: np.ndarray, batch: int) -> float:
        """Write every row; returns the seconds spent in the store's write calls."""
        ...

    def finish(self) -> None:
        """Make the written rows fast to search (compaction, flush)."""
        ...

    def search(self, query: np.ndarray, k: int, filtered: bool) -> list[str]:
        """Ids of the top ``k`` by inner product, among rows of ``FILTER_VALUE`` if ``filtered``."""
        ...

    def disk_mib(self) -> float | None:
        """Disk use, or ``None`` for an in-memory backend."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class LanceStoreBackend:
    """shopfuse's ``LanceStore`` through its public methods."""

    name = "lance-store"

    def __init__(self, root: Path, dim: int) -> None:
        self.root = root
        self.info = EncoderInfo("random", "1", dim, f"random-unit-{dim}")
        self.store = LanceStore.create(root, {"vec": self.info})

    def insert(self, ids: list[str], genders: list[str], vectors: np.ndarray, batch: int) -> float:
        records = [
            Record(Product(id=i, attributes={"gender": g}), content_hash=i, vectors={"vec": v})
            for i, g, v in zip(ids, genders, vectors, strict=True)
        ]
        started = time.perf_counter()
        for start in range(0, len(records), batch):
            self.store.upsert(records[start : start + batch])
        return time.perf_counter() - started

    def finish(self) -> None:
        self.store.optimize()

    def search(self, query: np.ndarray, k: int, filtered: bool) -> list[str]:
        where = f"gender = '{FILTER_VALUE}'" if filtered else None
        return [h.id for h in self.store.search("vec", query, encoder=self.info, k=k, where=where)]

    def disk_mib(self) -> float | None:
        return dir_size_mib(self.root)

    def close(self) -> None:
        del self.store


class LanceFlatBackend:
    """A plain LanceDB table searched by Lance's brute-force vector search."""

    name = "lance-flat"

    def __init__(self, root: Path, dim: int) -> None:
        import lancedb

        self.root = root
        self.db = lancedb.connect(str(root))
        self.dim = dim
        self.table: Any = None

    def insert(self, ids: list[str], genders: list[str], vectors: np.ndarray, batch: int) -> float:
        schema = pa.schema(
            [
                pa.field("id", pa.string(), nullable=False),
                pa.field("gender", pa.string()),
                pa.field("vec", pa.list_(pa.float32(), self.dim)),
            ]
        )
        batches = [
            pa.table(
                [
                    pa.array(ids[s : s + batch]),
                    pa.array(genders[s : s + batch]),
                    pa.FixedSizeListArray.from_arrays(pa.array(vectors[s : s + batch].ravel()), self.dim),
                ],
                schema=schema,
            )
            for s in range(0, len(ids), batch)
        ]
        started = time.perf_counter()
        self.table = self.db.create_table("products", batches[0])
        for table in batches[1:]:
            self.table.add(table)
        return time.perf_counter() - started

    def finish(self) -> None:
        self.table.optimize()

    def search(self, query: np.ndarray, k: int, filtered: bool) -> list[str]:
        search = self.table.search(query, vector_column_name="vec").distance_type("dot")
        if filtered:
            search = search.where(f"gender = '{FILTER_VALUE}'", prefilter=True)
        return search.limit(k).select(["id", "_distance"]).to_arrow().column("id").to_pylist()

    def disk_mib(self) -> float | None:
        return dir_size_mib(self.root)

    def close(self) -> None:
        self.table = None


class MilvusBackend:
    """Milvus Lite on a local path: FLAT index, inner product."""

    name = "milvus"

    def __init__(self, root: Path, dim: int) -> None:
        from pymilvus import DataType, MilvusClient

        root.mkdir(parents=True)
        self.root = root
        self.client = MilvusClient(str(root / "milvus.db"))
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("gender", DataType.VARCHAR, max_length=32)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        index = self.client.prepare_index_params()
        index.add_index("vec", index_type="FLAT", metric_type="IP")
        self.client.create_collection("products", schema=schema, index_params=index)

    def insert(self, ids: list[str], genders: list[str], vectors: np.ndarray, batch: int) -> float:
        rows = [{"id": i, "gender": g, "vec": v} for i, g, v in zip(ids, genders, vectors, strict=True)]
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            self.client.insert("products", rows[start : start + batch])
        return time.perf_counter() - started

    def finish(self) -> None:
        self.client.flush("products")

    def search(self, query: np.ndarray, k: int, filtered: bool) -> list[str]:
        found = self.client.search(
            "products",
            data=[query],
            anns_field="vec",
            limit=k,
            filter=f"gender == '{FILTER_VALUE}'" if filtered else "",
            output_fields=["id"],
            search_params={"metric_type": "IP"},
        )
        return [hit["id"] for hit in found[0]]

    def disk_mib(self) -> float | None:
        return dir_size_mib(self.root)

    def close(self) -> None:
        self.client.close()


class NumpyBackend:
    """The exact reference: a matrix product and a partial sort, filter as a boolean mask."""

    name = "numpy"

    def __init__(self, root: Path, dim: int) -> None:
        self.ids = np.zeros(0, dtype=object)
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.mask = np.zeros(0, dtype=bool)

    def insert(self, ids: list[str], genders: list[str], vectors: np.ndarray, batch: int) -> float:
        started = time.perf_counter()
        self.ids = np.asarray(ids, dtype=object)
        self.matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self.mask = np.asarray(genders) == FILTER_VALUE
        return time.perf_counter() - started

    def finish(self) -> None:
        """Nothing to do: the matrix is searchable as soon as it exists."""

    def search(self, query: np.ndarray, k: int, filtered: bool) -> list[str]:
        scores = self.matrix @ query
        if filtered:
            scores = np.where(self.mask, scores, -np.inf)
        return self.ids[top_k(scores, k)].tolist()

    def disk_mib(self) -> float | None:
        return None

    def close(self) -> None:
        self.matrix = np.zeros((0, self.matrix.shape[1]), dtype=np.float32)


FACTORIES: dict[str, Callable[[Path, int], Backend]] = {
    "lance-store": LanceStoreBackend,
    "lance-flat": LanceFlatBackend,
    "milvus": MilvusBackend,
    "numpy": NumpyBackend,
}


def unit_vectors(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Random float32 vectors of length 1."""
    x = rng.standard_normal((count, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000", help="comma-separated row counts (10000)")
    parser.add_argument("--dim", type=int, default=512, help="vector dimension (512)")
    parser.add_argument("--queries", type=int, default=100, help="timed queries per mode (100)")
    parser.add_argument("--k", type=int, default=10, help="results per query (10)")
    parser.add_argument("--batch", type=int, default=1000, help="rows per insert call (1000)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed queries first (3)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=0, help="random data seed")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(args.backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {list(BACKENDS)}")
    if "numpy" not in args.backends:
        args.backends.append("numpy")  # the reference for agreement
    if min([args.dim, args.queries, args.k, args.batch, *args.sizes]) < 1 or args.warmup < 0:
        parser.error("sizes, --dim, --queries, --k and --batch must be at least 1")
    return args


def run_size(args: argparse.Namespace, size: int, root: Path) -> list[dict[str, Any]]:
    """Load ``size`` rows into every backend, then time the same queries on each."""
    rng = np.random.default_rng(args.seed)
    vectors = unit_vectors(size, args.dim, rng)
    genders = rng.choice(GENDERS, size).tolist()
    ids = [f"p{i}" for i in range(size)]
    queries = unit_vectors(args.warmup + args.queries, args.dim, rng)

    backends: list[Backend] = []
    rows: dict[str, dict[str, Any]] = {}
    for name in args.backends:
        backend = FACTORIES[name](root / f"{name}-{size}", args.dim)
        insert_s = backend.insert(ids, genders, vectors, args.batch)
        started = time.perf_counter()
        backend.finish()
        finish_s = time.perf_counter() - started
        backends.append(backend)
        rows[name] = {
            "backend": name,
            "rows": size,
            "insert_s": round(insert_s, 3),
            "finish_s": round(finish_s, 3),
            "rows_per_s": None if name == "numpy" else rate(size, insert_s + finish_s),
            "disk_mib": backend.disk_mib(),
        }
    for filtered in (False, True):
        key = "filtered" if filtered else "unfiltered"
        seconds: dict[str, list[float]] = {b.name: [] for b in backends}
        agree = dict.fromkeys(seconds, 0)
        for n, query in enumerate(queries):
            found = {}
            for backend in backends:
                started = time.perf_counter()
                found[backend.name] = backend.search(query, args.k, filtered)
                if n >= args.warmup:
                    seconds[backend.name].append(time.perf_counter() - started)
            if n >= args.warmup:
                for name, hits in found.items():
                    agree[name] += set(hits) == set(found["numpy"])
        for name in seconds:
            rows[name][key] = {**latency_ms(seconds[name]), "agree": agree[name]}
    for backend in backends:
        rows[backend.name]["peak_rss_mib"] = round(peak_rss_mib())
        backend.close()
    return list(rows.values())


def main() -> None:
    args = parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="shopfuse-bench-stores-") as tmp:
        for size in args.sizes:
            print(f"{size} rows x {args.dim}-d: inserting into {', '.join(args.backends)} ...")
            results += run_size(args, size, Path(tmp))
    filter_label = f"gender = '{FILTER_VALUE}'"
    print_table(
        f"Store comparison: {args.dim}-d unit vectors, k={args.k}, {args.queries} queries, "
        f"insert batches of {args.batch} (search ms; agree = top-k set equals NumPy's)",
        ["backend", "rows", "insert rows/s", "finish s", "disk MiB", "p50", "p99", "agree",
         "p50 filt", "p99 filt", "agree filt"],
        [
            [r["backend"], r["rows"], r["rows_per_s"], r["finish_s"], r["disk_mib"],
             r["unfiltered"]["p50_ms"], r["unfiltered"]["p99_ms"], r["unfiltered"]["agree"],
             r["filtered"]["p50_ms"], r["filtered"]["p99_ms"], r["filtered"]["agree"]]
            for r in results
        ],
    )  # fmt: skip
    print(
        f"\n'filt' columns search with the filter {filter_label}. 'finish' is optimize (Lance) "
        "or flush (Milvus) and is included in rows/s. "
        "lance-store search includes fetching the hits' stored fields. "
        "For 100k rows as well: python benchmarks/store_compare.py --sizes 10000,100000"
    )
    write_results(NAME, vars(args), {"rows": results, "peak_rss_mib": round(peak_rss_mib())})


if __name__ == "__main__":
    main()
