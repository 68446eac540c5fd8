"""Query understanding: find the catalogue's attribute values in a query, in any language.

"black trousers", "黑色裤子" and "pantalon noir" all become ``colour = Black`` and
``type = Trousers``: every contiguous phrase of the query (words, or jieba segments for Chinese) is
embedded by the multilingual text encoder and compared with the embedded attribute values the
model knows. A phrase that is close enough to a value becomes a soft constraint on that label; the
rest of the query stays free text. The matched values also give a rewrite of the query in the
catalogue's own words, which is what closes most of the gap between languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from shopfuse.encoders.base import TextEncoder
from shopfuse.errors import ConfigError

__all__ = ["Constraint", "ParsedQuery", "QueryUnderstanding", "readable_value", "tokenize"]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_WORD = re.compile(r"[^\W_]+(?:['/-][^\W_]+)*", re.UNICODE)


@cache
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Words of ``text``; chunks with Chinese/Japanese/Korean characters are segmented with jieba."""
    tokens: list[str] = []
    for chunk in text.split():
        if re.search(rf"[{_CJK}]", chunk):
            tokens += [t for t in _jieba().lcut(chunk) if _WORD.search(t)]
        else:
            tokens += _WORD.findall(chunk)
    return tokens


@dataclass(slots=True, frozen=True)
class Constraint:
    """A query phrase read as a label's value(s): ``values`` maps each value to its weight.

    The value the phrase names best has weight 1, values nearly as close a little less, and
    narrower kinds of them ("Jeans" under "Trousers") a part of their parent's weight. Agreement
    with a product is ``sum(weight * P(value))``: the chance it is any of them, at most 1.
    """

    label: str
    phrase: str
    values: dict[str, float]
    similarity: float

    @property
    def value(self) -> str:
        """The most likely value."""
        return max(self.values.items(), key=lambda kv: kv[1])[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "label": self.label,
            "phrase": self.phrase,
            "values": {k: round(v, 4) for k, v in self.values.items()},
            "similarity": round(self.similarity, 4),
        }


@dataclass(slots=True)
class ParsedQuery:
    """A query split into attribute constraints and free text, plus its catalogue-language rewrite."""

    text: str
    constraints: list[Constraint] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    rewrite: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "text": self.text,
            "constraints": [c.to_dict() for c in self.constraints],
            "free": self.free,
            "rewrite": self.rewrite,
        }


class QueryUnderstanding:
    """Matches query phrases against attribute values in the multilingual text space.

    Args:
        encoder: the text encoder the values and phrases are embedded with (multilingual, so a
            phrase in any language lands next to the value's name).
        vocabulary: ``{label: [values]}``, usually a model's attribute classes.
        threshold: the cosine a phrase needs to a value to become a constraint.
        margin: values within ``margin`` of the best one share the constraint (``深蓝色`` is both
            "Dark Blue" and, a little less, "Blue").
        max_words: the longest phrase tried.
        aliases: ``{label: {value: [other words for it]}}``, e.g. from
            :func:`shopfuse.query.glossary.value_aliases` (other languages' words for the value).
        narrower: ``{label: {value: [values of narrower kinds]}}``, e.g. from
            :func:`shopfuse.query.glossary.narrower_values`: a constraint on "Trousers" also
            accepts "Jeans" and "Track Pants", with ``narrower_weight`` of the value's weight.
        translations: ``{word: English word}``, e.g. from
            :func:`shopfuse.query.glossary.translations`: a phrase that names no value exactly is
            compared as its English word, so both languages fall back to the same value (or none).
    """

    def __init__(
        self,
        encoder: TextEncoder,
        vocabulary: Mapping[str, Sequence[str]],
        *,
        threshold: float = 0.6,
        margin: float = 0.05,
        max_words: int = 3,
        aliases: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        narrower: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        narrower_weight: float = 0.5,
        translations: Mapping[str, str] | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {threshold}")
        if not 0.0 <= narrower_weight <= 1.0:
            raise ConfigError(f"narrower_weight must be in [0, 1], got {narrower_weight}")
        self.narrower = narrower or {}
        self.translations = {k.casefold(): v for k, v in (translations or {}).items()}
        self.narrower_weight = narrower_weight
        self.encoder = encoder
        self.threshold = threshold
        self.margin = margin
        self.max_words = max_words
        self.labels: list[str] = []
        self.values: list[str] = []
        self.texts: list[str] = []
        """One row per way of naming a value: the value itself and each alias."""
        aliases = aliases or {}
        for label, values in vocabulary.items():
            for value in dict.fromkeys(str(v) for v in values if str(v).strip()):
                for text in dict.fromkeys([readable_value(value), *aliases.get(label, {}).get(value, [])]):
                    self.labels.append(label)
                    self.values.append(value)
                    self.texts.append(text)
        self._value_vectors = (
            encoder.encode_text(self.texts, role="query")
            if self.values
            else np.zeros((0, encoder.text_info.dim), dtype=np.float32)
        )
        self._exact: dict[str, list[int]] = {}
        """Rows naming each text exactly (case-insensitive): the value's name or an alias."""
        for i, text in enumerate(self.texts):
            self._exact.setdefault(text.casefold(), []).append(i)
            self._exact.setdefault(self.values[i].casefold(), []).append(i)
        self._label_index = {
            label: np.array([i for i, lb in enumerate(self.labels) if lb == label], dtype=np.int64)
            for label in dict.fromkeys(self.labels)
        }

    def parse(self, query: str) -> ParsedQuery:
        """Constraints found in ``query``, the words left over, and the rewrite."""
        tokens = tokenize(query)
        parsed = ParsedQuery(text=query, free=list(tokens))
        if not tokens or not self.values:
            parsed.rewrite = query
            return parsed
        spans = [
            (start, end)
            for start in range(len(tokens))
            for end in range(start + 1, min(len(tokens), start + self.max_words) + 1)
        ]
        phrases = [_join(tokens[s:e]) for s, e in spans]
        compared = [self.translations.get(p.casefold(), p) for p in phrases]
        sims = self.encoder.encode_text(compared, role="query") @ self._value_vectors.T
        for row, phrase in enumerate(phrases):
            # a phrase naming a value exactly beats any similarity, longer exact phrases first
            start, end = spans[row]
            sims[row, self._exact.get(phrase.casefold(), [])] = 2.0 + 0.01 * (end - start)

        candidates: list[tuple[float, int, str]] = []
        for row in range(len(spans)):
            for label, columns in self._label_index.items():
                best = float(sims[row, columns].max())
                if best >= self.threshold:
                    candidates.append((best, row, label))
        candidates.sort(key=lambda c: (-c[0], spans[c[1]][0] - spans[c[1]][1]))
        used = np.zeros(len(tokens), dtype=bool)
        taken: set[str] = set()
        chosen: list[tuple[int, int, Constraint]] = []
        for best, row, label in candidates:
            start, end = spans[row]
            if label in taken or used[start:end].any():
                continue
            columns = self._label_index[label]
            near = columns[sims[row, columns] >= max(self.threshold, best - self.margin)]
            closest: dict[str, float] = {}
            for i in near:
                closest[self.values[i]] = max(closest.get(self.values[i], -1.0), float(sims[row, i]))
            weights = np.exp((np.array(list(closest.values())) - best) / 0.02)
            weights /= weights.max()  # "any of": the best value counts fully, close ones a little less
            values = {v: float(w) for v, w in zip(closest, weights, strict=True)}
            for value, weight in list(values.items()):
                for kind in self.narrower.get(label, {}).get(value, ()):
                    values[kind] = max(values.get(kind, 0.0), weight * self.narrower_weight)
            similarity = min(best, 1.0)
            chosen.append((start, end, Constraint(label, phrases[row], values, similarity)))
            used[start:end] = True
            taken.add(label)
        chosen.sort(key=lambda c: c[0])
        parsed.constraints = [c for _, _, c in chosen]
        parsed.free = [t for t, u in zip(tokens, used, strict=True) if not u]
        words: list[str] = []
        starts = {start: (end, c) for start, end, c in chosen}
        position = 0
        while position < len(tokens):
            if position in starts:
                end, constraint = starts[position]
                words.append(readable_value(constraint.value))
                position = end
            else:
                words.append(tokens[position])
                position += 1
        parsed.rewrite = " ".join(words)
        return parsed


def _join(tokens: Sequence[str]) -> str:
    """Tokens back into a phrase: no spaces between CJK tokens."""
    out = ""
    for token in tokens:
        if out and not (re.match(rf"[{_CJK}]", token) or re.search(rf"[{_CJK}]$", out)):
            out += " "
        out += token
    return out


def readable_value(value: str) -> str:
    """Attribute values as words: ``Leggings/Tights`` -> ``Leggings Tights``, ``T-shirt`` stays."""
    return re.sub(r"[/_]+", " ", value).strip()
