"""Text and photo in one query: the two rankings merged by reciprocal rank fusion.

A shopper uploads a photo and adds words ("like this, but in red"). The text and the photo are
searched separately, each in its own space, and the two rankings are merged with weighted
reciprocal rank fusion: rank positions, not raw scores, so cosine scores from different encoders
need no calibration. Products found by both queries rise to the top.
"""

from __future__ import annotations

from collections.abc import Sequence

from shopfuse.errors import ConfigError
from shopfuse.types import Hit

__all__ = ["IMAGE_QUERY", "TEXT_QUERY", "fuse_text_and_image"]

TEXT_QUERY = "text_query"
"""Contribution key: the text query's share of a combined score."""
IMAGE_QUERY = "image_query"
"""Contribution key: the photo query's share of a combined score."""


def fuse_text_and_image(
    text_hits: Sequence[Hit],
    image_hits: Sequence[Hit],
    *,
    k: int = 10,
    image_weight: float = 0.5,
    rrf_k: int = 60,
) -> list[Hit]:
    """The best ``k`` of two rankings by weighted reciprocal rank fusion, best first.

    A product's score is ``(1 - w) * 2 / (rrf_k + text rank) + w * 2 / (rrf_k + photo rank)``
    over the rankings it appears in, with ``w = image_weight``. Its contributions keep each side's
    per-modality scores (the larger where both name the same modality) plus the two shares under
    :data:`TEXT_QUERY` and :data:`IMAGE_QUERY`, so the "why" says which query found it.
    """
    if not 0.0 <= image_weight <= 1.0:
        raise ConfigError("image_weight must be within [0, 1]")
    if k < 1:
        raise ConfigError("k must be at least 1")
    merged: dict[str, Hit] = {}
    for hits, key, weight in (
        (text_hits, TEXT_QUERY, 1.0 - image_weight),
        (image_hits, IMAGE_QUERY, image_weight),
    ):
        for rank, hit in enumerate(hits, start=1):
            share = weight * 2.0 / (rrf_k + rank)
            fused = merged.get(hit.id)
            if fused is None:
                fused = Hit(
                    id=hit.id,
                    score=0.0,
                    title=hit.title,
                    image=hit.image,
                    attributes=dict(hit.attributes),
                    matched=dict(hit.matched),
                )
                merged[hit.id] = fused
            for modality, score in hit.contributions.items():
                fused.contributions[modality] = max(score, fused.contributions.get(modality, score))
            fused.contributions[key] = share
            fused.score += share
    return sorted(merged.values(), key=lambda h: (-h.score, h.id))[:k]
