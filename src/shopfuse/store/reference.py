"""Exact NumPy search: the reference that every store backend is checked against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["exact_search"]


def exact_search(
    ids: Sequence[str], matrix: np.ndarray, query: np.ndarray, k: int
) -> list[tuple[str, float]]:
    """Top-``k`` ``(id, inner product)`` pairs, best first; ties broken by id for determinism."""
    if len(ids) == 0 or k <= 0:
        return []
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(query, dtype=np.float32).ravel()
    order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))[:k]
    return [(ids[i], float(scores[i])) for i in order]
