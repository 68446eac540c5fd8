"""In-memory approximate search (FAISS HNSW or IVF, inner product) over a store's vector matrix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shopfuse.config import AnnSettings
from shopfuse.optional import require

__all__ = ["AnnIndex", "default_nlist"]


def default_nlist(rows: int) -> int:
    """IVF clusters for ``rows`` vectors: ``4 * sqrt(rows)``, at least 1, at most ``rows / 39``."""
    return max(1, min(int(4 * math.sqrt(rows)), rows // 39 or 1))


class AnnIndex:
    """A FAISS index over the rows of ``matrix``, built from ``settings``; searches return row numbers.

    HNSW (``IndexHNSWFlat``) and IVF (``IndexIVFFlat``) both keep the full vectors, so the
    scores of the rows they find are exact inner products; only the set of rows is approximate.
    """

    def __init__(self, matrix: np.ndarray, settings: AnnSettings, *, seed: int = 0) -> None:
        faiss = require("faiss", "faiss-cpu", "ann", "approximate search")
        self._faiss: Any = faiss
        self.settings = settings
        data = np.ascontiguousarray(matrix, dtype=np.float32)
        rows, dim = data.shape
        self.rows = rows
        if settings.kind == "hnsw":
            self.index: Any = faiss.IndexHNSWFlat(dim, settings.m, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = settings.ef_construction
        else:
            nlist = min(settings.nlist or default_nlist(rows), max(rows, 1))
            quantizer = faiss.IndexFlatIP(dim)
            self.index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            self.index.cp.niter = 10  # k-means rounds: FAISS's 25 triple the training time for ~no recall
            sample = min(rows, max(nlist * 39, 10_000))  # FAISS asks for at least 39 points per cluster
            picks = np.random.default_rng(seed).choice(rows, sample, replace=False) if sample < rows else None
            self.index.train(data if picks is None else data[np.sort(picks)])
            self._quantizer = quantizer  # FAISS does not own it: keep it alive with the index
        if rows:
            self.index.add(data)

    def search(
        self, queries: np.ndarray, k: int, *, ef_search: int | None = None, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, rows)`` of the best ``k`` per query (``-1`` rows pad missing results).

        ``ef_search``/``nprobe`` override the settings for this call (the index is not changed, so
        concurrent searches are safe).
        """
        batch = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.rows))
        params: Any
        if self.settings.kind == "hnsw":
            params = self._faiss.SearchParametersHNSW(efSearch=max(ef_search or self.settings.ef_search, k))
        else:
            params = self._faiss.SearchParametersIVF(nprobe=nprobe or self.settings.nprobe)
        scores, rows = self.index.search(batch, k, params=params)
        return scores, rows

    def memory_bytes(self) -> int:
        """Bytes the serialised index takes (vectors plus graph or lists)."""
        return int(self._faiss.serialize_index(self.index).nbytes)
