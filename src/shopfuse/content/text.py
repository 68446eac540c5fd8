"""Text pieces the content features share: language guess, sentences, clauses and words, zh and en."""

from __future__ import annotations

import re

from shopfuse.query.understanding import tokenize

__all__ = ["clauses", "is_chinese", "language", "sentences", "words"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=[.])(?=\s+[A-Z0-9\"'(])|\n+")
_CLAUSE_END = re.compile(r"(?<=[，,：:])")
_WORD = re.compile(r"\w")


def is_chinese(text: str) -> bool:
    """Whether ``text`` is mostly Chinese: at least a third of its letters are CJK characters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    return sum(1 for c in letters if _CJK.match(c)) * 3 >= len(letters)


def language(text: str) -> str:
    """``"zh"`` or ``"en"``: the two languages the content features write and check."""
    return "zh" if is_chinese(text) else "en"


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (Chinese and English punctuation, line breaks), stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def clauses(sentence: str) -> list[str]:
    """The comma-separated parts of one sentence, each keeping its trailing punctuation."""
    return [c for c in _CLAUSE_END.split(sentence) if c.strip()]


def words(text: str) -> list[str]:
    """Case-folded words; Chinese segmented with jieba (the tokeniser search uses)."""
    return [t.casefold() for t in tokenize(text or "") if _WORD.search(t)]
