"""The store Protocol: vectors per modality plus product fields and attributes, with filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import Field

from shopfuse.config import AnnSettings, SavableConfig
from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import EncoderMismatchError, StoreError
from shopfuse.types import Product

__all__ = [
    "SCHEMA_VERSION",
    "CheckReport",
    "Damage",
    "Record",
    "StoreManifest",
    "StoredHit",
    "VectorStore",
    "check_encoder",
    "check_query",
]

SCHEMA_VERSION = 1


class StoreManifest(SavableConfig):
    """What a store holds: one vector column per modality, the encoder that made it, attribute types."""

    schema_version: int = SCHEMA_VERSION
    columns: dict[str, dict[str, Any]] = Field(default_factory=dict)
    attributes: dict[str, str] = Field(default_factory=dict)
    ann: AnnSettings | None = None
    """Approximate search settings chosen when the store was made; ``None``: exact search only."""

    def encoder(self, column: str) -> EncoderInfo:
        """The encoder behind ``column``."""
        if column not in self.columns:
            raise StoreError(
                f"the store has no {column!r} vectors (it has: {', '.join(self.columns) or 'none'})"
            )
        return EncoderInfo.from_dict(self.columns[column])

    def encoders(self) -> dict[str, EncoderInfo]:
        """``{column: encoder}`` for every vector column."""
        return {name: EncoderInfo.from_dict(info) for name, info in self.columns.items()}


@dataclass(slots=True)
class Record:
    """A product ready to store: its content hash and one vector per modality it has."""

    product: Product
    content_hash: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    ocr_text: str | None = None
    contributions: dict[str, float] = field(default_factory=dict)
    """How much each modality shaped the fused product vector (empty without a model)."""
    moments: list[Record] = field(default_factory=list)
    """Timed parts of the product's video, stored in the store's moments table (replacing earlier ones)."""


@dataclass(slots=True)
class StoredHit:
    """One row found by a vector search of one column."""

    id: str
    score: float
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Damage:
    """One problem a store check found: the damaged part (a file, folder or column) and what is wrong."""

    part: str
    message: str
    ids: tuple[str, ...] = ()
    """Products whose stored vectors are bad, when the problem is in the vectors."""


@dataclass(slots=True)
class CheckReport:
    """What :meth:`VectorStore.check` found, with what it read and how long it took."""

    store: str
    backend: str
    problems: list[Damage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Findings that are not damage (no checksum record yet, writes after the last record...)."""
    rows: int = 0
    recorded_rows: int | None = None
    vectors: dict[str, int] = field(default_factory=dict)
    """Vectors read per column (products flagged as having one)."""
    files_checked: int = 0
    bytes_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no damage was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = asdict(self)
        data["ok"] = self.ok
        data["problems"] = [{"part": d.part, "message": d.message, "ids": list(d.ids)} for d in self.problems]
        return data


@runtime_checkable
class VectorStore(Protocol):
    """A persistent product store with exact vector search; every backend passes one contract suite."""

    @property
    def manifest(self) -> StoreManifest:
        """Vector columns with their encoders, and attribute types."""
        ...

    @property
    def version(self) -> int:
        """Changes whenever the stored products change (caches of derived data key on it)."""
        ...

    def count(self) -> int:
        """Number of products."""
        ...

    def ids_where(self, where: str) -> list[str]:
        """Ids of the products matching the filter ``where`` (language: :mod:`shopfuse.store.filters`)."""
        ...

    def modality_counts(self) -> dict[str, int]:
        """Products that have a vector, per column."""
        ...

    def hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every stored product."""
        ...

    def ensure_attributes(self, types: dict[str, str]) -> dict[str, str]:
        """Add columns for attributes never seen before; returns the stored type of each."""
        ...

    def add_columns(self, columns: dict[str, EncoderInfo], *, replace: bool = False) -> None:
        """Add empty vector columns (a modality the store did not have); stored products lack them.

        ``replace``: a column that exists with another encoder is emptied and takes the new one.
        """
        ...

    def upsert(self, records: Sequence[Record]) -> None:
        """Insert or replace ``records`` in one atomic commit."""
        ...

    def delete(self, ids: Sequence[str]) -> int:
        """Delete products by id; returns how many existed."""
        ...

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Stored fields (no vectors) of ``ids`` that exist, in the order asked."""
        ...

    def search(
        self,
        column: str,
        vector: np.ndarray,
        *,
        encoder: EncoderInfo,
        k: int = 10,
        where: str | None = None,
    ) -> list[StoredHit]:
        """Exact top-``k`` by inner product in ``column``, among rows that match ``where``."""
        ...

    def vectors(self, column: str) -> tuple[list[str], np.ndarray]:
        """Ids and the ``(n, dim)`` matrix of every product that has a ``column`` vector."""
        ...

    def optimize(self) -> None:
        """Compact storage after many small commits."""
        ...

    def refresh(self) -> None:
        """Bring in-memory read caches up to the latest commit now, before the next read needs them.

        A writer calls this before acknowledging a write, so every read after the acknowledgement
        sees it, while reads during the write keep being answered from the previous version.
        """
        ...

    def check(self) -> CheckReport:
        """Read everything and report damage: row counts, unreadable data, vectors that are not unit."""
        ...


def check_encoder(manifest: StoreManifest, column: str, encoder: EncoderInfo) -> None:
    """Refuse a query vector made by another encoder than the column's."""
    stored = manifest.encoder(column)
    if stored != encoder:
        raise EncoderMismatchError(
            f"query for {column!r} vectors was encoded by {encoder.describe()} in space "
            f"{encoder.space!r}, but the store's {column!r} vectors were made by "
            f"{stored.describe()} in space {stored.space!r}; search with the store's encoder "
            "or re-ingest into a new store"
        )


def check_query(manifest: StoreManifest, column: str, vector: np.ndarray, encoder: EncoderInfo) -> np.ndarray:
    """The query as a flat float32 vector, after checking its encoder and size against ``column``."""
    check_encoder(manifest, column, encoder)
    query = np.asarray(vector, dtype=np.float32).ravel()
    if query.shape[0] != encoder.dim:
        raise StoreError(f"query vector has {query.shape[0]} dims, {column!r} has {encoder.dim}")
    return query
