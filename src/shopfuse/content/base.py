"""What every copy generator takes and returns, behind one small Protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from shopfuse.content.facts import ProductFacts

__all__ = ["STYLES", "Copy", "CopyGenerator", "CopyRequest", "Lang", "Style"]

Lang = Literal["zh", "en"]
Style = Literal["title", "bullets", "paragraph"]
STYLES: tuple[Style, ...] = ("title", "bullets", "paragraph")


@dataclass(frozen=True, slots=True)
class CopyRequest:
    """What to write: language, shape, and for whom."""

    lang: Lang = "en"
    style: Style = "paragraph"
    audience: str | None = None
    """Free text ("young mothers", "学生党"): moves audience-relevant facts forward."""


@dataclass(slots=True)
class Copy:
    """Generated copy with the claims it makes, each naming the fact it comes from."""

    id: str
    text: str
    lang: str
    style: str
    generator: str
    claims: list[dict[str, Any]] = field(default_factory=list)
    """``{"text", "slot", "value", "status", "fact"}`` per checkable phrase of ``text``."""
    dropped: list[str] = field(default_factory=list)
    """Sentences or clauses removed because the fact check failed them."""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The batch output line: ``id``, ``text``, then the rest."""
        return {
            "id": self.id,
            "text": self.text,
            "lang": self.lang,
            "style": self.style,
            "generator": self.generator,
            "claims": self.claims,
            "dropped": self.dropped,
            "seconds": round(self.seconds, 3),
        }


@runtime_checkable
class CopyGenerator(Protocol):
    """Writes copy for a product from its facts. Registered under kind ``copy_generator``."""

    name: str

    def generate(self, facts: ProductFacts, request: CopyRequest) -> Copy:
        """Copy for one product; every checkable claim in it is supported by ``facts``."""
        ...
