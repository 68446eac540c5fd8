"""The Protocol every cross-modal alignment method implements.

An aligner learns, from a catalogue's own (image vector, title vector) pairs, a joint space where a
product photo lands near its title. Inputs are the store's vectors: image rows from the image
encoder (EfficientNet features + colour, unit norm) and text rows from the text encoder (USE,
unit norm). OCR vectors live in the text encoder's space, so :meth:`embed_text` maps them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np

from shopfuse.persist import Legacy

__all__ = ["LEGACY", "Aligner"]

LEGACY = Legacy("aligner.json", lambda saved: dict(saved["params"]))
"""Aligner folders written before ``component.json``: ``aligner.json`` = ``{"name", "params"}``."""


@runtime_checkable
class Aligner(Protocol):
    """scikit-learn style: the constructor stores parameters, ``fit`` returns self, state ends in ``_``."""

    name: str

    @property
    def joint_dim(self) -> int:
        """Width of the joint space (valid after ``fit`` or ``load``)."""
        ...

    def fit(
        self,
        image: np.ndarray,
        text: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Learn the joint space from row-aligned ``(n, d_image)`` and ``(n, d_text)`` pairs.

        ``valid`` pairs, when given, are used for early stopping / printing a validation figure.
        """
        ...

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """Image vectors into the joint space, unit rows, float32."""
        ...

    def embed_text(self, text: np.ndarray) -> np.ndarray:
        """Text (or OCR) vectors into the joint space, unit rows, float32."""
        ...

    def save(self, folder: Path) -> None:
        """Write the learned state and the parameters into ``folder`` (:mod:`shopfuse.persist`)."""
        ...

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        ...
