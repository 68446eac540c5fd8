"""Fusion strategies on the shared fashion catalogue: title→product retrieval, with and without the title.

Inputs come from a store of the whole catalogue: image vectors (EfficientNet features + colour,
1392-d) and USE title vectors (512-d). Until the alignment methods land, the image vectors are
put into the title space by closed-form ridge regression fitted on the training split (training
rows get 5-fold out-of-fold predictions, so the fusion models see the same kind of error as the
held-out rows). Modalities are then ``{"image": ridge(image), "text": title}``, target = title.

A seeded split holds out ``--holdout`` products; every registered strategy is fitted on the
rest (its own validation slice comes out of those), then the held-out products are fused twice:
with all modalities, and image-only (the title hidden: the real test, as the title is also the
target). Queries are the held-out titles; the corpus is the held-out fused vectors; each query's
own product is the one relevant result. "graph+attributes" is the graph strategy also given the
products' attribute values (gender, articleType, baseColour, ...); "ridge image" is the
reference without fusion (the title itself when present, else the ridge image vector).

Run::

    python benchmarks/fusion.py --store /tmp/fullstore     # a store of the whole fashion catalogue

A ``--store`` without a store is first filled by ingesting the shared catalogue (about 15
minutes on a 2-core box). Results: a table on stdout and ``benchmarks/results/fusion.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table, write_results

from shopfuse import fusion as _fusion  # noqa: F401  (registers the strategies)
from shopfuse.catalog.load import load_catalog
from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.encoders.base import l2_normalize
from shopfuse.engine import CONFIG_FILE, Engine
from shopfuse.registry import registry
from shopfuse.store.lance import LanceStore

NAME = "fusion"


def ridge(features: np.ndarray, target: np.ndarray, alpha: float) -> np.ndarray:
    """Closed-form ridge weights mapping ``features`` rows onto ``target`` rows."""
    gram = features.T @ features + alpha * np.eye(features.shape[1], dtype=np.float64)
    return np.linalg.solve(gram, features.T @ target).astype(np.float32)


def out_of_fold(features: np.ndarray, target: np.ndarray, alpha: float, folds: int, seed: int) -> np.ndarray:
    """Ridge predictions for every row from a model that did not see it."""
    parts = np.array_split(np.random.default_rng(seed).permutation(len(features)), folds)
    predicted = np.zeros_like(target)
    for held in parts:
        seen = np.setdiff1d(np.arange(len(features)), held)
        predicted[held] = features[held] @ ridge(features[seen], target[seen], alpha)
    return predicted


def retrieval(queries: np.ndarray, corpus: np.ndarray, k: int) -> dict[str, float]:
    """Recall@k and MRR of query i's own row i in ``corpus``."""
    scores = queries @ corpus.T
    ranks = (scores > scores.diagonal()[:, None]).sum(1) + 1
    return {f"recall@{k}": round(float((ranks <= k).mean()), 4), "mrr": round(float((1 / ranks).mean()), 4)}


def open_store(root: Path, catalog: Path) -> LanceStore:
    """Reuse the store at ``root``, or build it from the shared fashion catalogue."""
    if not (root / CONFIG_FILE).is_file():
        Engine.open(root, EngineConfig()).ingest(catalog, FASHION_MAPPING, progress=True, learn="off")
    return LanceStore(root)


def main() -> None:
    """Fit each strategy, evaluate on the held-out products, print and save the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, required=True, help="store of the fashion catalogue")
    parser.add_argument("--data", default=None, help="shared data folder (to build the store)")
    parser.add_argument("--holdout", type=int, default=1500)
    parser.add_argument("--alpha", type=float, default=10.0, help="ridge regularisation")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()

    catalog = find_data(args.data) / "fashion-products" / "metadata.csv"
    store = open_store(args.store, catalog)
    ids, image = store.vectors("image")
    text_ids, text = store.vectors("text")
    if ids != text_ids:
        raise SystemExit("the benchmark needs products with both a photo and a title")
    by_id = {p.id: p.attributes for p in load_catalog(catalog, FASHION_MAPPING).products}
    attributes = [by_id[i] for i in ids]
    order = np.random.default_rng(args.seed).permutation(len(ids))
    test, train = order[: args.holdout], order[args.holdout :]

    weights = ridge(image[train], text[train], args.alpha)
    projected = np.zeros_like(text)
    projected[train] = out_of_fold(image[train], text[train], args.alpha, 5, args.seed)
    projected[test] = image[test] @ weights
    projected = l2_normalize(projected)

    def inputs(rows: np.ndarray, with_text: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        modalities = {"image": projected[rows], "text": text[rows]}
        masks = {"image": np.ones(len(rows), bool), "text": np.full(len(rows), with_text)}
        return modalities, masks

    names = args.strategies.split(",") if args.strategies else [*registry.names("fusion"), "graph+attributes"]
    results: dict[str, Any] = {
        "ridge image": {
            "all": retrieval(text[test], text[test], args.k),
            "image_only": retrieval(text[test], projected[test], args.k),
            "train_s": None,
        }
    }
    # One untimed tiny fit first, so the first timed strategy does not pay torch's lazy imports.
    registry.create("fusion", "concat").fit(*inputs(train[:64], True), text[train[:64]])
    for name in names:
        strategy = name.split("+")[0]
        extra: dict[str, Any] = {}
        fusion = registry.create("fusion", strategy)
        started = time.perf_counter()
        if name.endswith("+attributes"):
            extra = {"attributes": [attributes[i] for i in train]}
        fusion.fit(*inputs(train, True), text[train], seed=args.seed, progress=args.progress, **extra)
        seconds = time.perf_counter() - started
        if extra:
            extra = {"attributes": [attributes[i] for i in test]}
        row: dict[str, Any] = {"train_s": round(seconds, 2)}
        for label, with_text in (("all", True), ("image_only", False)):
            out = fusion.fuse(*inputs(test, with_text), **extra)
            row[label] = retrieval(text[test], out.vectors, args.k)
            row[f"{label}_mean_contribution"] = {
                m: round(float(c.mean()), 3) for m, c in out.contributions.items()
            }
        results[name] = row
        print(f"{name}: {row}", flush=True)

    recall = f"recall@{args.k}"
    print_table(
        f"title → product on {args.holdout} held-out products (train {len(train)}), seed {args.seed}",
        ["strategy", f"all R@{args.k}", "all MRR", f"image-only R@{args.k}", "image-only MRR", "train s"],
        [
            [
                name,
                r["all"][recall],
                r["all"]["mrr"],
                r["image_only"][recall],
                r["image_only"]["mrr"],
                r["train_s"],
            ]
            for name, r in results.items()
        ],
    )
    params = {
        "store": str(args.store),
        "products": len(ids),
        "train": len(train),
        "holdout": args.holdout,
        "alpha": args.alpha,
        "k": args.k,
        "seed": args.seed,
    }
    write_results(NAME, params, results)


if __name__ == "__main__":
    main()
