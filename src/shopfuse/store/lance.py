"""The embedded default store: a LanceDB table on disk, one vector column per modality."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pyarrow as pa
from pyarrow.dataset import dataset

from shopfuse.config import AnnSettings
from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import FilterError, StoreError
from shopfuse.optional import require
from shopfuse.registry import registry
from shopfuse.store.ann import EXACT_MATCHES, AnnIndex
from shopfuse.store.attributes import attribute_type, check_attribute_name, coerce_attribute
from shopfuse.store.base import CheckReport, Record, StoredHit, StoreManifest, check_query
from shopfuse.store.filters import Filter, parse_filter, store_fields, to_arrow, to_sql
from shopfuse.store.integrity import INTEGRITY_FILE, TableIntegrity, damaged

__all__ = ["LanceStore"]

TABLE = "products"
MANIFEST = "store.json"
TABLE_FOLDER = f"lance/{TABLE}.lance"
"""The table's folder in the store folder; its files are checksummed (see :mod:`shopfuse.store.integrity`)."""
FIELDS = (
    "id",
    "_hash",
    "title",
    "description",
    "lang",
    "image",
    "images",
    "video",
    "audio",
    "_ocr_text",
    "_contributions",
)
"""Stored product fields; ``_``-prefixed ones are shopfuse's own, the rest mirror :class:`Product`."""
FIELD_CACHE_ROWS = 1_000_000
"""Up to this many products, search results' fields come from an in-memory copy of the table."""
_T = TypeVar("_T")
_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}


def vector_field(column: str) -> str:
    """Name of the Lance column that holds ``column``'s vectors."""
    return f"_vec_{column}"


def flag_field(column: str) -> str:
    """Name of the boolean column saying whether a product has a ``column`` vector."""
    return f"_has_{column}"


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@registry.register("store", "lance")
class LanceStore:
    """Products, attributes and per-modality vectors in one LanceDB table under ``path``.

    Every :meth:`upsert` is one Lance commit, so a process killed mid-ingest leaves whole batches
    only. Products lacking a modality hold a zero vector and a false ``_has_<modality>`` flag that
    every search filters on. Search is exact by default, scored by inner product; a store made
    with ``ann`` settings answers unfiltered searches of columns holding at least
    ``ann.min_rows`` vectors from an in-memory FAISS index (built on first use after each change).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        manifest_file = self.path / MANIFEST
        if not manifest_file.is_file():
            if any((self.path / part).exists() for part in ("lance", INTEGRITY_FILE, "engine.json")):
                raise damaged(self.path, MANIFEST, "is missing (it names the vector columns and encoders)")
            raise StoreError(f"no shopfuse store at {self.path} (missing {MANIFEST})")
        self._manifest = StoreManifest.load(manifest_file)
        lancedb = require("lancedb", "lancedb", "store", "the LanceDB store")
        # Reads see commits made by other processes (a server running while `shopfuse ingest`
        # writes) within a second; checking on every read would cost ~5 ms per call.
        self._db = lancedb.connect(str(self.path / "lance"), read_consistency_interval=timedelta(seconds=1))
        self._table: Any = None
        self._snapshots: dict[str, tuple[int, Any]] = {}
        self._reload_locks: dict[str, threading.Lock] = {}
        self._ann: dict[str, tuple[int, AnnIndex]] = {}
        self._field_row_cache: dict[str, tuple[tuple[int, int], np.ndarray, pa.Table, list[str]]] = {}
        self._integrity = TableIntegrity(self.path, TABLE_FOLDER)  # read before the table: see check_open
        with self._integrity.reading():
            if TABLE in self._db.list_tables().tables:
                self._table = self._db.open_table(TABLE)
        self._integrity.check_open(None if self._table is None else self.version)
        if self._table is not None:
            self._add_missing_fields()

    @classmethod
    def create(
        cls, path: str | Path, columns: dict[str, EncoderInfo], *, ann: AnnSettings | None = None
    ) -> LanceStore:
        """Make an empty store whose vector columns come from ``columns``; ``ann``: approximate search."""
        root = Path(path)
        if (root / MANIFEST).exists():
            raise StoreError(f"a store already exists at {root}")
        if not columns:
            raise StoreError("a store needs at least one vector column")
        root.mkdir(parents=True, exist_ok=True)
        manifest = StoreManifest(columns={c: info.to_dict() for c, info in columns.items()}, ann=ann)
        manifest.save(root / MANIFEST)
        TableIntegrity(root, TABLE_FOLDER).start()
        return cls(root)

    @property
    def manifest(self) -> StoreManifest:
        """Vector columns with their encoders, and attribute types."""
        return self._manifest

    @property
    def version(self) -> int:
        """The Lance table version: every commit (upsert, delete) makes a new one."""
        return 0 if self._table is None else int(self._table.version)

    def ids_where(self, where: str) -> list[str]:
        """Ids of the products matching ``where`` (see :meth:`_field_matches`)."""
        tree = parse_filter(where, store_fields(self._manifest.attributes))
        if self._table is None:
            return []
        fields = self._fields()
        if fields is None:
            return self._matching(to_sql(tree))
        table = fields[0]
        return list(table.column("id").take(self._field_matches(table, tree)).to_pylist())

    def count(self) -> int:
        """Number of products."""
        return 0 if self._table is None else int(self._table.count_rows())

    def modality_counts(self) -> dict[str, int]:
        """Products that have a vector, per column."""
        if self._table is None:
            return dict.fromkeys(self._manifest.columns, 0)
        with self._integrity.reading():
            return {c: int(self._table.count_rows(flag_field(c))) for c in self._manifest.columns}

    def hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every stored product."""
        if self._table is None:
            return {}
        with self._integrity.reading():
            data = self._scan(["id", "_hash"])
        return dict(zip(data.column("id").to_pylist(), data.column("_hash").to_pylist(), strict=True))

    def upsert(self, records: Sequence[Record]) -> None:
        """Insert or replace ``records`` in one atomic commit."""
        if not records:
            return
        ids = [r.product.id for r in records]
        if len(set(ids)) != len(ids):
            raise StoreError("upsert batch holds duplicate ids")
        self.ensure_attributes(
            {
                name: attribute_type(value)
                for record in records
                for name, value in record.product.attributes.items()
                if value is not None and name not in self._manifest.attributes
            }
        )
        batch = self._to_arrow(records)
        if self._table is None:
            self._table = self._db.create_table(TABLE, batch)
        else:
            (
                self._table.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(batch)
            )
        self._committed()

    def delete(self, ids: Sequence[str]) -> int:
        """Delete products by id; returns how many existed."""
        if self._table is None or not ids:
            return 0
        before = self.count()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            self._table.delete("id IN (" + ", ".join(quote(i) for i in chunk) + ")")
        self._committed()
        return before - self.count()

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Stored fields (no vectors) of ``ids`` that exist, in the order asked."""
        if self._table is None or not ids:
            return []
        cached = self._fields()
        if cached is not None:
            table, position = cached
            rows = [position[i] for i in ids if i in position]
            return [self._public(row) for row in table.take(pa.array(rows, type=pa.int64())).to_pylist()]
        columns = self._field_columns()
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            where = "id IN (" + ", ".join(quote(i) for i in chunk) + ")"
            table = self._scan(columns, where)
            for row in table.to_pylist():
                found[row["id"]] = self._public(row)
        return [found[i] for i in ids if i in found]

    def search(
        self,
        column: str,
        vector: np.ndarray,
        *,
        encoder: EncoderInfo,
        k: int = 10,
        where: str | None = None,
    ) -> list[StoredHit]:
        """Top-``k`` by inner product in ``column``, among rows that match ``where``; ties by id.

        Scores come from the column's matrix held in memory (reloaded when the table changes);
        Lance re-reads a flat column on every query, ten times slower. ``where`` becomes a mask
        over the matrix (see :meth:`_allowed`). Exact, except in a store with ``ann`` settings
        whose column holds at least ``ann.min_rows`` vectors: unfiltered searches, and filtered
        ones whose filter matches more than ``ann.min_rows`` (at most
        :data:`~shopfuse.store.ann.EXACT_MATCHES`) of them, use the approximate index (see
        :meth:`_approximate`); a filter matching fewer is scored exactly over its matches.
        """
        query = check_query(self._manifest, column, vector, encoder)
        fields = store_fields(self._manifest.attributes)
        tree = parse_filter(where, fields) if where and where.strip() else None
        if self._table is None or k <= 0:
            return []
        ids, matrix, position = self._matrix(column)
        ann = self._manifest.ann
        least = max(ann.min_rows, 1) if ann is not None else None
        if tree is None:
            if least is not None and len(ids) >= least:
                return self._approximate(column, query, k, ids, matrix)
            scores = matrix @ query
            return self._hits(ids, scores, _top_k(scores, ids.__getitem__, k))
        allowed, rows = self._allowed(column, tree, ids, position)
        if least is not None and len(ids) >= least and len(rows) > min(least, EXACT_MATCHES):
            return self._approximate(column, query, k, ids, matrix, allowed=allowed)
        scores = matrix[rows] @ query
        best = _top_k(scores, lambda i: ids[rows[i]], k)
        return self._hits([ids[r] for r in rows[best]], scores[best], list(range(len(best))))

    def _hits(self, ids: Sequence[str], scores: np.ndarray, order: list[int]) -> list[StoredHit]:
        """Hits for rows ``order`` of ``ids``/``scores``, with their stored fields."""
        rows = {row["id"]: row for row in self.get([ids[i] for i in order])}
        # vectors and fields are snapshots loaded apart: a product deleted between them is skipped
        return [StoredHit(ids[i], float(scores[i]), rows[ids[i]]) for i in order if ids[i] in rows]

    def _allowed(
        self, column: str, tree: Filter, ids: list[str], position: dict[str, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which rows of ``column``'s matrix match the filter ``tree``: a boolean mask and its rows."""
        allowed = np.zeros(len(ids), dtype=bool)
        fields = self._fields()
        if fields is None:
            found = self._matching(f"{flag_field(column)} AND {to_sql(tree)}")
            allowed[[position[i] for i in found if i in position]] = True
        else:
            table = fields[0]
            rows = self._field_rows(column, table, ids, position)[self._field_matches(table, tree)]
            allowed[rows[rows >= 0]] = True
        return allowed, np.flatnonzero(allowed)

    def _field_matches(self, table: pa.Table, tree: Filter) -> np.ndarray:
        """Rows of the in-memory fields ``table`` matching ``tree``, evaluated by Arrow.

        8 ms at a million products, against ~400 ms for a Lance scan returning the ids; stores
        too big to hold their fields (over ``FIELD_CACHE_ROWS``) ask Lance instead.
        """
        try:
            keep = dataset(table).to_table(columns={"keep": to_arrow(tree, table.column_names)})
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise FilterError(
                "invalid filter: the store could not evaluate it; check that each value has its field's "
                "type (text in 'quotes', numbers and TRUE/FALSE bare)"
            ) from exc
        return np.flatnonzero(keep.column("keep").fill_null(False).to_numpy(zero_copy_only=False))

    def _field_rows(
        self, column: str, table: pa.Table, ids: list[str], position: dict[str, int]
    ) -> np.ndarray:
        """The matrix row of each row of the in-memory fields ``table`` (-1: no ``column`` vector).

        Computed once per pair of snapshots (they are loaded apart, so matched by id).
        """
        key = (id(table), id(ids))
        cached = self._field_row_cache.get(column)
        if cached is None or cached[0] != key:
            rows = np.fromiter(
                (position.get(pid, -1) for pid in table.column("id").to_pylist()), np.int64, table.num_rows
            )
            cached = (key, rows, table, ids)  # the objects stay alive, so their ids stay theirs
            self._field_row_cache[column] = cached
        return cached[1]

    def _matching(self, sql: str) -> list[str]:
        """Ids of the rows matching our ``sql``; Lance's errors quote it and hidden columns, so stay here."""
        try:
            return list(self._scan(["id"], sql).column("id").to_pylist())
        except Exception as exc:  # lance raises bare ValueError/RuntimeError, e.g. for mismatched types
            raise FilterError(
                "invalid filter: the store could not evaluate it; check that each value has its field's "
                "type (text in 'quotes', numbers and TRUE/FALSE bare)"
            ) from exc

    def _approximate(
        self,
        column: str,
        query: np.ndarray,
        k: int,
        ids: list[str],
        matrix: np.ndarray,
        *,
        allowed: np.ndarray | None = None,
    ) -> list[StoredHit]:
        """Top-``k`` from the column's FAISS index (rebuilt when the table changes), ties by id.

        ``allowed``: only those rows of the matrix (a filter's matches).
        """
        assert self._manifest.ann is not None
        version = self._table.version
        cached = self._ann.get(column)
        if cached is None or cached[0] != version or cached[1].rows != len(ids):
            cached = (version, AnnIndex(matrix, self._manifest.ann))
            self._ann[column] = cached
        # a few extra candidates so that ties at the k-th score are broken by id, as in exact search
        scores, rows = cached[1].search(query, k + 10, allowed=allowed)
        found = [(float(s), ids[r]) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]
        found.sort(key=lambda pair: (-pair[0], pair[1]))
        found = found[:k]
        fields = {row["id"]: row for row in self.get([pid for _, pid in found])}
        return [StoredHit(pid, score, fields[pid]) for score, pid in found if pid in fields]

    def _fields(self, *, wait: bool = False) -> tuple[pa.Table, dict[str, int]] | None:
        """Every product's fields held in memory (Arrow), reloaded when the table changes.

        Fetching a page of hits from memory takes microseconds; a Lance scan per search costs
        10-30 ms at 100k products. Stores above ``FIELD_CACHE_ROWS`` products scan instead.
        """

        def load() -> tuple[pa.Table, dict[str, int]] | None:
            if self._table.count_rows() > FIELD_CACHE_ROWS:
                return None
            with self._integrity.reading():
                table = self._scan(self._field_columns()).combine_chunks()  # one chunk: take() stays cheap
            return table, {pid: row for row, pid in enumerate(table.column("id").to_pylist())}

        return self._snapshot("fields", load, wait=wait)

    def _matrix(self, column: str, *, wait: bool = False) -> tuple[list[str], np.ndarray, dict[str, int]]:
        """``column``'s ids, vectors and row of each id, cached until the table's version changes."""

        def load() -> tuple[list[str], np.ndarray, dict[str, int]]:
            ids, matrix = self.vectors(column)
            return ids, matrix, {pid: row for row, pid in enumerate(ids)}

        return self._snapshot(f"vectors:{column}", load, wait=wait)

    def _snapshot(self, key: str, load: Callable[[], _T], *, wait: bool = False) -> _T:
        """``load()`` cached per table version; while one thread loads a new version, the others
        keep answering from the last one loaded instead of all reloading at once (``wait``: wait
        for the new version instead; the writer does, see :meth:`refresh`).

        A write commits a new version; without this, every concurrent search re-read the whole
        table after each commit, and searches slowed while a client kept writing.
        """
        version = self._table.version
        cached = self._snapshots.get(key)
        if cached is not None and cached[0] == version:
            return cast(_T, cached[1])
        lock = self._reload_locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=wait or cached is None):
            return cast(_T, cached[1])  # type: ignore[index]  # not None: the acquire blocks otherwise
        try:
            cached = self._snapshots.get(key)
            if cached is None or cached[0] != version:
                cached = (version, load())
                self._snapshots[key] = cached
            return cast(_T, cached[1])
        finally:
            lock.release()

    def vectors(self, column: str) -> tuple[list[str], np.ndarray]:
        """Ids and the ``(n, dim)`` matrix of every product that has a ``column`` vector."""
        info = self._manifest.encoder(column)
        if self._table is None:
            return [], np.zeros((0, info.dim), dtype=np.float32)
        with self._integrity.reading():
            table = self._scan(["id", vector_field(column)], flag_field(column))
        flat = table.column(vector_field(column)).combine_chunks().values.to_numpy()
        return table.column("id").to_pylist(), flat.reshape(-1, info.dim).astype(np.float32)

    def refresh(self) -> None:
        """Load the field and vector snapshots of the latest version (waiting for a reload under way)."""
        if self._table is None:
            return
        self._fields(wait=True)
        for column in self._manifest.columns:
            self._matrix(column, wait=True)

    def optimize(self) -> None:
        """Compact the many small commits an ingest leaves into few files."""
        if self._table is not None:
            self._table.optimize(cleanup_older_than=timedelta(hours=1))
            self._committed(prune=True)

    def check(self) -> CheckReport:
        """Re-hash the recorded files, read every column of every row and audit the vectors."""
        columns = {c: (vector_field(c), flag_field(c), e.dim) for c, e in self._manifest.encoders().items()}
        return self._integrity.check(self._table, columns)

    def _committed(self, *, prune: bool = False) -> None:
        """Record the files and row count of the commit just made; ``prune``: after files were removed."""
        self._integrity.committed(int(self._table.version), int(self._table.count_rows()), prune=prune)

    def _scan(self, columns: list[str], where: str | None = None) -> pa.Table:
        """Every row (matching ``where``) with only ``columns``."""
        query = self._table.search().select(columns)
        if where:
            query = query.where(where)
        return query.limit(None).to_arrow()

    def _field_columns(self) -> list[str]:
        return [*FIELDS, *self._manifest.attributes]

    def _public(self, row: dict[str, Any]) -> dict[str, Any]:
        """A stored row as product fields plus an ``attributes`` dict."""
        attributes = {name: row.pop(name) for name in self._manifest.attributes if name in row}
        row["attributes"] = attributes
        row["ocr_text"] = row.pop("_ocr_text", None)
        contributions = row.pop("_contributions", None)
        row["contributions"] = json.loads(contributions) if contributions else {}
        row.pop("_hash", None)
        return row

    def _add_missing_fields(self) -> None:
        """Stores written by an older shopfuse lack newer product fields: add them, empty."""
        present = set(self._table.schema.names)
        missing = [name for name in FIELDS if name not in present]
        if missing:
            self._table.add_columns([pa.field(name, pa.string(), nullable=True) for name in missing])
            self._committed()

    def add_columns(self, columns: dict[str, EncoderInfo], *, replace: bool = False) -> None:
        """Add vector columns with their flags; rows stored before have none (null, flagged off).

        With ``replace`` a column that exists with another encoder is dropped and added empty
        (a relearned model's space): the caller then writes every row's new vector.
        """
        stale = [
            c
            for c, info in columns.items()
            if replace and c in self._manifest.columns and self._manifest.encoder(c) != info
        ]
        if stale and self._table is not None:
            self._table.drop_columns([f for c in stale for f in (vector_field(c), flag_field(c))])
            self._committed()
        for column in stale:
            self._manifest.columns.pop(column)
        new = {c: info for c, info in columns.items() if c not in self._manifest.columns}
        if not new:
            if stale:
                self._manifest.save(self.path / MANIFEST)
            return
        if self._table is not None:
            fields = []
            for column, info in new.items():
                fields.append(pa.field(vector_field(column), pa.list_(pa.float32(), info.dim), nullable=True))
                fields.append(pa.field(flag_field(column), pa.bool_(), nullable=True))
            self._table.add_columns(fields)
            self._committed()
        self._manifest.columns.update({c: info.to_dict() for c, info in new.items()})
        self._manifest.save(self.path / MANIFEST)

    def ensure_attributes(self, types: dict[str, str]) -> dict[str, str]:
        """Add columns for attributes never seen before; returns the stored type of each."""
        new = {n: t for n, t in types.items() if n not in self._manifest.attributes}
        for name, kind in new.items():
            check_attribute_name(name)
            if kind not in _TYPES:
                raise StoreError(f"attribute {name!r}: unknown type {kind!r}")
        if new:
            if self._table is not None:
                self._table.add_columns([pa.field(n, _TYPES[t], nullable=True) for n, t in new.items()])
                self._committed()
            self._manifest.attributes.update(new)
            self._manifest.save(self.path / MANIFEST)
        return {n: self._manifest.attributes[n] for n in types}

    def _to_arrow(self, records: Sequence[Record]) -> pa.Table:
        """Records as an Arrow table with every column of the schema."""
        data: dict[str, list[Any]] = {name: [] for name in FIELDS}
        for record in records:
            p = record.product
            values = (
                p.id,
                record.content_hash,
                p.title,
                p.description,
                p.lang,
                p.image,
                list(p.images),
                p.video,
                p.audio,
                record.ocr_text,
                json.dumps(record.contributions) if record.contributions else None,
            )
            for name, field_value in zip(FIELDS, values, strict=True):
                data[name].append(field_value)
        fields = [pa.field(n, pa.list_(pa.string()) if n == "images" else pa.string()) for n in FIELDS]
        arrays: list[pa.Array] = [pa.array(data[f.name], type=f.type) for f in fields]
        for name, kind in self._manifest.attributes.items():
            try:
                column_values = [coerce_attribute(r.product.attributes.get(name), kind) for r in records]
            except ValueError as exc:
                raise StoreError(f"attribute {name!r} does not fit its type {kind}: {exc}") from exc
            fields.append(pa.field(name, _TYPES[kind]))
            arrays.append(pa.array(column_values, type=_TYPES[kind]))
        for column, info in self._manifest.encoders().items():
            matrix = np.zeros((len(records), info.dim), dtype=np.float32)
            flags = []
            for i, record in enumerate(records):
                vector = record.vectors.get(column)
                flags.append(vector is not None)
                if vector is not None:
                    if vector.shape != (info.dim,):
                        raise StoreError(
                            f"product {record.product.id!r}: {column!r} vector has shape "
                            f"{vector.shape}, expected ({info.dim},)"
                        )
                    matrix[i] = vector
            vtype = pa.list_(pa.float32(), info.dim)
            fields.append(pa.field(vector_field(column), vtype))
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), info.dim))
            fields.append(pa.field(flag_field(column), pa.bool_()))
            arrays.append(pa.array(flags, type=pa.bool_()))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _top_k(scores: np.ndarray, name: Callable[[int], str], k: int) -> list[int]:
    """Indices of the ``k`` best finite scores, best first, ties broken by ``name(index)`` (the id)."""
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size > k:
        # keep everything tied with the k-th score so the id tie-break stays exact
        kth = np.partition(scores[finite], finite.size - k)[finite.size - k]
        finite = finite[scores[finite] >= kth]
    return sorted(finite.tolist(), key=lambda i: (-float(scores[i]), name(i)))[:k]
