"""Search: a text or photo query scored against every stored modality that shares its space."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from shopfuse.encoders.base import EncoderInfo, ImageEncoder, TextEncoder, l2_normalize
from shopfuse.errors import ConfigError, EncoderMismatchError
from shopfuse.store.base import StoredHit, VectorStore
from shopfuse.tasks.ingest import PRODUCT
from shopfuse.types import Hit, Moment, TextRole

if TYPE_CHECKING:
    from shopfuse.query.lexical import FusionMethod, LexicalIndex
    from shopfuse.query.ranking import AttributeRanker

__all__ = ["QueryModel", "QueryVectorCache", "Searcher"]


class QueryModel(Protocol):
    """What search needs of a trained model: map text-encoder query vectors into its joint space."""

    @property
    def joint_info(self) -> EncoderInfo:
        """Identity of the joint space."""
        ...

    def embed_query(self, text_vectors: np.ndarray) -> np.ndarray:
        """Query vectors into the joint space."""
        ...


class QueryVectorCache:
    """A thread-safe LRU of encoded texts, keyed by the encoder's space, the role and the text.

    Shops see the same queries again and again; encoding one costs milliseconds, a hit about a
    microsecond. Vectors are returned read-only, since every caller shares them. A 512-d vector
    takes 2 KiB, so the default 10,000 entries hold about 20 MiB.

    Misses are encoded in micro-batches: the first thread to miss encodes every text that
    concurrent requests are waiting for in one call, while they wait; under load this beats
    many single-text calls fighting over the cores, and a text asked for twice at once is
    encoded once. ``size=0`` keeps nothing but still batches.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self.batches = 0
        self._items: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], Future[np.ndarray]] = {}
        self._queue: list[tuple[TextEncoder, tuple[str, str, str]]] = []
        self._leading = False

    def __len__(self) -> int:
        return len(self._items)

    def encode(self, encoder: TextEncoder, texts: Sequence[str], *, role: TextRole = "query") -> np.ndarray:
        """``encoder.encode_text(texts, role=role)``, encoding only the texts not cached."""
        if not texts:
            return encoder.encode_text([], role=role)
        space = encoder.text_info.space
        results: list[np.ndarray | Future[np.ndarray]] = []
        with self._lock:
            for text in texts:
                key = (space, role, text)
                vector = self._items.get(key)
                if vector is not None:
                    self._items.move_to_end(key)
                    self.hits += 1
                    results.append(vector)
                    continue
                self.misses += 1
                waiting = self._pending.get(key)
                if waiting is None:
                    waiting = self._pending[key] = Future()
                    self._queue.append((encoder, key))
                results.append(waiting)
            lead = bool(self._queue) and not self._leading
            if lead:
                self._leading = True
        if lead:
            self._drain()
        return np.stack([r.result() if isinstance(r, Future) else r for r in results])

    def _drain(self) -> None:
        """Encode queued texts, batch after batch, until no one is waiting."""
        while True:
            with self._lock:
                queue, self._queue = self._queue, []
                if not queue:
                    self._leading = False
                    return
            groups: dict[tuple[int, str], list[tuple[TextEncoder, tuple[str, str, str]]]] = {}
            for encoder, key in queue:
                groups.setdefault((id(encoder), key[1]), []).append((encoder, key))
            for (_, role), items in groups.items():
                try:
                    vectors = items[0][0].encode_text([key[2] for _, key in items], role=role)  # type: ignore[arg-type]
                except BaseException as exc:
                    with self._lock:
                        for _, key in items:
                            self._pending.pop(key).set_exception(exc)
                    continue
                with self._lock:
                    self.batches += 1
                    for (_, key), row in zip(items, vectors, strict=True):
                        vector = np.array(row, dtype=np.float32)
                        vector.setflags(write=False)
                        if self.size > 0:
                            self._items[key] = vector
                            self._items.move_to_end(key)
                        self._pending.pop(key).set_result(vector)
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)

    def stats(self) -> dict[str, int]:
        """Entries, hits, misses and encoder calls so far."""
        return {
            "entries": len(self._items),
            "size": self.size,
            "hits": self.hits,
            "misses": self.misses,
            "batches": self.batches,
        }


@dataclass(slots=True)
class Searcher:
    """Encodes queries with the store's own encoders and merges the per-modality results.

    A product's score is its best score over the columns searched, and each column's score is
    reported as that modality's contribution. Taking the maximum keeps the merge exact: the true
    top-k by maximum is inside the union of each column's top-k.
    """

    store: VectorStore
    text: TextEncoder
    image: ImageEncoder | None = None
    model: QueryModel | None = None
    ranker: AttributeRanker | None = None
    """With a model that has attribute heads: query understanding and attribute-aware ranking."""
    rewrite_weight: float = 0.5
    lexical: LexicalIndex | None = None
    """BM25 over the products' words, for ``lexical`` and ``hybrid`` queries."""
    query_cache: QueryVectorCache | None = None
    """Encoded queries kept for repeats; none: every query is encoded."""
    moments: VectorStore | None = None
    """Timed parts of product videos; hits then carry the moments that match the query best."""
    moments_per_hit: int = 3

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors of ``texts`` by the store's text encoder, through the cache if there is one."""
        if self.query_cache is None:
            return self.text.encode_text(list(texts), role="query")
        return self.query_cache.encode(self.text, texts, role="query")

    def hybrid_query(
        self,
        query: str,
        *,
        k: int = 10,
        where: str | None = None,
        mode: str = "hybrid",
        fusion: FusionMethod = "rrf",
        lexical_weight: float = 0.5,
        depth: int = 50,
    ) -> list[Hit]:
        """``lexical`` (BM25 only) or ``hybrid`` (BM25 merged with :meth:`text_query`) search.

        Both rankings are taken ``depth`` deep before fusion; hits report ``vector`` and ``lexical``
        parts of their score next to the vector side's own contributions. Hybrid scores lie within
        [0, 1] and are the sum of those two parts (see :func:`shopfuse.query.lexical.fuse`): 1.0 under
        ``rrf`` is a product ranked first by both sides. Lexical scores are BM25's own.
        """
        from shopfuse.query.lexical import fuse

        if mode not in ("lexical", "hybrid"):
            raise ConfigError(f"unknown search mode {mode!r}; choose vector, lexical or hybrid")
        if self.lexical is None:
            raise ConfigError("this searcher has no lexical index")
        if not query or not query.strip():
            raise ConfigError("empty text query")
        if k < 1:
            raise ConfigError("k must be at least 1")
        allowed = set(self.store.ids_where(where)) if where and where.strip() else None
        lexical = [
            (pid, score)
            for pid, score in self.lexical.search(query, k=max(depth, k) * (4 if allowed else 1))
            if allowed is None or pid in allowed
        ][: max(depth, k)]
        vector = self.text_query(query, k=max(depth, k), where=where) if mode == "hybrid" else []
        if mode == "lexical":
            merged = [(pid, score, {"lexical": score}) for pid, score in lexical[:k]]
        else:
            merged = fuse(vector, lexical, method=fusion, k=k, lexical_weight=lexical_weight)
        known = {h.id: h for h in vector}
        rows = {row["id"]: row for row in self.store.get([pid for pid, _, _ in merged if pid not in known])}
        hits = []
        for pid, score, parts in merged:
            base = known.get(pid)
            row = rows.get(pid, {})
            hit = Hit(
                id=pid,
                score=score,
                title=base.title if base else row.get("title"),
                image=base.image if base else row.get("image"),
                attributes=base.attributes if base else row.get("attributes", {}),
                contributions={**(base.contributions if base else {}), **parts},
                matched=base.matched if base else {},
            )
            hits.append(hit)
        return hits

    def text_query(self, query: str, *, k: int = 10, where: str | None = None) -> list[Hit]:
        """Products matching a text query in any language.

        With a trained model the query goes through its joint space and is matched against the
        fused product vectors, so products with only a photo are found too.
        """
        if not query or not query.strip():
            raise ConfigError("empty text query")
        query = query.strip()
        if self.model is not None and self.ranker is not None:
            parsed = self.ranker.parse(query)
            if parsed.constraints:
                # the query and its rewrite in the catalogue's words ("黑色裤子" -> "Black Trousers")
                both = self.encode_queries([query, parsed.rewrite])
                vector = l2_normalize(
                    ((1 - self.rewrite_weight) * both[0] + self.rewrite_weight * both[1])[None, :]
                )
                joint = self.model.embed_query(vector)[0]
                hits = self.ranker.search(joint, parsed, k=k, where=where)
                return self.attach_moments(hits, joint, self.model.joint_info)
        vector, info = self.text_vector(query)
        return self.attach_moments(self.vector_query(vector, info, k=k, where=where), vector, info)

    def text_vector(self, query: str) -> tuple[np.ndarray, EncoderInfo]:
        """The query's vector in the joint space with a model, else in the text space."""
        vector = self.encode_queries([query])[0]
        if self.model is not None:
            return self.model.embed_query(vector[None, :])[0], self.model.joint_info
        return vector, self.text.text_info

    def image_query(self, image: Image.Image, *, k: int = 10, where: str | None = None) -> list[Hit]:
        """Products that look like ``image``."""
        if self.image is None:
            raise ConfigError("this store has no image encoder, so it cannot be searched by photo")
        vector = self.image.encode_images([image])[0]
        hits = self.vector_query(vector, self.image.image_info, k=k, where=where)
        return self.attach_moments(hits, vector, self.image.image_info)

    def image_vector(self, image: Image.Image) -> tuple[np.ndarray, EncoderInfo]:
        """The photo's vector in the image space."""
        if self.image is None:
            raise ConfigError("this store has no image encoder, so it cannot be searched by photo")
        return self.image.encode_images([image])[0], self.image.image_info

    def moment_query(self, vector: np.ndarray, info: EncoderInfo, *, k: int = 10) -> list[Moment]:
        """The video moments closest to a query vector, over every moment column in its space."""
        if k < 1:
            raise ConfigError("k must be at least 1")
        store = self.moments
        if store is None or store.count() == 0:
            return []
        best: dict[str, Moment] = {}
        for column, encoder in store.manifest.encoders().items():
            if encoder.space != info.space:
                continue
            for found in store.search(column, vector, encoder=encoder, k=k):
                moment = best.get(found.id)
                if moment is None:
                    moment = best[found.id] = _moment(found)
                moment.contributions[column] = found.score
                moment.score = max(moment.score, found.score)
        return sorted(best.values(), key=lambda m: (-m.score, m.product_id, m.start))[:k]

    def attach_moments(self, hits: list[Hit], vector: np.ndarray, info: EncoderInfo) -> list[Hit]:
        """Give each hit with a video the moments of it that match the query best."""
        if self.moments is None or not hits or not any(h.attributes.get("video_moments") for h in hits):
            return hits
        wanted = {h.id: h for h in hits}
        for moment in self.moment_query(vector, info, k=max(50, 10 * len(hits))):
            hit = wanted.get(moment.product_id)
            if hit is not None and len(hit.moments) < self.moments_per_hit:
                hit.moments.append(moment)
        return hits

    def search_moments(self, query: str | Image.Image, *, k: int = 10) -> list[Moment]:
        """Video moments matching a text query (any language) or a photo."""
        if isinstance(query, Image.Image):
            vector, info = self.image_vector(query)
        else:
            if not query or not query.strip():
                raise ConfigError("empty text query")
            vector, info = self.text_vector(query.strip())
        return self.moment_query(vector, info, k=k)

    def vector_query(
        self, vector: np.ndarray, info: EncoderInfo, *, k: int = 10, where: str | None = None
    ) -> list[Hit]:
        """Search every column whose vectors live in ``info``'s space."""
        if k < 1:
            raise ConfigError("k must be at least 1")
        columns = [c for c, enc in self.store.manifest.encoders().items() if enc.space == info.space]
        if not columns:
            stored = ", ".join(f"{c}: {e.describe()}" for c, e in self.store.manifest.encoders().items())
            raise EncoderMismatchError(
                f"the query was encoded by {info.describe()}, but no stored vectors were made by "
                f"it or share its space (store has {stored}); search with the store's encoder"
            )
        merged: dict[str, Hit] = {}
        for column in columns:
            encoder = self.store.manifest.encoder(column)
            for found in self.store.search(column, vector, encoder=encoder, k=k, where=where):
                hit = merged.get(found.id)
                if hit is None:
                    fields = found.fields
                    hit = Hit(
                        id=found.id,
                        score=found.score,
                        title=fields.get("title"),
                        image=fields.get("image"),
                        attributes=fields.get("attributes", {}),
                    )
                    merged[found.id] = hit
                shares = found.fields.get("contributions") if column == PRODUCT else None
                if shares:
                    # a fused vector: split its score by how much each modality shaped it
                    hit.contributions.update({m: found.score * w for m, w in shares.items()})
                else:
                    hit.contributions[column] = found.score
                hit.score = max(hit.score, found.score)
        return sorted(merged.values(), key=lambda h: (-h.score, h.id))[:k]


def _moment(found: StoredHit) -> Moment:
    """A moment from its stored row (attributes ``product_id``, ``start``, ``end``)."""
    attributes = found.fields.get("attributes") or {}
    return Moment(
        product_id=str(attributes.get("product_id") or found.id.rsplit("#", 1)[0]),
        start=float(attributes.get("start") or 0.0),
        end=float(attributes.get("end") or 0.0),
        score=found.score,
        video=found.fields.get("video"),
        title=found.fields.get("title"),
    )
