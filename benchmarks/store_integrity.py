"""What finding damage costs: the integrity bookkeeping per commit, opening a store, and ``check``.

A Lance store is filled like ``shopfuse ingest`` fills it: ``--batch`` products per commit, each
with a 512-d text, a 1,294-d image and a 512-d OCR unit vector (the default encoders' widths) and
a title and description. Per commit, "bookkeeping" is the time spent recording the new files'
sizes and SHA-256 (:meth:`TableIntegrity.committed`) and "upsert" the whole commit including it.
Then ``optimize`` (which hashes the compacted files), opening the store (one ``stat`` per recorded
file) and :func:`check_store` (re-hash every file, read every row, audit every vector) are timed
before and after it.

Run::

    python benchmarks/store_integrity.py                      # 1,216 products, seconds
    python benchmarks/store_integrity.py --products 100032    # 100k products, a few minutes

Results: a table on stdout and ``benchmarks/results/store_integrity.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import dir_size_mib, print_table, write_results

from shopfuse.config import EngineConfig
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.store.base import Record
from shopfuse.store.checking import check_store
from shopfuse.store.lance import LanceStore
from shopfuse.types import Product

NAME = "store_integrity"
TEXT = EncoderInfo("t", "1", 512, "t")
IMAGE = EncoderInfo("i", "1", 1294, "i")


def batch(rng: np.random.Generator, start: int, size: int) -> list[Record]:
    """``size`` products with three unit vectors each."""
    vectors = {
        name: l2_normalize(rng.normal(size=(size, dim)))
        for name, dim in (("text", 512), ("image", 1294), ("ocr", 512))
    }
    return [
        Record(
            Product(id=f"p{start + i}", title=f"product {start + i} title", description="words " * 40),
            f"h{start + i}",
            {name: matrix[i] for name, matrix in vectors.items()},
        )
        for i in range(size)
    ]


def measure(root: Path, products: int, size: int) -> dict[str, Any]:
    """Fill a store at ``root`` and time the bookkeeping, opening and checking."""
    rng = np.random.default_rng(0)
    store = LanceStore.create(root, {"text": TEXT, "image": IMAGE, "ocr": TEXT})
    EngineConfig().save(root / "engine.json")
    record = store._integrity.committed
    booked: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        record(*args, **kwargs)
        booked.append(time.perf_counter() - began)

    store._integrity.committed = timed  # type: ignore[method-assign]
    upserts = []
    for start in range(0, products, size):
        records = batch(rng, start, min(size, products - start))
        began = time.perf_counter()
        store.upsert(records)
        upserts.append(time.perf_counter() - began)
    row: dict[str, Any] = {
        "products": products,
        "commits": len(upserts),
        "bookkeeping_ms_p50": round(float(np.median(booked)) * 1e3, 2),
        "bookkeeping_ms_last": round(booked[-1] * 1e3, 2),
        "upsert_ms_p50": round(float(np.median(upserts)) * 1e3, 2),
        "store_mib": dir_size_mib(root),
    }
    for when in ("before_optimize", "after_optimize"):
        if when == "after_optimize":
            began = time.perf_counter()
            store.optimize()
            row["optimize_s"] = round(time.perf_counter() - began, 2)
            row["optimize_bookkeeping_s"] = round(booked[-1], 2)
        began = time.perf_counter()
        LanceStore(root)
        row[f"open_ms_{when}"] = round((time.perf_counter() - began) * 1e3, 1)
        report = check_store(root)
        assert report.ok, report.problems
        row[f"files_{when}"] = report.files_checked
        row[f"check_s_{when}"] = round(report.seconds, 2)
    return row


def main() -> None:
    """Parse options, measure, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--products", default="1216,30016", help="Store sizes to measure, comma separated (one row each)."
    )
    parser.add_argument("--batch", type=int, default=64, help="Products per commit (ingest's default).")
    args = parser.parse_args()
    rows = []
    for size in (int(part) for part in args.products.split(",") if part.strip()):
        with tempfile.TemporaryDirectory(prefix="shopfuse-integrity-") as folder:
            rows.append(measure(Path(folder) / "store", size, args.batch))
    print_table(NAME, list(rows[0]), [list(row.values()) for row in rows])
    write_results(NAME, vars(args), {"rows": rows})


if __name__ == "__main__":
    main()
