"""Features for the learning policies: contexts as vectors, creatives from the store, users as context.

* :class:`Featurizer` turns a context (a log's context columns, or one ``{column: value}`` dict) into
  a vector: ``[1, standardised numbers..., hashed one-hot categories...]``. Categories are hashed
  (CRC-32 of ``column=value``) into a fixed number of buckets, so an unseen value still has a place
  and the width is bounded whatever the cardinality. It saves and loads with the policy.
* :func:`action_table_from_store` builds an :class:`~shopfuse.creative.logs.ActionTable` from the
  stored vectors (the fused ``product`` vector, else the photo or the copy), reduced by PCA, and
  categorical attributes (stated, or predicted ones passed in), for creatives whose product is in
  a store. It takes a :class:`~shopfuse.store.base.VectorStore` (or anything with a ``.store``), so
  this package does not import the engine.
* :class:`SegmentContext` turns a user into a context dict from the recommendation segments
  (:func:`shopfuse.recommend.profiles.segment_users`) and the user's profile.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.errors import CatalogError, ConfigError, StoreError

__all__ = [
    "Featurizer",
    "SegmentContext",
    "action_table_from_store",
    "decode_array",
    "encode_array",
]

DEFAULT_ATTRIBUTES = ("articleType", "baseColour", "subCategory", "gender", "usage", "season")
"""Attributes used for creative features when the store has them (fashion catalogue names)."""


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """A float array as exact, compact JSON: ``{"shape": [...], "b64": little-endian float64}``."""
    data = np.ascontiguousarray(array, dtype="<f8")
    return {"shape": list(data.shape), "b64": base64.b64encode(data.tobytes()).decode("ascii")}


def decode_array(data: Any, name: str) -> np.ndarray:
    """Read back :func:`encode_array` (or a nested list); a malformed value names ``name``."""
    try:
        if isinstance(data, Mapping):
            raw = base64.b64decode(str(data["b64"]), validate=True)
            array = np.frombuffer(raw, dtype="<f8").reshape([int(s) for s in data["shape"]])
            return array.astype(np.float64)
        return np.asarray(data, dtype=np.float64)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"policy field {name!r} is not a valid array ({exc})") from None


def _bucket(column: str, value: str, width: int) -> int:
    return zlib.crc32(f"{column}={value}".encode()) % width


@dataclass(slots=True)
class Featurizer:
    """Context columns to a vector ``[1, standardised numbers, hashed one-hot categories]``."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    hash_width: int = 16
    """Buckets shared by every categorical column (0 when there are none)."""

    @classmethod
    def fit(cls, log: BanditLog, columns: Sequence[str] | None = None, *, hash_width: int = 16) -> Featurizer:
        """Learn the numeric columns' mean and spread from ``log`` (``columns``: default every one)."""
        names = list(log.context) if columns is None else list(columns)
        missing = [c for c in names if c not in log.context]
        if missing:
            raise ConfigError(
                f"context column(s) {', '.join(missing)} not in the log "
                f"(it has: {', '.join(log.context) or 'none'})"
            )
        numeric = [c for c in names if log.context[c].dtype.kind in "fiub"]
        categorical = [c for c in names if c not in numeric]
        if numeric:
            matrix = np.stack([log.context[c].astype(np.float64) for c in numeric], axis=1)
            mean, std = matrix.mean(0), matrix.std(0)
        else:
            mean, std = np.zeros(0), np.ones(0)
        scale = np.where(std > 1e-12, std, 1.0)
        if hash_width < 1:
            raise ConfigError("hash_width must be at least 1")
        return cls(numeric, categorical, mean, scale, hash_width if categorical else 0)

    @property
    def columns(self) -> list[str]:
        """The context columns read."""
        return [*self.numeric, *self.categorical]

    @property
    def dim(self) -> int:
        """Length of a context vector (the leading 1 included)."""
        return 1 + len(self.numeric) + self.hash_width

    def transform(self, log: BanditLog) -> np.ndarray:
        """``(len(log), dim)`` context vectors of a log's rows."""
        missing = [c for c in self.columns if c not in log.context]
        if missing:
            raise ConfigError(f"the policy reads context column(s) {', '.join(missing)}, which the log lacks")
        out = np.zeros((len(log), self.dim))
        out[:, 0] = 1.0
        for j, column in enumerate(self.numeric):
            values = log.context[column]
            if values.dtype.kind not in "fiub":
                raise ConfigError(f"context column {column!r} must hold numbers (the policy learned it so)")
            out[:, 1 + j] = (values.astype(np.float64) - self.mean[j]) / self.scale[j]
        base = 1 + len(self.numeric)
        for column in self.categorical:
            values = log.context[column]
            cache: dict[str, int] = {}
            for row, value in enumerate(values.tolist()):
                key = str(value)
                slot = cache.get(key)
                if slot is None:
                    slot = cache[key] = _bucket(column, key, self.hash_width)
                out[row, base + slot] += 1.0
        return out

    def vector(self, context: Mapping[str, Any]) -> np.ndarray:
        """One context dict as a vector; a missing column or a non-number where a number goes is an error."""
        missing = [c for c in self.columns if c not in context]
        if missing:
            raise ConfigError(
                f"context lacks column(s) {', '.join(missing)} the policy reads "
                f"(given: {', '.join(map(str, context)) or 'none'})"
            )
        out = np.zeros(self.dim)
        out[0] = 1.0
        for j, column in enumerate(self.numeric):
            value = context[column]
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"context column {column!r} must be a number, got {value!r}") from None
            if not np.isfinite(number):
                raise ConfigError(f"context column {column!r} must be a finite number, got {value!r}")
            out[1 + j] = (number - self.mean[j]) / self.scale[j]
        base = 1 + len(self.numeric)
        for column in self.categorical:
            out[base + _bucket(column, str(context[column]), self.hash_width)] += 1.0
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "mean": [float(x) for x in self.mean],
            "scale": [float(x) for x in self.scale],
            "hash_width": self.hash_width,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Featurizer:
        """Read back :meth:`to_dict`."""
        try:
            numeric = [str(c) for c in data.get("numeric", [])]
            mean = np.asarray(data.get("mean", []), dtype=np.float64)
            scale = np.asarray(data.get("scale", []), dtype=np.float64)
            width = int(data.get("hash_width", 0))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"policy featurizer is malformed ({exc})") from None
        if len(mean) != len(numeric) or len(scale) != len(numeric):
            raise ConfigError("policy featurizer: mean/scale do not match its numeric columns")
        categorical = [str(c) for c in data.get("categorical", [])]
        if categorical and width < 1:
            raise ConfigError("policy featurizer: categorical columns need hash_width >= 1")
        return cls(numeric, categorical, mean, scale, width)


def _pca(matrix: np.ndarray, dims: int) -> tuple[np.ndarray, list[str]]:
    centred = matrix - matrix.mean(0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    keep = int(min(dims, len(singular), int((singular > 1e-9 * max(singular.max(initial=0), 1e-30)).sum())))
    if keep == 0:
        return np.zeros((len(matrix), 0)), []
    reduced = centred @ vt[:keep].T
    std = reduced.std(0)
    return reduced / np.where(std > 1e-12, std, 1.0), [f"pc{i}" for i in range(keep)]


def action_table_from_store(
    store: Any,
    ids: Sequence[str] | Mapping[str, str],
    *,
    column: str | None = None,
    dims: int = 16,
    attributes: Sequence[str] | None = None,
    predicted: Mapping[str, Mapping[str, Any]] | None = None,
    max_categories: int = 32,
) -> ActionTable:
    """An action table from the store's product vectors and attributes.

    ``ids``: product ids (one action each) or ``{action id: product id}`` (several creatives per
    product). ``column``: the vector column (default the first of ``product``, ``image``, ``text``
    that holds every product asked for), reduced by PCA to ``dims`` standardised components.
    ``attributes``: categorical attributes to one-hot (default those of :data:`DEFAULT_ATTRIBUTES` the
    products have); ``predicted``: ``{product id: {attribute: value}}`` from the attribute model,
    used where the catalogue does not state a value. ``store`` is a ``VectorStore`` or an object with
    a ``.store`` (the engine).
    """
    from shopfuse.recommend.space import CONTENT_COLUMNS

    vector_store = getattr(store, "store", store)
    if not hasattr(vector_store, "vectors") or not hasattr(vector_store, "manifest"):
        raise ConfigError("action_table_from_store needs a VectorStore (or an engine with .store)")
    pairs = list(ids.items()) if isinstance(ids, Mapping) else [(str(p), str(p)) for p in ids]
    if not pairs:
        raise ConfigError("no actions to build features for")
    actions = [str(a) for a, _ in pairs]
    if len(set(actions)) != len(actions):
        raise ConfigError("an action id is listed twice")
    products = [str(p) for _, p in pairs]
    wanted = set(products)
    stored_columns = list(vector_store.manifest.columns)
    candidates = [column] if column is not None else [c for c in CONTENT_COLUMNS if c in stored_columns]
    if column is not None and column not in stored_columns:
        raise StoreError(f"the store has no {column!r} vectors (it has: {', '.join(stored_columns)})")
    chosen: tuple[str, dict[str, np.ndarray]] | None = None
    best_missing: list[str] = sorted(wanted)
    for name in candidates:
        stored_ids, matrix = vector_store.vectors(name)
        rows = {pid: matrix[i] for i, pid in enumerate(stored_ids) if pid in wanted}
        missing = sorted(wanted - set(rows))
        if not missing:
            chosen = (name, rows)
            break
        if len(missing) < len(best_missing):
            best_missing = missing
    if chosen is None:
        raise CatalogError(
            f"product(s) without {' or '.join(candidates) or 'any'} vectors in the store: "
            f"{', '.join(best_missing[:10])}{' ...' if len(best_missing) > 10 else ''}"
        )
    name, rows = chosen
    vectors = np.stack([np.asarray(rows[p], dtype=np.float64) for p in products])
    blocks, names = [], []
    reduced, pc_names = _pca(vectors, dims)
    blocks.append(reduced)
    names += [f"{name}:{n}" for n in pc_names]
    fields = {row["id"]: row.get("attributes") or {} for row in vector_store.get(sorted(wanted))}
    guessed = predicted or {}
    values: list[dict[str, str]] = []
    for pid in products:
        merged = {k: str(v) for k, v in (guessed.get(pid) or {}).items() if v not in (None, "")}
        merged.update({k: str(v) for k, v in fields.get(pid, {}).items() if isinstance(v, str) and v})
        values.append(merged)
    present = {k for v in values for k in v}
    chosen_attrs = [a for a in (attributes or DEFAULT_ATTRIBUTES) if a in present]
    if attributes is not None:
        absent = [a for a in attributes if a not in present]
        if absent:
            raise CatalogError(f"no product among the actions has attribute(s) {', '.join(absent)}")
    for attribute in chosen_attrs:
        counts: dict[str, int] = {}
        for v in values:
            if attribute in v:
                counts[v[attribute]] = counts.get(v[attribute], 0) + 1
        kept = sorted(counts, key=lambda k: (-counts[k], k))[:max_categories]
        onehot = np.zeros((len(products), len(kept)))
        place = {k: i for i, k in enumerate(kept)}
        for row, v in enumerate(values):
            slot = place.get(v.get(attribute, ""))
            if slot is not None:
                onehot[row, slot] = 1.0
        blocks.append(onehot)
        names += [f"{attribute}={k}" for k in kept]
    features = np.hstack(blocks) if blocks else np.zeros((len(products), 0))
    return ActionTable(actions, features, names, list(products))


@dataclass(slots=True)
class SegmentContext:
    """A user's context from the recommendation segments and profile: ``{"segment": id, ...}``.

    ``segments`` and ``labels`` are what :func:`shopfuse.recommend.profiles.segment_users` returns
    with the profiles it was given; a user in no segment gets ``unknown``.
    """

    segment_of: dict[str, str]
    descriptions: dict[str, str] = field(default_factory=dict)
    unknown: str = "unknown"

    @classmethod
    def from_segments(cls, segments: Sequence[Any]) -> SegmentContext:
        """From :class:`~shopfuse.recommend.profiles.Segment` objects (their ``id`` and ``users``)."""
        segment_of: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        for segment in segments:
            descriptions[str(segment.id)] = str(getattr(segment, "description", ""))
            for user in segment.users:
                segment_of[str(user)] = str(segment.id)
        return cls(segment_of, descriptions)

    def context(self, user_id: str, profile: Any | None = None) -> dict[str, Any]:
        """``{"segment": ..., "price_band"?: ..., "top_category"?: ...}`` for one user."""
        out: dict[str, Any] = {"segment": self.segment_of.get(str(user_id), self.unknown)}
        if profile is not None:
            price = getattr(profile, "price", None)
            out["price_band"] = str(price.get("band", "unknown")) if isinstance(price, Mapping) else "unknown"
            categories: dict[str, float] = dict(getattr(profile, "categories", None) or {})
            top = max(categories.items(), key=lambda kv: kv[1])[0] if categories else "unknown"
            out["top_category"] = str(top)
        return out
