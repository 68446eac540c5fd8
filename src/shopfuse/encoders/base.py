"""The small Protocols every encoder implements, and the identity an encoder stamps on vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from shopfuse.types import TextRole

__all__ = [
    "EncoderInfo",
    "ImageEncoder",
    "LanguageDetector",
    "TextEncoder",
    "TextReader",
    "as_texts",
    "l2_normalize",
]


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """Who made a vector: name, version, dimension and the embedding space it lives in.

    Two encoders whose ``space`` is equal produce comparable vectors (a CLIP model's text and image
    towers share one space; USE text and EfficientNet image features do not).
    """

    name: str
    version: str
    dim: int
    space: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderInfo:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            dim=int(data["dim"]),
            space=str(data["space"]),
        )

    def describe(self) -> str:
        """Human-readable one-liner, e.g. ``use-multilingual 0.2.1 (512-d)``."""
        return f"{self.name} {self.version} ({self.dim}-d)"


@runtime_checkable
class TextEncoder(Protocol):
    """Turns texts into L2-normalised float32 rows; ``role`` separates queries from product texts."""

    @property
    def text_info(self) -> EncoderInfo:
        """Identity of the text vectors."""
        ...

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        """Encode ``texts`` into an ``(n, dim)`` float32 array of unit rows."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    """Turns RGB images into L2-normalised float32 rows."""

    @property
    def image_info(self) -> EncoderInfo:
        """Identity of the image vectors."""
        ...

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Encode RGB ``images`` into an ``(n, dim)`` float32 array of unit rows."""
        ...


def l2_normalize(matrix: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, eps)).astype(np.float32, copy=False)


@runtime_checkable
class TextReader(Protocol):
    """Reads text printed in images (OCR)."""

    @property
    def name(self) -> str:
        """Registry name and version, for reports."""
        ...

    def read(self, images: Sequence[Image.Image]) -> list[str]:
        """The text found in each image, lines joined by spaces; ``""`` where none was found."""
        ...


@runtime_checkable
class LanguageDetector(Protocol):
    """Identifies the language of short texts."""

    def detect(self, texts: Sequence[str]) -> list[str | None]:
        """ISO 639-1 code per text (``zh``, ``en``...), ``None`` where it cannot tell."""
        ...


def as_texts(texts: Sequence[str]) -> list[str]:
    """A batch of texts as plain strings (``None`` becomes ``""``); a bare string is refused."""
    if isinstance(texts, str):
        raise TypeError("encode_text expects a sequence of strings, not a single string")
    return [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
