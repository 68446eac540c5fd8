"""Core vocabulary: modalities, products, search hits and ingest problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = ["Hit", "Modality", "Problem", "Product", "Severity", "TextRole"]

TextRole = Literal["query", "passage"]
Severity = Literal["error", "warning"]


class Modality(StrEnum):
    """A kind of product content; also the name of the store's vector column for it."""

    TEXT = "text"
    IMAGE = "image"
    OCR = "ocr"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(slots=True)
class Product:
    """One catalogue row after field mapping; media paths are absolute."""

    id: str
    title: str | None = None
    description: str | None = None
    images: tuple[str, ...] = ()
    video: str | None = None
    audio: str | None = None
    lang: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    row: int = 0

    @property
    def text(self) -> str | None:
        """The text that represents the product in the text space: its title, else its description."""
        for value in (self.title, self.description):
            if value and value.strip():
                return value.strip()
        return None

    @property
    def image(self) -> str | None:
        """The main photo: the first of ``images``."""
        return self.images[0] if self.images else None


@dataclass(slots=True)
class Hit:
    """One search result with the score each modality contributed."""

    id: str
    score: float
    title: str | None = None
    image: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    contributions: dict[str, float] = field(default_factory=dict)
    matched: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Attributes the query asked for, with the value asked and the product's probability of it."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {
            "id": self.id,
            "score": round(self.score, 6),
            "title": self.title,
            "image": self.image,
            "attributes": self.attributes,
            "contributions": {k: round(v, 6) for k, v in self.contributions.items()},
        }
        if self.matched:
            out["matched"] = self.matched
        return out


@dataclass(slots=True, frozen=True)
class Problem:
    """Something wrong with one catalogue row, reported with file, row, field and reason."""

    source: str
    row: int
    id: str | None
    field: str | None
    reason: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "source": self.source,
            "row": self.row,
            "id": self.id,
            "field": self.field,
            "reason": self.reason,
            "severity": self.severity,
        }
