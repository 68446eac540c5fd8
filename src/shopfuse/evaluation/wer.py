"""Word error rate: word-level edit distance over the reference length (case and punctuation ignored)."""

from __future__ import annotations

import re

__all__ = ["word_error_rate", "words"]


def words(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return re.findall(r"[\w']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / words in ``reference``."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        raise ValueError("empty reference: the word error rate is undefined")
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1] / len(ref)
