"""The items recommendations rank: ids, content vectors from the store, attributes, learned categories."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.encoders.base import l2_normalize
from shopfuse.errors import StoreError
from shopfuse.store.base import VectorStore

__all__ = ["CONTENT_COLUMNS", "ItemSpace"]

CONTENT_COLUMNS = ("product", "image", "text")
"""Columns tried for item content, best first: the model's fused vector, the photo, the title."""

GROUP_ATTRIBUTES = ("product_code", "group_id", "parent_id", "item_group_id", "style_id", "model")
"""Attributes that, when a catalogue has them, tie colour/size variants of one product together."""


@dataclass(slots=True)
class ItemSpace:
    """Every stored product with a content vector, and what recommendations need to know of it."""

    ids: list[str]
    vectors: np.ndarray
    """``(n, d)`` unit content vectors."""
    column: str
    attributes: list[dict[str, Any]] = field(default_factory=list)
    titles: list[str | None] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)
    categories: np.ndarray | None = None
    """A learned category per item (k-means over content), see :meth:`learn_categories`."""
    category_names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {pid: row for row, pid in enumerate(self.ids)}

    @classmethod
    def from_store(cls, store: VectorStore, column: str | None = None) -> ItemSpace:
        """Items of ``store`` with vectors in ``column`` (default: the best column it has)."""
        columns = store.manifest.columns
        if column is None:
            counts = store.modality_counts()
            column = next((c for c in CONTENT_COLUMNS if counts.get(c)), None)
            if column is None:
                raise StoreError("the store has no product, image or text vectors to recommend from")
        elif column not in columns:
            raise StoreError(f"the store has no {column!r} vectors (it has: {', '.join(columns)})")
        ids, matrix = store.vectors(column)
        rows = {row["id"]: row for row in store.get(ids)}
        space = cls(
            ids=list(ids),
            vectors=l2_normalize(matrix) if len(ids) else matrix,
            column=column,
            attributes=[rows[i].get("attributes") or {} for i in ids],
            titles=[rows[i].get("title") for i in ids],
            images=[rows[i].get("image") for i in ids],
        )
        return space

    def __len__(self) -> int:
        return len(self.ids)

    def group_of(self, row: int) -> str | None:
        """The variant group (product code and the like) of an item, when the catalogue has one."""
        attrs = self.attributes[row] if self.attributes else {}
        for name in GROUP_ATTRIBUTES:
            value = attrs.get(name)
            if value not in (None, ""):
                return f"{name}={value}"
        return None

    def learn_categories(self, n: int | None = None, *, seed: int = 0) -> None:
        """Cluster items by content into categories, named by their commonest attribute values.

        Categories come from the shop's own content, not from a hand-written table, so they exist
        for photo-only products too.
        """
        from sklearn.cluster import KMeans

        if len(self) == 0:
            self.categories = np.zeros(0, dtype=np.int64)
            return
        count = n or int(np.clip(round(np.sqrt(len(self) / 4)), 2, 48))
        count = min(count, len(self))
        km = KMeans(n_clusters=count, n_init=3, random_state=seed)
        self.categories = km.fit_predict(self.vectors).astype(np.int64)
        naming = _naming_attributes(self.attributes)
        self.category_names = [self._name(np.flatnonzero(self.categories == c), naming) for c in range(count)]

    def _name(self, members: np.ndarray, naming: list[str]) -> str:
        """The commonest value of the ``naming`` attributes among ``members``, else of title words."""
        best: tuple[float, str] = (0.0, "")
        for name in naming:
            values = Counter(
                str(self.attributes[i][name])
                for i in members
                if self.attributes[i].get(name) not in (None, "")
            )
            if not values:
                continue
            value, hits = values.most_common(1)[0]
            share = hits / len(members)
            if share > best[0]:
                best = (share, value)
        if best[1]:
            return best[1]
        words = Counter(
            w.lower() for i in members for w in (self.titles[i] or "").split() if len(w) > 2 and w.isalpha()
        )
        return words.most_common(1)[0][0] if words else f"group {len(members)}"


def _naming_attributes(attributes: list[dict[str, Any]]) -> list[str]:
    """Attribute names that look like kinds of product (type/category), most specific first."""
    names = {n for attrs in attributes for n in attrs}
    keys = ("product_type", "articletype", "type", "category", "subcategory", "product_group")
    ranked = [n for key in keys for n in sorted(names) if key in n.lower().replace(" ", "_")]
    return list(dict.fromkeys(ranked))
