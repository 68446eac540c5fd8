"""Lexical search and hybrid fusion: BM25 over products' own words, merged with vector search.

Words beat meaning for brand names, model codes and rare terms; meaning beats words across
languages and for photo-only products. :class:`LexicalIndex` scores products by BM25 (``bm25s``)
over their title, description, text read in their photos, attribute values and id, with Chinese,
Japanese and Korean segmented by jieba. :func:`fuse` merges a vector ranking and a lexical one by
reciprocal rank fusion or by weighted normalised scores, into scores from 0 to 1 (1: the best
of both rankings) split into a vector and a lexical share. A query word that equals a product's id
or a code in its text (letters and digits, "AB-1234") puts that product first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from shopfuse.errors import ConfigError
from shopfuse.optional import require
from shopfuse.query.understanding import tokenize
from shopfuse.store.base import VectorStore
from shopfuse.types import Hit

__all__ = ["FusionMethod", "LexicalIndex", "fuse", "words"]

FusionMethod = Literal["rrf", "weighted"]
_CODE = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9][a-z0-9-]{2,}$|^\d{5,}$")
TEXT_FIELDS = ("title", "description", "ocr_text")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``; Chinese segmented by jieba, codes kept whole."""
    return [t.casefold() for t in tokenize(text)]


@dataclass(slots=True)
class _Built:
    version: int
    ids: list[str]
    retriever: Any
    vocabulary: set[str]
    codes: dict[str, list[int]] = field(default_factory=dict)


class LexicalIndex:
    """BM25 over every stored product's words, rebuilt when the store changes."""

    def __init__(self, store: VectorStore, *, k1: float = 1.5, b: float = 0.75) -> None:
        self.store = store
        self.k1, self.b = k1, b
        self._built: _Built | None = None

    def _index(self) -> _Built:
        version = self.store.version
        if self._built is not None and self._built.version == version:
            return self._built
        bm25s = require("bm25s", "bm25s", "search", "lexical and hybrid search")

        ids = sorted(self.store.hashes())
        corpus: list[list[str]] = []
        codes: dict[str, list[int]] = {}
        for start in range(0, len(ids), 1000):
            for row in self.store.get(ids[start : start + 1000]):
                text = " ".join(str(row.get(f) or "") for f in TEXT_FIELDS)
                values = " ".join(str(v) for v in (row.get("attributes") or {}).values() if v is not None)
                tokens = words(f"{row['id']} {text} {values}")
                position = len(corpus)
                for token in {row["id"].casefold(), *tokens}:
                    if _CODE.match(token):
                        codes.setdefault(token, []).append(position)
                corpus.append(tokens or ["\u2400"])  # bm25s needs a token per document
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        if corpus:
            retriever.index(corpus, show_progress=False)
        vocabulary = {t for doc in corpus for t in doc}
        self._built = _Built(version, ids, retriever, vocabulary, codes)
        return self._built

    def search(self, query: str, *, k: int = 10) -> list[tuple[str, float]]:
        """``[(id, score)]``, best first: exact codes first, then BM25."""
        if k < 1:
            raise ConfigError("k must be at least 1")
        built = self._index()
        tokens = [t for t in words(query) if t in built.vocabulary]
        exact: dict[int, float] = {}
        for token in words(query):
            for position in built.codes.get(token, []):
                exact[position] = exact.get(position, 0.0) + 1.0
        scored: dict[int, float] = {}
        if tokens and built.ids:
            documents, scores = built.retriever.retrieve(
                [tokens], k=min(k + len(exact), len(built.ids)), show_progress=False
            )
            scored = {int(d): float(s) for d, s in zip(documents[0], scores[0], strict=True) if s > 0}
        top = max(scored.values(), default=0.0)
        # an exact code outranks any BM25 score: 1000 + its matches, then its own BM25 score
        for position, matches in exact.items():
            scored[position] = 1000.0 + matches + scored.get(position, 0.0) / max(top, 1e-9)
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1], built.ids[kv[0]]))[:k]
        return [(built.ids[p], s) for p, s in ranked]


def fuse(
    vector: Sequence[Hit],
    lexical: Sequence[tuple[str, float]],
    *,
    method: FusionMethod = "rrf",
    k: int = 10,
    rrf_k: int = 60,
    lexical_weight: float = 0.5,
) -> list[tuple[str, float, dict[str, float]]]:
    """Merged ``[(id, score, {"vector": part, "lexical": part})]``, best first; scores within [0, 1].

    The two parts always add up to the score; a ranking that did not find a product adds no part.

    ``rrf``: reciprocal rank fusion, ``(1 - w) / (rrf_k + vector rank) + w / (rrf_k + lexical rank)``
    divided by its best possible value ``1 / (rrf_k + 1)``: 1.0 is a product ranked first by both,
    ``w`` (``1 - w``) one ranked first by words (meaning) and not found by the other side. Dividing by a
    constant keeps the order of plain RRF. ``weighted``: ``(1 - w) * vector + w * lexical`` with each
    ranking's scores min-max normalised over its candidates (its best 1, its worst 0; a ranking whose
    candidates all score the same gives them all 1): 1.0 is the best candidate of both rankings.

    Exact code matches (lexical scores of 1000 and more) count as the best lexical candidates and
    are listed first under both methods, before any product without one, whatever their score.
    """
    if method not in ("rrf", "weighted"):
        raise ConfigError(f"unknown fusion {method!r}; choose rrf or weighted")
    if not 0.0 <= lexical_weight <= 1.0:
        raise ConfigError("lexical_weight must be within [0, 1]")
    parts: dict[str, dict[str, float]] = {}
    if method == "rrf":
        best = rrf_k + 1  # 1 / (rrf_k + rank) divided by its value at rank 1
        for rank, hit in enumerate(vector, start=1):
            parts.setdefault(hit.id, {})["vector"] = (1 - lexical_weight) * best / (rrf_k + rank)
        for rank, (pid, _) in enumerate(lexical, start=1):
            parts.setdefault(pid, {})["lexical"] = lexical_weight * best / (rrf_k + rank)
    else:
        for name, pairs, weight in (
            ("vector", [(h.id, h.score) for h in vector], 1 - lexical_weight),
            ("lexical", [(p, s) for p, s in lexical if s < 1000], lexical_weight),
        ):
            if not pairs:
                continue
            values = np.array([s for _, s in pairs], dtype=np.float64)
            low, span = values.min(), values.max() - values.min()
            for (pid, _), value in zip(pairs, values, strict=True):
                parts.setdefault(pid, {})[name] = weight * float((value - low) / span if span > 1e-12 else 1)
    exact = {pid for pid, score in lexical if score >= 1000}
    for pid in exact:
        parts.setdefault(pid, {}).setdefault("lexical", lexical_weight)
    merged = [(pid, sum(p.values()), p) for pid, p in parts.items()]
    merged.sort(key=lambda item: (item[0] not in exact, -item[1], item[0]))
    return merged[:k]
