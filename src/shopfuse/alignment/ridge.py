"""Ridge regression from image vectors into the text space (the joint space is the text space)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np

from shopfuse.alignment.base import LEGACY
from shopfuse.alignment.linalg import as_pairs
from shopfuse.alignment.metrics import recall_at_k
from shopfuse.encoders.base import l2_normalize
from shopfuse.persist import load_arrays, load_config, save_component
from shopfuse.registry import registry

__all__ = ["RidgeAligner"]

ALPHAS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
"""Validation grid; measured best on the fashion catalogue: 3e-5 (title→image R@10 0.72)."""


@registry.register("alignment", "ridge")
class RidgeAligner:
    """``W = argmin Σ‖t − Wx‖² / n + α‖W‖²``, solved in closed form; texts stay as they are.

    ``alpha`` is relative to the per-pair Gram matrix ``XᵀX / n`` (whose trace is 1 for unit rows).
    With ``valid`` pairs and ``alpha=None`` it is picked from ``alphas`` by title→image recall@10;
    without them ``default_alpha`` is used.
    """

    name = "ridge"

    def __init__(
        self,
        alpha: float | None = None,
        alphas: Sequence[float] = ALPHAS,
        default_alpha: float = 3e-5,
    ) -> None:
        self.alpha = alpha
        self.alphas = tuple(alphas)
        self.default_alpha = default_alpha

    @property
    def joint_dim(self) -> int:
        """The text dimension."""
        return int(self.weights_.shape[1])

    def fit(
        self,
        image: np.ndarray,
        text: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Solve for ``W`` once per candidate ``alpha`` from one eigendecomposition."""
        x, t = as_pairs(image, text)
        values, vectors = np.linalg.eigh(x.T @ x / len(x))
        projected = vectors.T @ (x.T @ t / len(x))

        def solve(alpha: float) -> np.ndarray:
            return np.asarray(vectors @ (projected / (values + alpha)[:, None]), dtype=np.float32)

        if self.alpha is not None or valid is None:
            self.alpha_ = float(self.alpha if self.alpha is not None else self.default_alpha)
        else:
            scores = {
                a: recall_at_k(l2_normalize(valid[1]), l2_normalize(valid[0] @ solve(a)), 10)
                for a in self.alphas
            }
            self.alpha_ = max(scores, key=lambda a: scores[a])
            if progress:
                print("ridge: validation R@10 by alpha", {a: round(r, 4) for a, r in scores.items()})
        self.weights_ = solve(self.alpha_)
        return self

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """``x W``, unit rows."""
        return l2_normalize(np.asarray(image, dtype=np.float32) @ self.weights_)

    def embed_text(self, text: np.ndarray) -> np.ndarray:
        """The text vectors themselves, unit rows."""
        return l2_normalize(text)

    def save(self, folder: Path) -> None:
        """Parameters to ``component.json``, ``W`` and the chosen alpha to ``state.npz``."""
        params = {"alpha": self.alpha, "alphas": list(self.alphas), "default_alpha": self.default_alpha}
        arrays = {"weights": self.weights_, "alpha": np.asarray(self.alpha_)}
        save_component(folder, "alignment", self.name, params, arrays=arrays)

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        aligner = cls(**load_config(folder, "alignment", cls.name, LEGACY))
        arrays = load_arrays(folder)
        aligner.weights_ = arrays["weights"]
        aligner.alpha_ = float(arrays["alpha"])
        return aligner
