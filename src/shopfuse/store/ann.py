"""In-memory approximate search (FAISS HNSW or IVF, inner product) over a store's vector matrix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shopfuse.config import AnnSettings
from shopfuse.optional import require

__all__ = ["EXACT_MATCHES", "FILTERED_VISIT", "AnnIndex", "default_nlist"]

EXACT_MATCHES = 20_000
"""A filter matching at most this many rows is scored exactly over its matches (a few ms), not
through an index (both stores)."""
FILTERED_VISIT = 4
"""A filtered IVF search visits this many times as many matching rows as an unfiltered one visits
rows: at a million replicated product vectors with a 7.4% filter unlike the query, recall@10 was
0.937 / 0.982 / 0.999 at 1x / 2x / 4x, for 3.0 / 3.2 / 3.9 ms p50."""


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
        self._clusters: np.ndarray | None = None
        self._data = data  # the caller's matrix when already float32 and contiguous: no copy
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
        self,
        queries: np.ndarray,
        k: int,
        *,
        ef_search: int | None = None,
        nprobe: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, rows)`` of the best ``k`` per query (``-1`` rows pad missing results).

        ``ef_search``/``nprobe`` override the settings for this call (the index is not changed, so
        concurrent searches are safe). ``allowed`` (a boolean per row) restricts the results to
        those rows, for filtered search; see :meth:`_search_allowed`.
        """
        batch = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.rows))
        if allowed is not None:
            return self._search_allowed(batch, k, allowed, ef_search, nprobe)
        params: Any
        if self.settings.kind == "hnsw":
            params = self._faiss.SearchParametersHNSW(efSearch=max(ef_search or self.settings.ef_search, k))
        else:
            params = self._faiss.SearchParametersIVF(nprobe=nprobe or self.settings.nprobe)
        scores, rows = self.index.search(batch, k, params=params)
        return scores, rows

    def _search_allowed(
        self, batch: np.ndarray, k: int, allowed: np.ndarray, ef_search: int | None, nprobe: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search among the ``allowed`` rows only.

        A filter moves the nearest allowed rows away from the query's own neighbourhood (a
        category unlike the query), so the search cannot stay where the unfiltered one would.
        IVF visits the clusters closest to the query *that hold allowed rows*, in order, until
        it has visited :data:`FILTERED_VISIT` times as many allowed rows as an unfiltered search
        visits rows (``nprobe`` average clusters), and at least ``k``; FAISS skips the other rows
        of those clusters.
        HNSW scores the allowed rows exactly: its graph links them through excluded rows, and
        with a selector FAISS's walk never left the query's region (recall 0.3-0.4 with 30-75%
        of the rows allowed, unlike the query); IVF is the index for filtered search at scale.
        """
        faiss = self._faiss
        if allowed.shape != (self.rows,):
            raise ValueError(f"allowed has shape {allowed.shape}, the index holds {self.rows} rows")
        allowed = allowed.astype(bool, copy=False)
        scores = np.full((len(batch), k), -np.inf, dtype=np.float32)
        rows = np.full((len(batch), k), -1, dtype=np.int64)
        count = int(np.count_nonzero(allowed))
        if count == 0:
            return scores, rows
        if self.settings.kind == "hnsw":
            return self._exact(batch, k, allowed, count, scores, rows)
        bits = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(bits))
        held = np.bincount(self._cluster_of()[allowed], minlength=self.index.nlist)
        visit = max(k, FILTERED_VISIT * (nprobe or self.settings.nprobe) * self.rows // self.index.nlist)
        order_scores, order = self._quantizer.search(batch, self.index.nlist)
        for q in range(len(batch)):
            useful = held[order[q]] > 0
            clusters, closeness = order[q][useful], order_scores[q][useful]
            probe = min(len(clusters), int(np.searchsorted(np.cumsum(held[clusters]), visit)) + 1)
            assign = np.ascontiguousarray(clusters[None, :probe], dtype=np.int64)
            dists = np.ascontiguousarray(closeness[None, :probe], dtype=np.float32)
            params = faiss.SearchParametersIVF(nprobe=probe, sel=selector)
            self.index.search_preassigned_c(  # the Python wrapper refuses params; the C++ call takes them
                1,
                faiss.swig_ptr(batch[q : q + 1]),
                k,
                faiss.swig_ptr(assign),
                faiss.swig_ptr(dists),
                faiss.swig_ptr(scores[q : q + 1]),
                faiss.swig_ptr(rows[q : q + 1]),
                False,
                params,
            )
        return scores, rows

    def _exact(
        self, batch: np.ndarray, k: int, allowed: np.ndarray, count: int, scores: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` among the ``allowed`` rows, into ``scores``/``rows``.

        A few allowed rows are gathered and scored; many are scored in place with the rest masked
        (copying a quarter of a million-row matrix costs more than scoring all of it).
        """
        if count < self.rows // 4:
            candidates = np.flatnonzero(allowed)
            found = batch @ self._data[candidates].T
        else:
            candidates = np.arange(self.rows)
            found = batch @ self._data.T
            found[:, ~allowed] = -np.inf
        take = min(k, count)
        for q in range(len(batch)):
            best = np.argpartition(-found[q], take - 1)[:take]
            best = best[np.argsort(-found[q][best], kind="stable")]
            scores[q, :take], rows[q, :take] = found[q][best], candidates[best]
        return scores, rows

    def _cluster_of(self) -> np.ndarray:
        """The IVF cluster of every row (read once from the inverted lists)."""
        if self._clusters is None:
            faiss = self._faiss
            lists = self.index.invlists
            clusters = np.zeros(self.rows, dtype=np.int64)
            for cluster in range(self.index.nlist):
                size = lists.list_size(cluster)
                if size:
                    clusters[faiss.rev_swig_ptr(lists.get_ids(cluster), size).copy()] = cluster
            self._clusters = clusters
        return self._clusters

    def memory_bytes(self) -> int:
        """Bytes the serialised index takes (vectors plus graph or lists)."""
        return int(self._faiss.serialize_index(self.index).nbytes)
