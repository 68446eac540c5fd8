"""Duplicate listings in the fashion catalogue: how many, how alike their photos, what collapses.

The catalogue lists many products under one title. For every pair of products with the same
normalised title (:func:`shopfuse.tasks.duplicates.normalise_title`) this measures the cosine of
their stored photo vectors (the default ``efficientnet-colour`` encoder), split into pairs whose
photo files are byte-identical (same SHA-1: surely one listing) and the rest, and counts how many
products :func:`~shopfuse.tasks.duplicates.collapse_hits` folds into another at each threshold.
Then, with the whole catalogue ingested (``--full``), it searches duplicated titles and counts the
top-10 slots that a copy of a listing already shown takes, with and without collapsing, and times
both searches. The store is searched as ``Engine.open`` gives it (with the shop model its ingest
learned, if it learned one; the result names it); both timings reuse the cached query vector.

Run::

    python benchmarks/duplicates.py                          # same-title products only, ~1 min
    python benchmarks/duplicates.py --full --store /tmp/fs   # and search the whole catalogue

Results: tables on stdout and ``benchmarks/results/duplicates.json``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from _common import latency_ms, print_table, write_results

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.tasks.duplicates import (
    PHOTO_THRESHOLD,
    DuplicateRule,
    collapse_hits,
    normalise_title,
    stored_vectors,
)
from shopfuse.types import Hit

NAME = "duplicates"
CATALOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-products" / "metadata.csv"
THRESHOLDS = (0.85, 0.9, 0.93, 0.95, 0.97, 0.99)


def subset(source: Path, target: Path, rows: list[dict[str, str]]) -> Path:
    """A copy of ``rows`` of the catalogue with absolute photo paths."""
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "image": str(source.parent / row["image"])})
    return target


def open_store(path: Path, catalog: Path, rows: list[dict[str, str]]) -> Engine:
    """The store at ``path``, ingesting ``rows`` unless it already holds them."""
    engine = Engine.open(path)
    if engine.store.count() < len(rows):
        engine.ingest(
            subset(catalog, path.parent / f"{path.name}.csv", rows), FASHION_MAPPING, progress=False
        )
    return engine


def pair_cosines(groups: list[list[dict[str, str]]], photos: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Photo cosines of every same-title pair, by whether the photo files are byte-identical."""
    out: dict[str, list[float]] = {"identical file": [], "other file": []}
    for group in groups:
        for a, b in itertools.combinations(group, 2):
            if a["id"] in photos and b["id"] in photos:
                kind = "identical file" if a["sha1"] == b["sha1"] else "other file"
                out[kind].append(float(photos[a["id"]] @ photos[b["id"]]))
    return out


def folded(
    groups: list[list[dict[str, str]]], photos: dict[str, np.ndarray], threshold: float
) -> dict[str, int]:
    """Products folded into another listing when each title group is ranked in catalogue order."""
    rule = DuplicateRule(photo_threshold=threshold)
    count = colour = 0
    for group in groups:
        hits = [Hit(id=r["id"], score=0.0, title=r["productDisplayName"], attributes=r) for r in group]
        for kept in collapse_hits(hits, photos=photos, rule=rule):
            count += len(kept.variants)
            colour += sum(
                1 for v in kept.variants if _row(group, v)["baseColour"] != kept.attributes["baseColour"]
            )
    return {"folded": count, "folded_other_colour": colour}


def _row(group: list[dict[str, str]], pid: str) -> dict[str, str]:
    return next(r for r in group if r["id"] == pid)


def search_slots(engine: Engine, titles: list[str], k: int) -> dict[str, Any]:
    """Top-``k`` slots taken by copies of a listing already shown, searching each title."""

    def copies(hits: list[Hit]) -> int:
        photos = stored_vectors(engine.store, "image", [h.id for h in hits])
        return len(hits) - len(collapse_hits(hits, photos=photos))

    before = after = variants = 0
    seconds: dict[str, list[float]] = {"plain": [], "collapsed": []}
    engine.search_text(titles[0], k=k)  # warm up: encoders, vector snapshots
    for title in titles:
        engine.search_text(title, k=1, collapse=False)  # the query vector cached for both timings
        start = time.perf_counter()
        plain = engine.search_text(title, k=k, collapse=False)
        middle = time.perf_counter()
        collapsed = engine.search_text(title, k=k)
        seconds["plain"].append(middle - start)
        seconds["collapsed"].append(time.perf_counter() - middle)
        before += copies(plain)
        after += copies(collapsed)
        variants += sum(len(h.variants) for h in collapsed)
    return {
        "queries": len(titles),
        "k": k,
        "model": engine.config.model,
        "copy_slots_without_collapse": before,
        "copy_slots_with_collapse": after,
        "variants_listed": variants,
        "search_p50_ms_without_collapse": latency_ms(seconds["plain"])["p50_ms"],
        "search_p50_ms_with_collapse": latency_ms(seconds["collapsed"])["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, default=CATALOG)
    parser.add_argument("--store", type=Path, help="store folder to (re)use; default: a temporary one")
    parser.add_argument("--full", action="store_true", help="ingest the whole catalogue and search it")
    parser.add_argument("--queries", type=int, default=200, help="duplicated titles searched with --full")
    args = parser.parse_args()

    with args.catalog.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_title: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_title[normalise_title(row["productDisplayName"])].append(row)
    groups = [g for g in by_title.values() if len(g) > 1]
    twins = [r for g in groups for r in g]
    counts = {
        "products": len(rows),
        "titles": len(by_title),
        "titles_shared": len(groups),
        "products_with_a_title_twin": len(twins),
        "largest_group": max(len(g) for g in groups),
        "products_with_a_byte_identical_photo_twin": sum(
            1 for g in groups for r in g if sum(1 for o in g if o["sha1"] == r["sha1"]) > 1
        ),
    }
    print_table("catalogue", ["measure", "value"], counts.items())

    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp) / "store"
        engine = open_store(root, args.catalog, rows if args.full else twins)
        ids, matrix = engine.store.vectors("image")
        photos = dict(zip(ids, matrix, strict=True))
        cosines = pair_cosines(groups, photos)
        bands = []
        for kind, values in cosines.items():
            a = np.asarray(values)
            bands.append(
                [
                    kind,
                    a.size,
                    *(round(float(np.percentile(a, p)), 4) for p in (1, 10, 50, 90)),
                    round(float(a.max()), 4),
                ]
            )
        print_table(
            "photo cosine of same-title pairs", ["pairs", "n", "p1", "p10", "p50", "p90", "max"], bands
        )
        at = {}
        for threshold in THRESHOLDS:
            other = np.asarray(cosines["other file"])
            at[str(threshold)] = {
                **folded(groups, photos, threshold),
                "identical_file_pairs_joined": int(
                    (np.asarray(cosines["identical file"]) >= threshold).sum()
                ),
                "other_file_pairs_joined": int((other >= threshold).sum()),
            }
        print_table(
            "collapsing the same-title groups (ranked in catalogue order)",
            ["threshold", "products folded", "of another colour", "identical-file pairs", "other pairs"],
            [[t, *v.values()] for t, v in at.items()],
        )
        results: dict[str, Any] = {
            "catalogue": counts,
            "photo_cosine": {
                b[0]: dict(zip(("n", "p1", "p10", "p50", "p90", "max"), b[1:], strict=True)) for b in bands
            },
            "thresholds": at,
            "default_threshold": PHOTO_THRESHOLD,
        }
        if args.full:
            titles = [g[0]["productDisplayName"] for g in groups]
            random.Random(0).shuffle(titles)
            results["search"] = search_slots(engine, titles[: args.queries], 10)
            print_table("searching duplicated titles", ["measure", "value"], results["search"].items())
    write_results(NAME, vars(args), results)


if __name__ == "__main__":
    main()
