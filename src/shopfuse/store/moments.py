"""The moments table: timed parts of product videos, kept in a second store beside the products.

A moment is stored like a product (same backends, same filters, same checks) with the attributes
``product_id``, ``start``, ``end`` and ``motion``, and the keyframe's ``scene`` and ``shot`` (added
to an older table on its next write); its id is ``<product id>#<n>``. It lives in
``<store>/moments`` for a folder store and in ``<collection>_moments`` on a Milvus server, so
every backend carries it without a schema change.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shopfuse.config import EngineConfig
from shopfuse.encoders.base import EncoderInfo
from shopfuse.store.base import Record, VectorStore
from shopfuse.store.filters import MAX_IN_VALUES
from shopfuse.store.locate import create_store, open_store
from shopfuse.store.milvus import is_milvus_uri

__all__ = ["MOMENT_FIELDS", "MOMENT_TAGS", "MomentTable", "moments_location"]

MOMENT_FIELDS = {"product_id": "string", "start": "float64", "end": "float64", "motion": "float64"}
MOMENT_TAGS = {"scene": "string", "shot": "string"}
"""The keyframe's scene and shot type (:mod:`shopfuse.encoders.scene`), when it was tagged."""
FOLDER = "moments"


def moments_location(location: str | Path) -> str | Path:
    """Where the moments of the store at ``location`` live."""
    if is_milvus_uri(location):
        return f"{str(location).rstrip('/')}_moments"
    return Path(location) / FOLDER


class MomentTable:
    """Replace, delete and find the moments of products; created on first write."""

    def __init__(self, location: str | Path, config: EngineConfig) -> None:
        self.location = moments_location(location)
        self.config = config
        self._store: VectorStore | None = None

    def store(self) -> VectorStore | None:
        """The moments store, or ``None`` while no product has a video."""
        if self._store is None and self._exists():
            self._store = open_store(self.location)
        return self._store

    def _exists(self) -> bool:
        if is_milvus_uri(self.location):
            from shopfuse.store.locate import read_engine_config

            try:
                return read_engine_config(self.location) is not None
            except Exception:
                return False
        return (Path(self.location) / "store.json").is_file() or (Path(self.location) / "milvus.db").exists()

    def _ensure(self, columns: dict[str, EncoderInfo]) -> VectorStore:
        store = self.store()
        if store is None:
            from shopfuse.store.locate import write_engine_config

            store = create_store(self.location, columns, self.config)
            write_engine_config(self.location, store, self.config)
            store.ensure_attributes(MOMENT_FIELDS)
            self._store = store
        return store

    def replace(self, records: Sequence[Record], columns: dict[str, EncoderInfo]) -> None:
        """Store the moments of ``records``, dropping each product's earlier moments first."""
        moments = [m for r in records for m in r.moments]
        if not moments and self.store() is None:
            return
        store = self._ensure(columns)
        self.delete_products([r.product.id for r in records])
        if moments:
            known_attributes = store.manifest.attributes
            tags = {
                name: kind
                for name, kind in MOMENT_TAGS.items()
                if name not in known_attributes and any(name in m.product.attributes for m in moments)
            }
            if tags:
                store.ensure_attributes(tags)
            known = set(store.manifest.columns)
            for moment in moments:
                moment.vectors = {c: v for c, v in moment.vectors.items() if c in known}
            store.upsert(moments)

    def delete_products(self, ids: Sequence[str]) -> int:
        """Delete every moment of the products ``ids``; returns how many were deleted."""
        store = self.store()
        if store is None or not ids:
            return 0
        doomed: list[str] = []
        for start in range(0, len(ids), MAX_IN_VALUES):
            chunk = ids[start : start + MAX_IN_VALUES]
            values = ", ".join("'" + i.replace("'", "''") + "'" for i in chunk)
            doomed += store.ids_where(f"product_id IN ({values})")
        return store.delete(doomed) if doomed else 0
