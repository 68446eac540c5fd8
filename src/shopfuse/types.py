"""Core vocabulary: modalities, products, search hits and ingest problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = ["Hit", "Modality", "Moment", "Problem", "Product", "Severity", "TextRole", "clock"]

TextRole = Literal["query", "passage"]
Severity = Literal["error", "warning"]


class Modality(StrEnum):
    """A kind of product content; also the name of the store's vector column for it."""

    TEXT = "text"
    IMAGE = "image"
    OCR = "ocr"
    VIDEO = "video"
    SPEECH = "speech"
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
class Moment:
    """A timed part of a product video that matched a query: ``start``-``end`` seconds, and why."""

    product_id: str
    start: float
    end: float
    score: float
    video: str | None = None
    title: str | None = None
    contributions: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``00:12-00:18``."""
        return f"{clock(self.start)}-{clock(self.end)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "product_id": self.product_id,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "score": round(self.score, 6),
            "title": self.title,
            "contributions": {k: round(v, 6) for k, v in self.contributions.items()},
        }


def clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss``) of a time in seconds."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


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
    moments: list[Moment] = field(default_factory=list)
    """The parts of the product's video that match the query best."""
    variants: list[str] = field(default_factory=list)
    """Ids of other listings of the same product (duplicates, variants) collapsed into this hit."""

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
        if self.moments:
            out["moments"] = [m.to_dict() for m in self.moments]
        if self.variants:
            out["variants"] = list(self.variants)
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
