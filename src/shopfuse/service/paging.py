"""Pages of hits as the API answers them: bounds on ``k``/``offset``/``depth``, sort, facets."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from fastapi import HTTPException

from shopfuse.service.media import media_urls
from shopfuse.service.settings import ServiceSettings
from shopfuse.types import Hit

__all__ = ["check_page", "facet_labels", "page", "sort_hits"]


def check_page(settings: ServiceSettings, k: int, offset: int = 0, depth: int | None = None) -> None:
    """Refuse (400) a page beyond the service's ``max_k``, ``max_offset`` or ten times ``max_k`` deep."""
    if depth is not None and (k > settings.max_k or depth > 10 * settings.max_k):
        raise HTTPException(400, f"k may be at most {settings.max_k} and depth {10 * settings.max_k}")
    if k > settings.max_k:
        raise HTTPException(400, f"k may be at most {settings.max_k}")
    if offset > settings.max_offset:
        raise HTTPException(400, f"offset may be at most {settings.max_offset}")


def facet_labels(facets: str | None) -> list[str]:
    """The attribute labels of a comma-separated ``facets`` parameter."""
    return [f.strip() for f in (facets or "").split(",") if f.strip()]


def sort_hits(hits: list[Hit], sort: str | None, order: str) -> list[Hit]:
    """``hits`` by attribute ``sort`` (numbers before text), those without it last; unsorted if none."""
    if not sort:
        return hits
    present = [h for h in hits if h.attributes.get(sort) is not None]
    missing = [h for h in hits if h.attributes.get(sort) is None]

    def key(hit: Hit) -> tuple[int, Any]:
        value = hit.attributes[sort]
        try:
            return (0, float(value))
        except (TypeError, ValueError):
            return (1, str(value))

    return sorted(present, key=key, reverse=order == "desc") + missing


def page(hits: list[Hit], k: int, offset: int, facets: list[str]) -> dict[str, Any]:
    """The answer body: ``k`` hits from ``offset`` with their "why", the total and facet counts."""
    counted: dict[str, dict[str, int]] = {}
    for label in facets:
        values = Counter(str(h.attributes.get(label)) for h in hits if h.attributes.get(label) is not None)
        counted[label] = dict(values.most_common())
    return {
        "total": len(hits),
        "offset": offset,
        "k": k,
        "hits": [_hit(h) for h in hits[offset : offset + k]],
        "facets": counted,
    }


def _hit(hit: Hit) -> dict[str, Any]:
    out = media_urls(asdict(hit))  # the photo's URL, not its path on the server
    out["why"] = out.pop("contributions")
    out["moments"] = [m.to_dict() for m in hit.moments]  # with their "00:03-00:06" labels
    return out
