"""Retrieval figures for aligned pairs: row ``i`` of the queries matches row ``i`` of the documents."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_reciprocal_rank", "ranks", "recall_at_k"]


def ranks(query_vectors: np.ndarray, doc_vectors: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """0-based rank of each query's own document among all documents, by inner product.

    A document scoring exactly as high as the right one does not push it down, so identical
    documents (duplicated photos) count as found.
    """
    queries = np.asarray(query_vectors, dtype=np.float32)
    docs = np.asarray(doc_vectors, dtype=np.float32)
    if queries.ndim != 2 or queries.shape != docs.shape:
        raise ValueError(f"queries {queries.shape} and documents {docs.shape} must be row-aligned matrices")
    out = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk] @ docs.T
        own = scores[np.arange(len(scores)), np.arange(start, start + len(scores))]
        out[start : start + chunk] = (scores > own[:, None]).sum(axis=1)
    return out


def recall_at_k(query_vectors: np.ndarray, doc_vectors: np.ndarray, k: int) -> float:
    """Share of queries whose own document is among the ``k`` best-scoring documents."""
    return float((ranks(query_vectors, doc_vectors) < k).mean())


def mean_reciprocal_rank(query_vectors: np.ndarray, doc_vectors: np.ndarray) -> float:
    """Mean of ``1 / (rank + 1)`` of each query's own document."""
    return float((1.0 / (ranks(query_vectors, doc_vectors) + 1)).mean())
