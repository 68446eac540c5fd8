"""Small linear-algebra helpers shared by the closed-form aligners."""

from __future__ import annotations

import numpy as np

__all__ = ["as_pairs", "centred_covariance", "inverse_sqrt", "top_eigen"]


def as_pairs(image: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-aligned image and text matrices as float64, checked for shape."""
    image = np.asarray(image, dtype=np.float64)
    text = np.asarray(text, dtype=np.float64)
    if image.ndim != 2 or text.ndim != 2 or len(image) != len(text):
        raise ValueError(f"expected row-aligned (n, d) matrices, got {image.shape} and {text.shape}")
    if len(image) < 2:
        raise ValueError("fitting an aligner needs at least two pairs")
    return image, text


def centred_covariance(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and the covariance ``(X - mean)ᵀ (X - mean) / n``."""
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    return mean, centred.T @ centred / len(matrix)


def top_eigen(symmetric: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending, clipped at 0) and their eigenvectors as columns."""
    values, vectors = np.linalg.eigh(symmetric)
    order = np.argsort(values)[::-1][:k]
    return np.clip(values[order], 0.0, None), vectors[:, order]


def inverse_sqrt(symmetric: np.ndarray) -> np.ndarray:
    """``C^(-1/2)`` of a symmetric positive definite matrix."""
    values, vectors = np.linalg.eigh(symmetric)
    return np.asarray((vectors / np.sqrt(values)) @ vectors.T)
