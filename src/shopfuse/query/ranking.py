"""Attribute-aware ranking: learned-space similarity plus agreement with what the query asks for.

A product's score for a query with constraints (from :mod:`shopfuse.query.understanding`) is

    cos(query, product) + w * sum over constraints of log(floor + sum_v weight_v * P(v | product))

where ``P`` comes from the model's attribute heads (fused heads blended with photo heads for
products with a photo) or, where the catalogue states the attribute itself, from that value.
Predictions for the whole store are computed once per store version and kept in memory, so a query
costs two matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopfuse.encoders.base import TextEncoder
from shopfuse.model.attributes import stated_value
from shopfuse.model.shop_model import RankingSettings, ShopModel
from shopfuse.query.glossary import narrower_values, translations, value_aliases
from shopfuse.query.understanding import ParsedQuery, QueryUnderstanding
from shopfuse.store.base import VectorStore
from shopfuse.tasks.ingest import PRODUCT
from shopfuse.types import Hit, Modality

__all__ = ["AttributeIndex", "AttributeRanker", "query_understanding"]

KNOWN_PROBABILITY = 0.97
"""Probability given to an attribute value the catalogue states (not 1: catalogues have errors)."""


@dataclass(slots=True)
class AttributeIndex:
    """Per store version: fused product vectors and attribute probabilities of every product."""

    version: int
    ids: list[str]
    position: dict[str, int]
    vectors: np.ndarray
    probabilities: dict[str, np.ndarray]
    classes: dict[str, dict[str, int]]


def query_understanding(
    text: TextEncoder, vocabulary: Mapping[str, Sequence[str]], settings: RankingSettings
) -> QueryUnderstanding:
    """Understanding of ``vocabulary``'s values with or without the glossary, as ``settings`` say.

    With ``settings.glossary`` off, a phrase reaches a value only through the shop's own value
    names: exactly, or by its multilingual encoder similarity; no hand-written word list.
    """
    glossary = settings.glossary
    return QueryUnderstanding(
        text,
        vocabulary,
        threshold=settings.threshold,
        aliases=value_aliases(text, vocabulary) if glossary else None,
        narrower=narrower_values(text, vocabulary) if glossary else None,
        narrower_weight=settings.narrower_weight,
        translations=translations() if glossary else None,
    )


class AttributeRanker:
    """Ranks a store's products for parsed queries with a model's attribute heads."""

    def __init__(self, store: VectorStore, model: ShopModel, text: TextEncoder) -> None:
        if model.heads is None:
            raise ValueError("attribute-aware ranking needs a model trained with --labels")
        self.store = store
        self.model = model
        self.text = text
        self._understanding: tuple[tuple[bool, float, float], QueryUnderstanding] | None = None
        self._index: AttributeIndex | None = None

    @property
    def understanding(self) -> QueryUnderstanding:
        """Query understanding as the model's ranking settings say now (rebuilt when they change)."""
        settings = self.model.config.ranking
        key = (settings.glossary, settings.threshold, settings.narrower_weight)
        if self._understanding is None or self._understanding[0] != key:
            assert self.model.heads is not None
            built = query_understanding(self.text, self.model.heads.classes_, settings)
            self._understanding = (key, built)
        return self._understanding[1]

    def parse(self, query: str) -> ParsedQuery:
        """The query's constraints, free words and rewrite."""
        return self.understanding.parse(query)

    def index(self) -> AttributeIndex:
        """The cached index, rebuilt when the store has changed."""
        version = self.store.version
        if self._index is None or self._index.version != version:
            self._index = self._build(version)
        return self._index

    def _build(self, version: int) -> AttributeIndex:
        ids, vectors = self.store.vectors(PRODUCT)
        position = {pid: i for i, pid in enumerate(ids)}
        image = np.zeros((len(ids), self.model.input_dims().get(Modality.IMAGE.value, 0)), dtype=np.float32)
        has_image = np.zeros(len(ids), dtype=bool)
        if Modality.IMAGE.value in self.store.manifest.columns and image.shape[1]:
            image_ids, image_vectors = self.store.vectors(Modality.IMAGE.value)
            rows = np.array([position[i] for i in image_ids if i in position], dtype=np.int64)
            keep = np.array([i in position for i in image_ids], dtype=bool)
            image[rows], has_image[rows] = image_vectors[keep], True
        probabilities = self.model.attribute_probabilities(vectors, image, has_image)
        assert self.model.heads is not None
        classes = {
            label: {value: j for j, value in enumerate(values)}
            for label, values in self.model.heads.classes_.items()
        }
        values = {label: list(by_value) for label, by_value in classes.items()}
        if ids:
            # what the catalogue states (an attribute, or a value the title names) outranks the photo
            for start in range(0, len(ids), 1000):
                for row in self.store.get(ids[start : start + 1000]):
                    for label in classes:
                        value = stated_value(label, row["attributes"], row.get("title"), values[label])
                        j = classes[label].get(value) if value is not None else None
                        if j is not None:
                            p = probabilities[label][position[row["id"]]]
                            p *= (1 - KNOWN_PROBABILITY) / max(float(p.sum() - p[j]), 1e-9)
                            p[j] = KNOWN_PROBABILITY
        return AttributeIndex(version, ids, position, vectors, probabilities, classes)

    def search(
        self, vector: np.ndarray, parsed: ParsedQuery, *, k: int = 10, where: str | None = None
    ) -> list[Hit]:
        """Top ``k`` by learned-space score plus attribute agreement, with the "why" of each hit."""
        index = self.index()
        if not index.ids:
            return []
        settings = self.model.config.ranking
        similarity = index.vectors @ np.asarray(vector, dtype=np.float32)
        agreement = np.zeros(len(index.ids), dtype=np.float32)
        evidence: dict[str, np.ndarray] = {}
        for constraint in parsed.constraints:
            probabilities = index.probabilities[constraint.label]
            weights = np.zeros(probabilities.shape[1], dtype=np.float32)
            for value, weight in constraint.values.items():
                weights[index.classes[constraint.label][value]] = weight
            evidence[constraint.label] = probabilities @ weights
            agreement += np.log(settings.floor + evidence[constraint.label])
        agreement /= max(len(parsed.constraints), 1) ** 0.5
        scores = similarity + settings.attribute_weight * agreement
        if where and where.strip():
            keep = np.zeros(len(index.ids), dtype=bool)
            allowed = [index.position[i] for i in self.store.ids_where(where) if i in index.position]
            keep[allowed] = True
            scores = np.where(keep, scores, -np.inf)
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort(([index.ids[i] for i in top], -scores[top]))]
        rows = {row["id"]: row for row in self.store.get([index.ids[i] for i in top])}
        hits = []
        for i in top:
            row: dict[str, Any] = rows.get(index.ids[i], {"attributes": {}})
            shares = row.get("contributions") or {}
            contributions = {m: float(similarity[i]) * w for m, w in shares.items()} or {
                PRODUCT: float(similarity[i])
            }
            contributions["attributes"] = float(settings.attribute_weight * agreement[i])
            hits.append(
                Hit(
                    id=index.ids[i],
                    score=float(scores[i]),
                    title=row.get("title"),
                    image=row.get("image"),
                    attributes=row.get("attributes", {}),
                    contributions=contributions,
                    matched={
                        c.label: {"value": c.value, "probability": round(float(evidence[c.label][i]), 4)}
                        for c in parsed.constraints
                    },
                )
            )
        return hits
