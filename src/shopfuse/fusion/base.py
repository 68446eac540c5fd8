"""The one interface every fusion strategy implements.

A fusion strategy turns the joint-space embeddings a product has (its photo, its title/description,
the text read in its photos...) into one product vector in the same joint space, and says how
much each modality contributed. Any modality may be missing for a product: ``masks`` say which
rows have it (a missing row's embedding is all zeros).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np

from shopfuse.persist import Legacy

__all__ = ["LEGACY", "Fusion", "FusionOutput"]

LEGACY = Legacy("params.json", lambda saved: {k: v for k, v in saved.items() if k != "name"})
"""Fusion folders written before ``component.json``: ``params.json`` = ``{"name", ...config}``."""

Modalities = dict[str, np.ndarray]
"""``{modality name: (n, d) float32 joint-space embeddings}``; all share ``n`` and ``d``."""
Masks = dict[str, np.ndarray]
"""``{modality name: (n,) bool}``: which products have that modality."""


class FusionOutput:
    """Fused unit vectors and, per modality, each product's contribution (rows sum to 1)."""

    __slots__ = ("contributions", "vectors")

    def __init__(self, vectors: np.ndarray, contributions: dict[str, np.ndarray]) -> None:
        self.vectors = vectors
        self.contributions = contributions


@runtime_checkable
class Fusion(Protocol):
    """scikit-learn style: the constructor stores parameters, ``fit`` returns self."""

    name: str

    def fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Learn to fuse so that a product's vector lands near ``target`` (its title embedding)."""
        ...

    def fuse(self, modalities: Modalities, masks: Masks) -> FusionOutput:
        """Fused product vectors (unit rows) and per-modality contributions."""
        ...

    def save(self, folder: Path) -> None:
        """Write parameters and learned state into ``folder`` (:mod:`shopfuse.persist`)."""
        ...

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        ...
