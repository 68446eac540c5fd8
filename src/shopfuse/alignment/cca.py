"""Regularised canonical correlation analysis into a shared space, in closed form."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from shopfuse.alignment.base import LEGACY
from shopfuse.alignment.linalg import as_pairs, centred_covariance, inverse_sqrt
from shopfuse.encoders.base import l2_normalize
from shopfuse.persist import load_arrays, load_config, save_component
from shopfuse.registry import registry

__all__ = ["CCAAligner"]


@registry.register("alignment", "cca")
class CCAAligner:
    """Whiten each side with its regularised covariance, then keep the top ``dim`` singular
    directions of the whitened cross-covariance; both sides project into those directions.

    ``image_reg`` / ``text_reg`` add that share of the mean variance to each covariance's diagonal.
    Each joint dimension is scaled by its canonical correlation to the power ``weight_power``
    (0 = plain CCA). Defaults measured on the fashion catalogue (title→image R@10 on 1,500 held-out
    products): 0.80 with these values, 0.77 unweighted, 0.74 with both regs at 0.001.
    """

    name = "cca"

    def __init__(
        self, dim: int = 256, image_reg: float = 0.1, text_reg: float = 0.01, weight_power: float = 1.0
    ) -> None:
        self.dim = dim
        self.image_reg = image_reg
        self.text_reg = text_reg
        self.weight_power = weight_power

    @property
    def joint_dim(self) -> int:
        """Number of canonical directions kept."""
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
        """Closed form: ``SVD(Cxx^-½ Cxt Ctt^-½)``; projections ``Cxx^-½ U`` and ``Ctt^-½ V``."""
        x, t = as_pairs(image, text)
        self.image_mean_, cxx = centred_covariance(x)
        self.text_mean_, ctt = centred_covariance(t)
        cxt = (x - self.image_mean_).T @ (t - self.text_mean_) / len(x)
        wx = inverse_sqrt(_regularised(cxx, self.image_reg))
        wt = inverse_sqrt(_regularised(ctt, self.text_reg))
        u, correlations, vt = np.linalg.svd(wx @ cxt @ wt)
        dim = min(self.dim, len(correlations))
        scale = correlations[:dim] ** self.weight_power
        self.correlations_ = correlations[:dim].astype(np.float32)
        self.image_projection_ = np.asarray(wx @ u[:, :dim] * scale, dtype=np.float32)
        self.text_projection_ = np.asarray(wt @ vt.T[:, :dim] * scale, dtype=np.float32)
        self.image_mean_ = self.image_mean_.astype(np.float32)
        self.text_mean_ = self.text_mean_.astype(np.float32)
        return self

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """Image vectors on the canonical directions, unit rows."""
        return l2_normalize((np.asarray(image, dtype=np.float32) - self.image_mean_) @ self.image_projection_)

    def embed_text(self, text: np.ndarray) -> np.ndarray:
        """Text vectors on the canonical directions, unit rows."""
        return l2_normalize((np.asarray(text, dtype=np.float32) - self.text_mean_) @ self.text_projection_)

    def save(self, folder: Path) -> None:
        """Parameters to ``component.json``, means, projections and correlations to ``state.npz``."""
        params = {
            "dim": self.dim,
            "image_reg": self.image_reg,
            "text_reg": self.text_reg,
            "weight_power": self.weight_power,
        }
        save_component(
            folder,
            "alignment",
            self.name,
            params,
            arrays={
                "image_mean": self.image_mean_,
                "image_projection": self.image_projection_,
                "text_mean": self.text_mean_,
                "text_projection": self.text_projection_,
                "correlations": self.correlations_,
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
        aligner.correlations_ = arrays["correlations"]
        return aligner


def _regularised(covariance: np.ndarray, reg: float) -> np.ndarray:
    """``C + reg · mean variance · I``, so ``reg`` does not depend on the input's scale."""
    return covariance + reg * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
