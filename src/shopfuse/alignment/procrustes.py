"""Orthogonal Procrustes between the two sides' top principal components."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from shopfuse.alignment.base import LEGACY
from shopfuse.alignment.linalg import as_pairs, centred_covariance, top_eigen
from shopfuse.encoders.base import l2_normalize
from shopfuse.persist import load_arrays, load_config, save_component
from shopfuse.registry import registry

__all__ = ["ProcrustesAligner"]


@registry.register("alignment", "procrustes")
class ProcrustesAligner:
    """Both sides reduced to ``dim`` principal components, then the rotation ``R`` that best maps
    the image components onto the text components; the joint space is the text-side PCA space.

    ``whiten`` scales every component to unit variance first (measured on the fashion catalogue:
    better R@1, worse R@10 at 256 dims, so it is off by default).
    """

    name = "procrustes"

    def __init__(self, dim: int = 256, whiten: bool = False, eps: float = 1e-3) -> None:
        self.dim = dim
        self.whiten = whiten
        self.eps = eps

    @property
    def joint_dim(self) -> int:
        """Number of principal components kept (at most the smaller input dimension)."""
        return int(self.text_projection_.shape[1])

    def fit(
        self,
        image: np.ndarray,
        text: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """PCA of each side, then ``R = U Vᵀ`` from the SVD of the components' cross-product."""
        x, t = as_pairs(image, text)
        dim = min(self.dim, x.shape[1], t.shape[1], len(x))
        self.image_mean_, image_basis = self._pca(x, dim)
        self.text_mean_, text_basis = self._pca(t, dim)
        u, _, vt = np.linalg.svd(
            ((x - self.image_mean_) @ image_basis).T @ ((t - self.text_mean_) @ text_basis)
        )
        self.image_projection_ = np.asarray(image_basis @ (u @ vt), dtype=np.float32)
        self.text_projection_ = np.asarray(text_basis, dtype=np.float32)
        self.image_mean_ = self.image_mean_.astype(np.float32)
        self.text_mean_ = self.text_mean_.astype(np.float32)
        return self

    def _pca(self, matrix: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and the ``(d, dim)`` basis (scaled to unit variance when whitening)."""
        mean, covariance = centred_covariance(matrix)
        values, vectors = top_eigen(covariance, dim)
        if self.whiten:
            vectors = vectors / np.sqrt(values + self.eps * values.sum())
        return mean, vectors

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """Centred image vectors, projected and rotated into the text components, unit rows."""
        return l2_normalize((np.asarray(image, dtype=np.float32) - self.image_mean_) @ self.image_projection_)

    def embed_text(self, text: np.ndarray) -> np.ndarray:
        """Centred text vectors projected on their principal components, unit rows."""
        return l2_normalize((np.asarray(text, dtype=np.float32) - self.text_mean_) @ self.text_projection_)

    def save(self, folder: Path) -> None:
        """Parameters to ``component.json``, means and projections to ``state.npz``."""
        save_component(
            folder,
            "alignment",
            self.name,
            {"dim": self.dim, "whiten": self.whiten, "eps": self.eps},
            arrays={
                "image_mean": self.image_mean_,
                "image_projection": self.image_projection_,
                "text_mean": self.text_mean_,
                "text_projection": self.text_projection_,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        aligner = cls(**load_config(folder, "alignment", cls.name, LEGACY))
        arrays = load_arrays(folder)
        aligner.image_mean_ = arrays["image_mean"]
        aligner.image_projection_ = arrays["image_projection"]
        aligner.text_mean_ = arrays["text_mean"]
        aligner.text_projection_ = arrays["text_projection"]
        return aligner
