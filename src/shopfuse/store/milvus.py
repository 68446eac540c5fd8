"""The scale-out store: Milvus collections, embedded (Milvus Lite file) or on a Milvus server.

Location: a folder (Milvus Lite: ``milvus.db`` plus the ``store.json`` manifest inside it, like
the Lance store) or ``milvus://[user:password@]host:port/collection`` for a Milvus server, where
the manifest, the version counter and any other documents (the engine config) live in the
collection ``<collection>_meta`` so every machine pointing at the URI sees the same store.

Schema of the data collection: ``id`` (primary key), ``hash``, ``doc`` (JSON: product fields,
attributes, OCR text, contributions: new attributes need no schema change) and, per vector
column, ``vec_<column>`` plus the flag ``has_<column>`` (products lacking the modality hold a
zero vector that every search filters out). Vector fields carry a FLAT inner-product index
(exact search) unless the store is made with ``ann`` settings (HNSW or IVF_FLAT).

Milvus 2.3 servers allow one vector field per collection (2.4+ and Milvus Lite several). On such a
server (found at creation from the server version, or from its refusal of the schema) the store
is *split*: the data collection keeps ``id``, ``hash``, ``doc`` and the ``has_<column>`` flags
(with a 2-dim placeholder vector), and each vector column gets a collection
``<collection>__<column>`` holding ``id``, ``doc`` (so filters run there) and ``vec_<column>``
for the products that have that vector. Writes go to the vector collections first and the data
collection last (its hashes say what is stored, so a write cut short is redone by the next
ingest); deletes go the other way round. The layout is the ``layout`` document of the meta
collection (absent: one collection).

Filterable attributes: ``MilvusStore.create(..., filterable=["gender", ...])`` makes string
attributes real ``VARCHAR`` fields ``attr_<name>`` (with a Trie index on servers) of every data
and vector collection, beside their copy in ``doc``; filters on them read the field instead of
parsing each row's JSON (at 200,000 rows on a 2.3 server: 4 ms instead of 40 ms per filtered
search, and the JSON cost grows with the rows). A Milvus 2.3 field cannot be null and no field
can be added later, so they are chosen at creation, and an empty string is stored as null. The
list is the ``filterable`` document of the meta collection.

Consistency: searches use the store's consistency level (:data:`DEFAULT_CONSISTENCY`, ``session``,
unless ``MilvusStore(..., consistency=...)``, ``milvus://host:port/collection?consistency=bounded``
or ``search(..., consistency=...)`` say otherwise); everything the integrity and resume logic
reads (hashes, counts, the version and documents, deletes, :meth:`MilvusStore.check`) is Strong.
See :class:`MilvusStore` for the trade-off.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from shopfuse.config import AnnSettings
from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import StoreError
from shopfuse.optional import require
from shopfuse.registry import registry
from shopfuse.store.ann import EXACT_MATCHES
from shopfuse.store.attributes import attribute_type, check_attribute_name, coerce_attribute
from shopfuse.store.base import CheckReport, Damage, Record, StoredHit, StoreManifest, check_query
from shopfuse.store.filters import parse_filter, store_fields
from shopfuse.store.integrity import VectorAudit
from shopfuse.store.milvus_client import RetryingClient
from shopfuse.store.milvus_filter import join_and, to_milvus

__all__ = [
    "CONSISTENCY_LEVELS",
    "DEFAULT_CONSISTENCY",
    "MilvusLocation",
    "MilvusStore",
    "check_consistency",
    "is_milvus_uri",
    "parse_location",
    "read_document_at",
]

SCHEME = "milvus://"
MANIFEST = "store.json"
LITE_FILE = "milvus.db"
LITE_COLLECTION = "products"
DEFAULT_PORT = 19530
FIELDS = ("title", "description", "lang", "image", "images", "video", "audio")
"""Product fields kept in ``doc`` (besides the ``id`` primary key)."""
MAX_ID = 65_535
MAX_LIMIT = 16_384
"""Milvus answers at most this many rows per search or query call."""
CHUNK = 1_000
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Milvus server to answer when connecting."""
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
SINGLE, SPLIT = "single", "split"
"""Store layouts: every vector field in the data collection, or one collection per vector column."""
LAYOUTS = ("auto", SINGLE, SPLIT)
PLACEHOLDER = "_v"
"""A 2-dim vector field for collections that hold no real vectors (Milvus needs one in each)."""
CONSISTENCY_LEVELS = {
    "strong": "Strong",
    "session": "Session",
    "bounded": "Bounded",
    "eventually": "Eventually",
}
"""Accepted consistency names (any case) and Milvus's spelling of them."""
DEFAULT_CONSISTENCY = "session"
"""Searches see this client process's own writes at once, others' soon after (see :class:`MilvusStore`)."""
STRONG = "Strong"
"""What every read of the integrity and resume logic uses."""
SHARE_TTL = 60.0
"""Seconds a filter's measured share of rows is reused (this store's own writes forget it at once)."""
DEFAULT_NLIST = 1024
"""IVF_FLAT lists when the store's ``ann`` settings name none."""
MAX_EF = 32_768
"""The largest HNSW ``ef`` Milvus accepts."""
MAX_TEXT = 65_535
"""Bytes a Milvus ``VARCHAR`` holds."""


def check_consistency(value: str, where: str = "consistency") -> str:
    """Milvus's name of the consistency level ``value`` (any case); :class:`StoreError` if unknown."""
    found = CONSISTENCY_LEVELS.get(str(value).strip().lower())
    if found is None:
        raise StoreError(
            f"{where}: unknown Milvus consistency level {value!r} "
            f"(expected one of {', '.join(CONSISTENCY_LEVELS)})"
        )
    return found


def is_milvus_uri(location: str | Path) -> bool:
    """Whether ``location`` names a Milvus server store (``milvus://...``)."""
    return isinstance(location, str) and location.lower().startswith(SCHEME)


@dataclass(frozen=True, slots=True)
class MilvusLocation:
    """Where a Milvus store lives: the client URI, the collection, and the local folder if any."""

    uri: str
    collection: str
    folder: Path | None = None
    token: str = ""
    consistency: str | None = None
    """Milvus's name of the consistency level the URI asks for (``?consistency=...``), if any."""

    @property
    def meta(self) -> str:
        """The collection holding the manifest, the version counter and other documents."""
        return f"{self.collection}_meta"

    def __str__(self) -> str:
        return str(self.folder) if self.folder else f"{self.uri}/{self.collection}"


def parse_location(location: str | Path) -> MilvusLocation:
    """A folder (Milvus Lite) or ``milvus://[user:password@]host[:port]/collection``."""
    if not is_milvus_uri(location):
        folder = Path(location)
        return MilvusLocation(str(folder / LITE_FILE), LITE_COLLECTION, folder)
    text = str(location)
    expected = f"expected {SCHEME}host:port/collection, e.g. {SCHEME}localhost:19530/products"
    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise StoreError(f"malformed Milvus URI {text!r}: {exc}; {expected}") from exc
    if not parts.hostname:
        raise StoreError(f"malformed Milvus URI {text!r}: no host; {expected}")
    collection = parts.path.strip("/")
    if not collection:
        raise StoreError(f"malformed Milvus URI {text!r}: no collection; {expected}")
    if not _NAME.match(collection) or collection.endswith("_meta"):
        raise StoreError(
            f"malformed Milvus URI {text!r}: collection {collection!r} must be letters, digits and "
            "underscores, start with a letter or underscore and not end in '_meta'"
        )
    if parts.fragment:
        raise StoreError(f"malformed Milvus URI {text!r}: unexpected '#' part; {expected}")
    consistency = None
    for key, _, value in (unquote(item).partition("=") for item in parts.query.split("&") if parts.query):
        if key != "consistency":
            raise StoreError(
                f"malformed Milvus URI {text!r}: unknown option {key!r} (the only one is "
                f"'consistency', e.g. {SCHEME}localhost:19530/products?consistency=session)"
            )
        consistency = check_consistency(value, f"Milvus URI {text!r}")
    token = ""
    if parts.username is not None:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return MilvusLocation(f"http://{parts.hostname}:{port}", collection, None, token, consistency)


def vector_field(column: str) -> str:
    """Name of the Milvus field that holds ``column``'s vectors."""
    return f"vec_{column}"


def flag_field(column: str) -> str:
    """Name of the boolean field saying whether a product has a ``column`` vector."""
    return f"has_{column}"


def attribute_field(name: str) -> str:
    """Name of the ``VARCHAR`` field of the filterable attribute ``name``."""
    return f"attr_{name}"


@registry.register("store", "milvus")
class MilvusStore:
    """Products, attributes and per-modality vectors in one Milvus collection (see the module doc).

    Milvus has no multi-call transactions: :meth:`upsert` checks every record before writing and
    then writes in calls of 1,000 rows, each atomic. The version counter kept in the meta
    collection rises after every write, also when another process or machine made it.

    ``consistency`` (``strong``, ``session``, ``bounded`` or ``eventually``; default: the URI's
    ``?consistency=``, else :data:`DEFAULT_CONSISTENCY`) is the level :meth:`search` reads at.
    ``strong`` waits for the server's next time tick (about 200 ms on a 2.3 standalone server)
    before every search; ``session`` sees every write made from this process at once (pymilvus
    keeps the last write time of each collection per process) at about ``bounded`` cost (a few
    ms). Writes of *other* processes or machines (Ray ingest workers, another replica of the
    service) reach ``session``/``eventually`` searches once the query nodes have consumed them
    (usually well under a second, not bounded), ``bounded`` ones within the server's graceful time
    (``common.gracefulTime``, 5 s by default); ask ``strong`` where a reader must see another
    process's write at once. Whatever the level, the reads the integrity and resume logic relies
    on (:meth:`hashes`, :meth:`count`, :attr:`version`, documents, :meth:`delete`,
    :meth:`check`) are Strong.
    """

    def __init__(self, path: str | Path, *, consistency: str | None = None) -> None:
        self.location = parse_location(path)
        self.consistency = check_consistency(
            consistency or self.location.consistency or DEFAULT_CONSISTENCY, f"the Milvus store {path}"
        )
        """Milvus's name of the consistency level :meth:`search` uses by default."""
        self.path: str | Path = self.location.folder or str(path)
        if self.location.folder is not None and not (self.location.folder / MANIFEST).is_file():
            raise StoreError(f"no shopfuse store at {self.location} (missing {MANIFEST})")
        self._client = _connect(self.location)
        if not self._client.has_collection(self.location.meta):
            raise StoreError(f"no shopfuse store at {self.location} (no {self.location.meta} collection)")
        self._client.load_collection(self.location.meta)
        self._manifest = self._load_manifest()
        self._shares: dict[tuple[str, str, str], tuple[float, int]] = {}
        """``(collection, condition, level)`` -> (when counted, rows matching): filtered-search widening."""
        self.layout = self.read_document("layout") or SINGLE
        """``single`` (every vector field in the data collection) or ``split`` (see the module doc)."""
        self.filterable: tuple[str, ...] = tuple(json.loads(self.read_document("filterable") or "[]"))
        """String attributes held as real fields (see the module doc)."""
        for name in self._collections():
            self._client.load_collection(name)

    @classmethod
    def create(
        cls,
        path: str | Path,
        columns: dict[str, EncoderInfo],
        *,
        ann: AnnSettings | None = None,
        layout: str = "auto",
        consistency: str | None = None,
        filterable: Sequence[str] = (),
    ) -> MilvusStore:
        """Make an empty store whose vector columns come from ``columns``; ``ann``: approximate search.

        ``layout``: ``auto`` (one collection where the server allows several vector fields per
        collection, else one per vector column), ``single`` or ``split``. ``consistency``: as for
        the constructor (the collections themselves are made Strong, what every other read uses).
        ``filterable``: string attributes to hold as real fields, for fast filters (module doc).
        """
        location = parse_location(path)
        if consistency is not None:
            check_consistency(consistency, f"the Milvus store {path}")
        if not columns:
            raise StoreError("a store needs at least one vector column")
        if layout not in LAYOUTS:
            raise StoreError(f"unknown Milvus store layout {layout!r} (expected one of {', '.join(LAYOUTS)})")
        bad = [c for c in columns if not _NAME.match(c)]
        if bad:
            raise StoreError(f"vector column names must be letters, digits and underscores: {bad}")
        filterable = list(dict.fromkeys(filterable))
        bad = [a for a in filterable if not _NAME.match(a)]
        if bad:
            raise StoreError(f"filterable attribute names must be letters, digits and underscores: {bad}")
        if location.folder is not None:
            if (location.folder / MANIFEST).exists():
                raise StoreError(f"a store already exists at {location}")
            location.folder.mkdir(parents=True, exist_ok=True)
        client = _connect(location)
        names = [location.collection, location.meta, *(column_collection(location, c) for c in columns)]
        taken = [name for name in names if client.has_collection(name)]
        if taken:
            raise StoreError(f"a store already exists at {location} (collections {', '.join(taken)})")
        manifest = StoreManifest(
            columns={c: info.to_dict() for c, info in columns.items()},
            ann=ann,
            attributes=dict.fromkeys(filterable, "string"),
        )
        chosen = _create_collections(client, location, manifest, _choose_layout(client, layout), filterable)
        _put_document(client, location.meta, "version", "0")
        _put_document(client, location.meta, "layout", chosen)
        _put_document(client, location.meta, "filterable", json.dumps(filterable))
        if location.folder is not None:
            manifest.save(location.folder / MANIFEST)
        else:
            _put_document(client, location.meta, "manifest", manifest.model_dump_json())
        client.close()
        return cls(path, consistency=consistency)

    # -- documents kept with the store (manifest, version, engine config) -----------------------

    def read_document(self, key: str) -> str | None:
        """A text document stored with the store under ``key`` (``None`` if there is none)."""
        rows = self._client.query(
            self.location.meta,
            filter=f"key == {json.dumps(key)}",
            output_fields=["value"],
            limit=1,
            consistency_level=STRONG,
        )
        return str(rows[0]["value"]) if rows else None

    def write_document(self, key: str, value: str) -> None:
        """Store a text document (at most 64 KiB) with the store under ``key``."""
        _put_document(self._client, self.location.meta, key, value)

    def _load_manifest(self) -> StoreManifest:
        if self.location.folder is not None:
            return StoreManifest.load(self.location.folder / MANIFEST)
        text = self.read_document("manifest")
        if text is None:
            raise StoreError(f"no shopfuse store at {self.location} (no manifest in {self.location.meta})")
        return StoreManifest.model_validate_json(text)

    def _save_manifest(self) -> None:
        if self.location.folder is not None:
            self._manifest.save(self.location.folder / MANIFEST)
        else:
            self.write_document("manifest", self._manifest.model_dump_json())

    def _bump_version(self) -> None:
        self._shares.clear()
        _put_document(self._client, self.location.meta, "version", str(self.version + 1))

    # -- the Protocol ---------------------------------------------------------------------------

    @property
    def manifest(self) -> StoreManifest:
        """Vector columns with their encoders, and attribute types."""
        return self._manifest

    @property
    def version(self) -> int:
        """The write counter kept in the meta collection: every upsert and delete raises it."""
        return int(self.read_document("version") or 0)

    def count(self) -> int:
        """Number of products."""
        return self._count("")

    def ids_where(self, where: str) -> list[str]:
        """Ids of the products matching ``where``."""
        return [row["id"] for row in self._iterate(["id"], self._filter(where))]

    def modality_counts(self) -> dict[str, int]:
        """Products that have a vector, per column."""
        return {c: self._count(f"{flag_field(c)} == true") for c in self._manifest.columns}

    def hashes(self) -> dict[str, str]:
        """``{id: content hash}`` of every stored product."""
        return {row["id"]: row["hash"] for row in self._iterate(["id", "hash"], "")}

    def add_columns(self, columns: dict[str, EncoderInfo], *, replace: bool = False) -> None:
        """Milvus cannot add vector fields to a collection: refused, naming what to do instead."""
        new = [
            c
            for c, info in columns.items()
            if c not in self._manifest.columns or (replace and self._manifest.encoder(c) != info)
        ]
        if new:
            raise StoreError(
                f"the Milvus store {self.location} has no {', '.join(new)} vectors and a "
                "Milvus collection cannot gain vector fields; ingest into a new store, made with "
                f"EngineConfig.modalities including {', '.join(new)}"
            )

    def ensure_attributes(self, types: dict[str, str]) -> dict[str, str]:
        """Record attributes never seen before (they need no schema change); returns stored types."""
        new = {n: t for n, t in types.items() if n not in self._manifest.attributes}
        for name, kind in new.items():
            check_attribute_name(name)
            if kind not in ("string", "int64", "float64", "bool"):
                raise StoreError(f"attribute {name!r}: unknown type {kind!r}")
        if new:
            self._manifest.attributes.update(new)
            self._save_manifest()
        return {n: self._manifest.attributes[n] for n in types}

    def upsert(self, records: Sequence[Record]) -> None:
        """Insert or replace ``records``: all are checked first, then written 1,000 rows per call."""
        if not records:
            return
        ids = [r.product.id for r in records]
        if len(set(ids)) != len(ids):
            raise StoreError("upsert batch holds duplicate ids")
        new_types = {
            name: attribute_type(value)
            for record in records
            for name, value in record.product.attributes.items()
            if value is not None and name not in self._manifest.attributes
        }
        rows = [self._row(record, new_types) for record in records]
        self.ensure_attributes(new_types)
        try:
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                if self.layout == SPLIT:
                    self._upsert_split(chunk)
                else:
                    self._client.upsert(self.location.collection, chunk)
        finally:
            self._bump_version()

    def _upsert_split(self, rows: list[dict[str, Any]]) -> None:
        """Vector collections first (rows with the vector upserted, the others deleted), data last."""
        for column in self._manifest.columns:
            flag, field = flag_field(column), vector_field(column)
            scalars = [attribute_field(a) for a in self.filterable]
            having = [
                {"id": r["id"], "doc": r["doc"], field: r[field], **{f: r[f] for f in scalars}}
                for r in rows
                if r[flag]
            ]
            lacking = [r["id"] for r in rows if not r[flag]]
            if having:
                self._client.upsert(column_collection(self.location, column), having)
            if lacking:
                self._client.delete(column_collection(self.location, column), filter=_id_in(lacking))
        keep = {"id", "hash", "doc", *(flag_field(c) for c in self._manifest.columns)}
        keep.update(attribute_field(a) for a in self.filterable)
        self._client.upsert(
            self.location.collection,
            [{**{k: v for k, v in r.items() if k in keep}, PLACEHOLDER: [0.0, 0.0]} for r in rows],
        )

    def delete(self, ids: Sequence[str]) -> int:
        """Delete products by id; returns how many existed."""
        removed = 0
        for start in range(0, len(ids), 500):
            chunk = list(dict.fromkeys(ids[start : start + 500]))
            found = self._client.query(
                self.location.collection,
                filter=_id_in(chunk),
                output_fields=["id"],
                limit=len(chunk),
                consistency_level=STRONG,
            )
            if self.layout == SPLIT and chunk:  # vectors first: a cut-short delete leaves no orphan hit
                for column in self._manifest.columns:
                    self._client.delete(column_collection(self.location, column), filter=_id_in(chunk))
            if found:
                # not ``ids=``: pymilvus quotes those with '...' and no escaping
                self._client.delete(self.location.collection, filter=_id_in([row["id"] for row in found]))
                removed += len(found)
        if removed:
            self._bump_version()
        return removed

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Stored fields (no vectors) of ``ids`` that exist, in the order asked."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(dict.fromkeys(ids[start : start + 500]))
            rows = self._client.query(
                self.location.collection,
                filter=_id_in(chunk),
                output_fields=["id", "doc"],
                limit=len(chunk),
                consistency_level=STRONG,
            )
            for row in rows:
                found[row["id"]] = self._public(row["id"], row["doc"])
        return [found[i] for i in ids if i in found]

    def search(
        self,
        column: str,
        vector: np.ndarray,
        *,
        encoder: EncoderInfo,
        k: int = 10,
        where: str | None = None,
        ef_search: int | None = None,
        nprobe: int | None = None,
        consistency: str | None = None,
    ) -> list[StoredHit]:
        """Top-``k`` by inner product in ``column`` among rows matching ``where``; ties by id.

        Exact with the default FLAT index; with ``ann`` settings, Milvus's HNSW or IVF_FLAT
        (``ef_search``/``nprobe`` override the settings for this call). ``k`` is capped at 16,374.
        With a filter on an ANN index the search is widened by the filter's share of rows (see
        :meth:`_widen`), so a selective filter keeps its recall. ``consistency``: this call's
        level (``strong``, ``session``, ``bounded``, ``eventually``) instead of the store's.
        """
        query = check_query(self._manifest, column, vector, encoder)
        level = check_consistency(consistency, "search") if consistency else self.consistency
        if k <= 0:
            return []
        limit = min(k + 10, MAX_LIMIT)  # extra rows so that ties at the k-th score break by id
        collection = self._vector_collection(column)
        expression = self._filter(where) if where else ""
        condition = join_and([self._has(column), expression])
        params = self._search_params(limit, ef_search, nprobe)
        if expression and params:
            params = self._widen(params, collection, condition, self._has(column), level)
        found = self._client.search(
            collection,
            data=[query.tolist()],
            anns_field=vector_field(column),
            limit=limit,
            filter=condition,
            output_fields=["id", "doc"],
            search_params={"metric_type": "IP", "params": params},
            consistency_level=level,
        )
        hits = sorted(found[0], key=lambda hit: (-float(hit["distance"]), hit["id"]))[:k]
        return [
            StoredHit(hit["id"], float(hit["distance"]), self._public(hit["id"], hit["entity"]["doc"]))
            for hit in hits
        ]

    def vectors(self, column: str) -> tuple[list[str], np.ndarray]:
        """Ids and the ``(n, dim)`` matrix of every product that has a ``column`` vector."""
        info = self._manifest.encoder(column)
        ids: list[str] = []
        rows: list[Any] = []
        rows_of = self._iterate(
            ["id", vector_field(column)], self._has(column), self._vector_collection(column)
        )
        for row in rows_of:
            ids.append(row["id"])
            rows.append(row[vector_field(column)])
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(ids), info.dim)
        return ids, matrix

    def refresh(self) -> None:
        """Nothing to do: every read asks the Milvus server, which holds no stale copy here."""

    def optimize(self) -> None:
        """Flush and compact the collection (Milvus merges small segments in the background)."""
        for name in self._collections():
            self._client.flush(name)
            with contextlib.suppress(Exception):  # Milvus Lite has no compaction: nothing to do
                self._client.compact(name)

    def check(self) -> CheckReport:
        """Read every row: ids unique and as many as :meth:`count` says, vectors unit (or zero if absent).

        Milvus keeps its own files, so there are no checksums to compare here.
        """
        start = time.perf_counter()
        report = CheckReport(str(self.location), "milvus")
        part = f"collection {self.location.collection}"
        columns = self._manifest.encoders()
        fields = ["id", *(f for c in columns for f in (vector_field(c), flag_field(c)))]
        audit = VectorAudit()
        seen: set[str] = set()

        def audit_page(page: list[dict[str, Any]]) -> None:
            ids = [r["id"] for r in page]
            seen.update(ids)
            report.rows += len(page)
            for column, info in columns.items():
                matrix = np.asarray([r[vector_field(column)] for r in page], dtype=np.float32)
                flags = np.array([bool(r[flag_field(column)]) for r in page], dtype=bool)
                audit.add(column, ids, matrix.reshape(len(page), info.dim), flags)

        try:
            if self.layout == SPLIT:
                self._check_split(report, audit, seen)
            else:
                page: list[dict[str, Any]] = []
                for row in self._iterate(fields, ""):
                    page.append(row)
                    if len(page) == 4096:
                        audit_page(page)
                        page = []
                audit_page(page)
            counted = self.count()
        except Exception as exc:  # pymilvus raises its own MilvusException for unreadable segments
            report.problems.append(Damage(part, f"cannot be read ({type(exc).__name__}: {exc})"))
        else:
            if len(seen) != report.rows:
                report.problems.append(Damage(part, f"holds {report.rows - len(seen)} rows whose id repeats"))
            if counted != report.rows:
                report.problems.append(Damage(part, f"counts {counted} products, {report.rows} were read"))
        report.vectors = dict(audit.read)
        where = f"collection {self.location.collection}__{{column}}" if self.layout == SPLIT else part
        report.problems.extend(audit.damage(f"{where} (column {{column}})"))
        report.notes.append("Milvus keeps its own files: rows and vectors were read, there are no checksums")
        report.seconds = time.perf_counter() - start
        return report

    def _check_split(self, report: CheckReport, audit: VectorAudit, seen: set[str]) -> None:
        """The split layout: data rows, then each vector collection against the data rows' flags."""
        flagged: dict[str, set[str]] = {c: set() for c in self._manifest.columns}
        fields = ["id", *(flag_field(c) for c in flagged)]
        for row in self._iterate(fields, ""):
            seen.add(row["id"])
            report.rows += 1
            for column, having in flagged.items():
                if row[flag_field(column)]:
                    having.add(row["id"])
        for column, info in self._manifest.encoders().items():
            name = column_collection(self.location, column)
            ids: list[str] = []
            rows: list[Any] = []
            for row in self._iterate(["id", vector_field(column)], "", name):
                ids.append(row["id"])
                rows.append(row[vector_field(column)])
            matrix = np.asarray(rows, dtype=np.float32).reshape(len(ids), info.dim)
            audit.add(column, ids, matrix, np.ones(len(ids), dtype=bool))
            stray = sorted(set(ids) - flagged[column])
            missing = sorted(flagged[column] - set(ids))
            if stray:
                report.problems.append(
                    Damage(
                        f"collection {name}", f"{len(stray)} vectors of products without one", tuple(stray)
                    )
                )
            if missing:
                report.problems.append(
                    Damage(
                        f"collection {name}", f"{len(missing)} flagged products lack a vector", tuple(missing)
                    )
                )

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _collections(self) -> list[str]:
        """The data collection and, in the split layout, one collection per vector column."""
        if self.layout != SPLIT:
            return [self.location.collection]
        return [
            self.location.collection,
            *(column_collection(self.location, c) for c in self._manifest.columns),
        ]

    def _vector_collection(self, column: str) -> str:
        """The collection holding ``column``'s vectors."""
        self._manifest.encoder(column)  # a clear error for a column the store lacks
        return column_collection(self.location, column) if self.layout == SPLIT else self.location.collection

    def _has(self, column: str) -> str:
        """The condition for rows that have a ``column`` vector (all rows of a split vector collection)."""
        return "" if self.layout == SPLIT else f"{flag_field(column)} == true"

    def _search_params(self, limit: int, ef_search: int | None, nprobe: int | None) -> dict[str, Any]:
        ann = self._manifest.ann
        if ann is None:
            return {}
        if ann.kind == "hnsw":
            return {"ef": max(ef_search or ann.ef_search, limit)}
        return {"nprobe": nprobe or ann.nprobe}

    def _widen(
        self, params: dict[str, Any], collection: str, condition: str, rows: str, level: str
    ) -> dict[str, Any]:
        """Search parameters for a filtered ANN search, scaled by the filter's share of rows.

        Milvus applies the filter as a bitset *inside* the index search: IVF_FLAT scans ``nprobe``
        lists and keeps only matching rows, so a filter matching a share ``s`` of the rows leaves
        about ``s`` of the candidates an unfiltered search has, and recall falls (0.27 at 7 % and
        nprobe 16 of 1,024 lists on one million rows). Like Qdrant's and Weaviate's flat-search
        cutoff, the share is measured (a ``count(*)`` of the filter, kept :data:`SHARE_TTL`
        seconds) and ``nprobe`` (``ef`` for HNSW) scaled by ``(2 - s) / s``: the search meets as
        many *matching* candidates as the unfiltered one, up to twice as many for a selective
        filter, whose best matches lie farther from the query (at 200,000 rows, ``gender =
        'Women'``, 38 %, nprobe 16: recall 0.954 with ``1 / s``); a filter matching at most
        :data:`~shopfuse.store.ann.EXACT_MATCHES` rows, or one that would scan half the lists
        anyway, scans every list: exact over the matches (IVF_FLAT skips non-matching rows
        before computing a score).
        """
        matches, total = self._share(collection, condition, rows, level)
        share = min(1.0, max(matches / total if total else 1.0, 1e-9))
        scale = (2.0 - share) / share
        ann = self._manifest.ann
        if "nprobe" in params and ann is not None:
            nlist = ann.nlist or DEFAULT_NLIST
            wanted = math.ceil(params["nprobe"] * scale)
            exact = matches <= EXACT_MATCHES or wanted * 2 >= nlist
            return {**params, "nprobe": nlist if exact else wanted}
        if "ef" in params:
            ef = math.ceil(params["ef"] * scale)
            return {**params, "ef": min(MAX_EF, max(params["ef"], ef))}
        return params

    def _share(self, collection: str, condition: str, rows: str, level: str) -> tuple[int, int]:
        """``(rows matching condition, rows)`` of ``collection``: counted, or remembered a while."""
        now = time.monotonic()
        found: list[int] = []
        for expression in (condition, rows):
            key = (collection, expression, level)
            cached = self._shares.get(key)
            if cached is None or now - cached[0] > SHARE_TTL:
                cached = (now, self._count(expression, collection, level))
                self._shares[key] = cached
            found.append(cached[1])
        return found[0], found[1]

    def _filter(self, where: str | None) -> str:
        """The Milvus expression for a filter over product fields and attributes."""
        if not where or not where.strip():
            return ""
        tree = parse_filter(where, store_fields(self._manifest.attributes))
        return to_milvus(tree, self._field, exists=self.layout == SPLIT)

    def _field(self, name: str) -> str:
        """Milvus expression of a product field or attribute: the key, a filterable field, or ``doc``."""
        if name in self.filterable:
            return attribute_field(name)
        return _field(name)

    def _count(self, condition: str, collection: str | None = None, consistency: str = STRONG) -> int:
        """Rows of ``collection`` (the data one by default) matching ``condition``."""
        rows = self._client.query(
            collection or self.location.collection,
            filter=condition,
            output_fields=["count(*)"],
            consistency_level=consistency,
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _iterate(
        self, fields: list[str], condition: str, collection: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``collection`` (the data one by default) matching ``condition``, paged."""
        iterator = self._client.query_iterator(
            collection or self.location.collection, batch_size=4096, filter=condition, output_fields=fields
        )
        try:
            while page := iterator.next():
                yield from page
        finally:
            iterator.close()

    def _row(self, record: Record, new_types: dict[str, str]) -> dict[str, Any]:
        """A record as a Milvus row; raises :class:`StoreError` before anything is written."""
        p = record.product
        if not isinstance(p.id, str) or not p.id or len(p.id.encode()) > MAX_ID:
            raise StoreError(f"product id {p.id!r} must be a non-empty string of at most {MAX_ID} bytes")
        doc: dict[str, Any] = {
            "title": p.title,
            "description": p.description,
            "lang": p.lang,
            "image": p.image,
            "images": list(p.images),
            "video": p.video,
            "audio": p.audio,
            "_ocr_text": record.ocr_text,
            "_contributions": record.contributions or None,
        }
        types = {**self._manifest.attributes, **new_types}
        for name, value in p.attributes.items():
            if value is None or (value == "" and name in self.filterable):
                continue
            check_attribute_name(name)
            try:
                doc[name] = coerce_attribute(value, types[name])
            except ValueError as exc:
                raise StoreError(f"attribute {name!r} does not fit its type {types[name]}: {exc}") from exc
        try:
            json.dumps(doc, allow_nan=False)
        except ValueError as exc:
            raise StoreError(f"product {p.id!r}: fields must be JSON (no NaN): {exc}") from exc
        if self.layout == SPLIT:  # Milvus 2.3 filters test nulls as absent keys (``exists``)
            doc = {k: v for k, v in doc.items() if v is not None}
        row: dict[str, Any] = {"id": p.id, "hash": record.content_hash, "doc": doc}
        for name in self.filterable:
            text = str(doc.get(name) or "")
            if len(text.encode()) > MAX_TEXT:
                raise StoreError(f"product {p.id!r}: filterable attribute {name!r} exceeds {MAX_TEXT} bytes")
            row[attribute_field(name)] = text
        for column, info in self._manifest.encoders().items():
            vector = record.vectors.get(column)
            if vector is not None and np.shape(vector) != (info.dim,):
                raise StoreError(
                    f"product {p.id!r}: {column!r} vector has shape {np.shape(vector)}, "
                    f"expected ({info.dim},)"
                )
            row[flag_field(column)] = vector is not None
            values = np.zeros(info.dim, np.float32) if vector is None else np.asarray(vector, np.float32)
            if not np.all(np.isfinite(values)):
                raise StoreError(f"product {p.id!r}: {column!r} vector holds NaN or infinity")
            row[vector_field(column)] = values.tolist()
        return row

    def _public(self, pid: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored row as product fields plus an ``attributes`` dict (same shape as Lance's)."""
        row: dict[str, Any] = {"id": pid}
        for name in FIELDS:
            row[name] = doc.get(name)
        row["images"] = list(row["images"] or [])
        row["attributes"] = {name: doc.get(name) for name in self._manifest.attributes}
        row["ocr_text"] = doc.get("_ocr_text")
        row["contributions"] = doc.get("_contributions") or {}
        return row


def column_collection(location: MilvusLocation, column: str) -> str:
    """The collection of ``column``'s vectors in the split layout."""
    return f"{location.collection}__{column}"


def _connect(location: MilvusLocation) -> Any:
    """A ``MilvusClient`` for ``location``; connection failures become :class:`StoreError`."""
    pymilvus = require("pymilvus", "pymilvus", "milvus", "the Milvus store")
    if location.folder is not None:
        require("milvus_lite", "milvus-lite", "milvus", "the embedded Milvus Lite store")
    where = (
        str(location)
        if location.folder
        else f"{SCHEME}{location.uri.split('://', 1)[1]}/{location.collection}"
    )
    try:
        client = pymilvus.MilvusClient(uri=location.uri, token=location.token, timeout=CONNECT_TIMEOUT)
    except Exception as exc:  # pymilvus raises MilvusException or grpc errors
        raise StoreError(
            f"cannot connect to the Milvus server at {where}: {exc}; is it running, and are the host and "
            "port right?"
        ) from exc
    return RetryingClient(client, where)


def _choose_layout(client: Any, layout: str) -> str:
    """``single``/``split`` as asked; for ``auto``, ``split`` on servers older than 2.4, else ``auto``."""
    if layout != "auto":
        return layout
    try:
        version = str(client.get_server_version())
    except Exception:  # Milvus Lite and some proxies do not say: try the one-collection schema
        return "auto"
    found = re.match(r"v?(\d+)\.(\d+)", version)
    if found and (int(found.group(1)), int(found.group(2))) < (2, 4):
        return SPLIT
    return "auto"


def read_document_at(location: MilvusLocation, key: str) -> str | None:
    """A document stored with the store at ``location``; ``None`` when there is no store there."""
    client = _connect(location)
    try:
        if not client.has_collection(location.meta):
            return None
        rows = client.query(
            location.meta,
            filter=f"key == {json.dumps(key)}",
            output_fields=["value"],
            limit=1,
            consistency_level=STRONG,
        )
        return str(rows[0]["value"]) if rows else None
    finally:
        client.close()


def _create_collections(
    client: Any,
    location: MilvusLocation,
    manifest: StoreManifest,
    layout: str,
    filterable: Sequence[str] = (),
) -> str:
    """The data collection(s) with their vector indexes, and the meta collection; returns the layout.

    ``auto``: one collection, or the split layout when the server refuses several vector fields.
    """
    server = location.folder is None
    if layout != SPLIT:
        try:
            _create_data(
                client,
                location.collection,
                manifest,
                list(manifest.columns),
                flags=True,
                scalars=filterable,
                scalar_index=server,
            )
            layout = SINGLE
        except StoreError:
            raise
        except Exception as exc:  # pymilvus MilvusException
            if layout != "auto" or "multiple vector fields" not in str(exc):
                raise StoreError(f"cannot create the Milvus store at {location}: {exc}") from exc
            layout = SPLIT
    if layout == SPLIT:
        for column in manifest.columns:
            _create_data(
                client,
                column_collection(location, column),
                manifest,
                [column],
                flags=False,
                scalars=filterable,
                scalar_index=server,
            )
        _create_data(
            client, location.collection, manifest, [], flags=True, scalars=filterable, scalar_index=server
        )
    _create_meta(client, location)
    return layout


def _create_data(
    client: Any,
    name: str,
    manifest: StoreManifest,
    columns: list[str],
    *,
    flags: bool,
    scalars: Sequence[str] = (),
    scalar_index: bool = False,
) -> None:
    """A collection with ``id``, ``doc``, the ``scalars`` fields, the vector fields of ``columns``
    and, with ``flags``, ``hash`` and every column's flag (no vector field: the 2-dim placeholder);
    ``scalar_index``: a Trie index on each ``scalars`` field (servers; Milvus Lite scans)."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
    if flags:
        schema.add_field("hash", DataType.VARCHAR, max_length=1024)
    schema.add_field("doc", DataType.JSON)
    index = client.prepare_index_params()
    for attribute in scalars:
        schema.add_field(attribute_field(attribute), DataType.VARCHAR, max_length=MAX_TEXT)
        if scalar_index:  # Milvus 2.3's index for VARCHAR equality and prefix matches
            index.add_index(attribute_field(attribute), index_type="Trie")
    if flags:
        for column in manifest.columns:
            schema.add_field(flag_field(column), DataType.BOOL)
    for column in columns:
        info = manifest.encoder(column)
        schema.add_field(vector_field(column), DataType.FLOAT_VECTOR, dim=info.dim)
        kind, params = _index(manifest.ann)
        # pymilvus 3 sends build parameters as flat key/value pairs, which Milvus servers read;
        # Milvus Lite 3.2 reads only the legacy JSON "params" pair (servers accept it too)
        both = {**params, "params": params} if params else {}
        index.add_index(vector_field(column), index_type=kind, metric_type="IP", params=both)
    if not columns:
        schema.add_field(PLACEHOLDER, DataType.FLOAT_VECTOR, dim=2)
        index.add_index(PLACEHOLDER, index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def _create_meta(client: Any, location: MilvusLocation) -> None:
    """The collection of documents: manifest, version, layout, engine config."""
    from pymilvus import DataType

    meta = client.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    meta.add_field("value", DataType.VARCHAR, max_length=65_535)
    meta.add_field("_v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
    meta_index = client.prepare_index_params()
    meta_index.add_index("_v", index_type="FLAT", metric_type="L2")
    client.create_collection(location.meta, schema=meta, index_params=meta_index, consistency_level="Strong")


def _index(ann: AnnSettings | None) -> tuple[str, dict[str, Any]]:
    """Milvus index type and build parameters for a vector field."""
    if ann is None:
        return "FLAT", {}
    if ann.kind == "hnsw":
        return "HNSW", {"M": ann.m, "efConstruction": ann.ef_construction}
    return "IVF_FLAT", {"nlist": ann.nlist or DEFAULT_NLIST}


def _put_document(client: Any, meta: str, key: str, value: str) -> None:
    client.upsert(meta, [{"key": key, "value": value, "_v": [0.0, 0.0]}])


def _id_in(ids: Sequence[str]) -> str:
    """A Milvus ``id in [...]`` expression with safely quoted ids."""
    return "id in [" + ", ".join(json.dumps(i, ensure_ascii=False) for i in ids) + "]"


def _field(name: str) -> str:
    """Milvus expression of a product field or attribute: the primary key, or a key of ``doc``."""
    return "id" if name == "id" else f"doc[{json.dumps(name, ensure_ascii=False)}]"
