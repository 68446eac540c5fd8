"""Duplicate listings: one hit per listing, its copies and variants named under it.

Shops list the same product several times (a re-listing, each size or colour as its own row),
and those rows fill a result page with one title and one photo. :func:`collapse_hits` groups
ranked hits that are the same listing and keeps the best-ranked one, naming the others in
:attr:`~shopfuse.types.Hit.variants`. Two hits are the same listing when

* both carry the configured variant attribute (H&M's ``product_code``) with the same value;
  different values keep them apart, whatever their titles; or, when either lacks it,
* their titles are equal after normalisation (case, accents' compatibility forms, punctuation
  and spacing ignored) and their stored photos are near-identical (cosine of the ``image``
  vectors at least :data:`PHOTO_THRESHOLD`); products without a photo need near-identical
  ``text`` vectors instead (:data:`TEXT_THRESHOLD`); a product with a photo never joins one
  without.

Each hit is compared with the first (best-ranked) hit of every group with its title, so groups
do not chain: a hit like the second of a group but not the first starts its own.
:func:`collapse_search` searches deeper than ``k`` so that ``k`` distinct listings come back.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from shopfuse.store.base import VectorStore
from shopfuse.types import Hit

__all__ = [
    "PHOTO_THRESHOLD",
    "TEXT_THRESHOLD",
    "DuplicateRule",
    "collapse_hits",
    "collapse_search",
    "normalise_title",
    "stored_vectors",
]

PHOTO_THRESHOLD = 0.95
"""Least cosine of two stored photo vectors (``efficientnet-colour``) for the same listing.

Measured on the fashion catalogue's 6,601 same-title pairs (``benchmarks/duplicates.py``): the 92
with byte-identical photo files score 1.0; of the other 6,509 (median 0.81, 90th percentile 0.90)
61 reach 0.95, pairs that look like one product or a shade or print of it (same shoot, same pose);
between 0.93 and 0.95 they are other colourways and patterns. At 0.95, 147 of the 3,769 products
that share a title fold into another listing (102 at 0.97, 250 at 0.93).
"""
TEXT_THRESHOLD = 0.98
"""Least cosine of two stored text vectors for photo-less products with one title."""
DEPTH_FACTOR = 3
""":func:`collapse_search` first asks for this many times ``k`` hits."""
MAX_DEPTH_FACTOR = 27
"""... and, while collapsing leaves fewer than ``k``, up to this many times ``k``."""

_PUNCTUATION = re.compile(r"[\W_]+")


def normalise_title(title: str | None) -> str:
    """``title`` compared loosely: NFKC, case-folded, punctuation and runs of spacing as one space."""
    if not title:
        return ""
    return " ".join(_PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", title).casefold()).split())


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    """What makes two hits one listing (see the module notes)."""

    photo_threshold: float = PHOTO_THRESHOLD
    text_threshold: float = TEXT_THRESHOLD
    variant_attribute: str | None = None
    """An attribute whose equal values tie variants together (``product_code``); ``None``: titles only."""

    def variant(self, hit: Hit) -> str | None:
        """The hit's variant group value, if the rule has an attribute and the hit a value."""
        if self.variant_attribute is None:
            return None
        value = hit.attributes.get(self.variant_attribute)
        return None if value is None or str(value).strip() == "" else str(value).strip()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _near(a: np.ndarray | None, b: np.ndarray | None, threshold: float) -> bool:
    return a is not None and b is not None and _cosine(a, b) >= threshold


def collapse_hits(
    hits: Sequence[Hit],
    *,
    photos: Mapping[str, np.ndarray],
    texts: Mapping[str, np.ndarray] | None = None,
    rule: DuplicateRule | None = None,
) -> list[Hit]:
    """``hits`` (best first) with each listing once: its best-ranked hit, the others' ids in ``variants``.

    ``photos`` and ``texts`` map hit ids to their stored ``image`` and ``text`` vectors (a hit
    missing from ``photos`` has no photo). The hits given are not changed; kept hits are copies.
    """
    rule = rule or DuplicateRule()
    texts = texts or {}
    kept: list[Hit] = []
    by_variant: dict[str, Hit] = {}
    by_title: dict[str, list[Hit]] = {}
    for hit in hits:
        variant = rule.variant(hit)
        leader = by_variant.get(variant) if variant is not None else None
        if leader is None:
            title = normalise_title(hit.title)
            for other in by_title.get(title, []) if title else []:
                if variant is not None and rule.variant(other) not in (None, variant):
                    continue  # both name their variant group, and the groups differ
                photo, other_photo = photos.get(hit.id), photos.get(other.id)
                if photo is None and other_photo is None:
                    same = _near(texts.get(hit.id), texts.get(other.id), rule.text_threshold)
                else:
                    same = _near(photo, other_photo, rule.photo_threshold)
                if same:
                    leader = other
                    break
        if leader is not None:
            leader.variants.append(hit.id)
            if variant is not None:
                by_variant.setdefault(variant, leader)
            continue
        hit = replace(hit, variants=list(hit.variants))
        kept.append(hit)
        if variant is not None:
            by_variant[variant] = hit
        title = normalise_title(hit.title)
        if title:
            by_title.setdefault(title, []).append(hit)
    return kept


class _Vectors:
    """One column's ids and matrix, with the row of each id, at one store version."""

    def __init__(self, version: int, ids: list[str], matrix: np.ndarray) -> None:
        self.version = version
        self.matrix = matrix
        self.position = {pid: row for row, pid in enumerate(ids)}


_cache: weakref.WeakKeyDictionary[Any, dict[str, _Vectors]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def stored_vectors(store: VectorStore, column: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """The stored ``column`` vectors of those ``ids`` that have one.

    A Lance store answers from the matrix its search already holds in memory; other stores'
    columns are read once per store version and kept.
    """
    if column not in store.manifest.columns or not ids:
        return {}
    held = getattr(store, "_matrix", None)  # LanceStore: search's own per-version snapshot
    if callable(held):
        _, matrix, position = held(column)
    else:
        version = store.version
        with _lock:
            try:
                columns = _cache.setdefault(store, {})
            except TypeError:  # a store that cannot be weakly referenced: read every time
                columns = {}
            entry = columns.get(column)
            if entry is None or entry.version != version:
                entry = columns[column] = _Vectors(version, *store.vectors(column))
        matrix, position = entry.matrix, entry.position
    return {pid: matrix[position[pid]] for pid in ids if pid in position}


def collapse_search(
    search: Callable[[int], list[Hit]],
    k: int,
    store: VectorStore,
    *,
    variant_attribute: str | None = None,
) -> list[Hit]:
    """The best ``k`` distinct listings of ``search(depth)`` (hits best first), variants collapsed.

    Asks for ``3k`` hits, and deeper (up to ``27k``) while collapsing leaves fewer than ``k``
    and the search had more to give.
    """
    rule = DuplicateRule(variant_attribute=variant_attribute)
    depth = DEPTH_FACTOR * k
    while True:
        hits = search(depth)
        ids = [h.id for h in hits]
        photos = stored_vectors(store, "image", ids)
        texts = stored_vectors(store, "text", [i for i in ids if i not in photos])
        kept = collapse_hits(hits, photos=photos, texts=texts, rule=rule)
        if len(kept) >= k or len(hits) < depth or depth >= MAX_DEPTH_FACTOR * k:
            return kept[:k]
        depth *= DEPTH_FACTOR
