"""The HTTP API over one :class:`~shopfuse.engine.Engine`: search, products, similar, writes, health.

Handlers stay thin: each validates its input, calls the engine, and shapes the answer. Encoders
and the model load once, when the app is created. Writes need an API key (``X-API-Key``),
compared in constant time; with no key configured, writes are refused. Request bodies,
uploaded photos (bytes, pixels, sides, aspect), ``k`` and ``offset`` are bounded; media paths in
posted products must lie under the configured media roots, and posted products may not add
attributes unless allowed (see :mod:`shopfuse.service.writes`). Writes run on one writer thread
while searches keep serving the last committed version. Product photos are served from the
image roots only (see :mod:`shopfuse.service.media`); the web UI (static files, no build step)
is served at ``/`` with a Content-Security-Policy allowing only itself. ``/metrics`` speaks the
Prometheus exposition format, labelled by route template.
"""

from __future__ import annotations

import hmac
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from shopfuse.engine import Engine
from shopfuse.errors import MediaError, ShopfuseError
from shopfuse.media.images import load_image
from shopfuse.service.media import (
    THUMBNAIL_SIZES,
    ThumbnailCache,
    etag,
    product_images,
    served_path,
    stored_image_folders,
)
from shopfuse.service.metrics import CONTENT_TYPE_LATEST, ServiceMetrics, route_template
from shopfuse.service.security import BodyLimit, SecurityHeaders
from shopfuse.service.writes import PostError, WriteQueue, WriteQueueFullError, posted_catalog
from shopfuse.types import Hit

__all__ = ["ServiceSettings", "create_app"]

T = TypeVar("T")
STATIC = Path(__file__).parent / "static"
"""The web UI: ``index.html``, ``app.js`` and ``style.css``, served as they are."""
PHOTO_MAX_AGE = 86_400
"""Seconds browsers may reuse a served photo before asking again (with its ETag)."""


@dataclass(slots=True)
class ServiceSettings:
    """Limits and keys of one running service."""

    api_keys: Sequence[str] = ()
    """Keys that may write (ingest, delete); none: the API is read-only."""
    media_roots: Sequence[str | Path] = ()
    """Folders that posted products' media paths must lie under; none: posted media are refused."""
    image_roots: Sequence[str] | None = None
    """Folders whose photos ``GET /products/{id}/images/{n}`` may serve; None: the media roots plus
    the folders of the photos stored when the service starts; empty: no photos are served."""
    max_upload_bytes: int = 10_000_000
    max_upload_pixels: int = 40_000_000
    max_k: int = 100
    max_offset: int = 1000
    """Deepest result a page may start at (``offset``): deeper pages rank most of the catalogue."""
    max_products_per_request: int = 1000
    max_request_bytes: int = 16_000_000
    """Largest request body (a photo upload or a JSON batch of products); larger ones get 413."""
    allow_new_attributes: bool = False
    """Whether posted products may add attributes the store does not have (capped by the store's
    ``limits.store_attributes``); by default only a catalogue ingest adds attributes."""
    allowed_hosts: Sequence[str] = ("*",)
    """Host header values served (``*``: any); others get 400, which stops DNS-rebinding pages."""
    max_pending_writes: int = 64
    """Write requests that may wait for the writer thread; more get 503."""
    optimize_every: int = 50
    """Compact the store after this many writes, when the writer is idle (each compaction
    rewrites the table, so doing it after every small write slowed concurrent searches)."""


class InteractionIn(BaseModel):
    """One event posted to ``POST /interactions``."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=200)
    item_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime
    event: str = "purchase"
    weight: float = Field(default=1.0, ge=0)
    price: float | None = Field(default=None, ge=0)


class ProductIn(BaseModel):
    """A product posted to ``POST /products``: the catalogue's fields, media as paths on the server."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    image: str | None = None
    images: list[str] | None = None
    video: str | None = None
    audio: str | None = None


def _hit(hit: Hit) -> dict[str, Any]:
    out = asdict(hit)
    out["why"] = out.pop("contributions")
    return out


def create_app(engine: Engine, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app serving ``engine``; OpenAPI docs at ``/docs``."""
    settings = settings or ServiceSettings()
    roots = [Path(r).resolve() for r in settings.media_roots]
    keys = [k.encode() for k in settings.api_keys if k]
    metrics = ServiceMetrics()
    writes_since_optimize = 0

    def optimize_when_due() -> None:
        nonlocal writes_since_optimize
        if writes_since_optimize >= settings.optimize_every:
            writes_since_optimize = 0
            engine.store.optimize()
            engine.store.refresh()

    writer = WriteQueue(settings.max_pending_writes, on_idle=optimize_when_due)

    async def store_write(change: Callable[[], T]) -> T:
        """Run a change of the store on the writer thread; once this returns, every read sees it."""

        def job() -> T:
            nonlocal writes_since_optimize
            result = change()
            writes_since_optimize += 1
            engine.store.refresh()  # acknowledged means readable: reads after the answer see it
            return result

        return await writer.run(job)

    image_roots = [
        Path(r).resolve()
        for r in (
            [*roots, *stored_image_folders(engine.store)]
            if settings.image_roots is None
            else settings.image_roots
        )
    ]
    thumbnails = ThumbnailCache()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()  # finish the queued writes before the process ends

    app = FastAPI(
        title="shopfuse",
        description="Multimodal product search: text in any language, photos, hybrid words+meaning.",
        version="0.1.0",
        lifespan=lifespan,
    )
    engine.searcher()  # load encoders and the model now, not on the first request
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        metrics.observe(
            route_template(request.scope),
            request.method,
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    # added last = outermost: hosts first, then the body bound, headers on every answer
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts) or ["*"])

    @app.exception_handler(ShopfuseError)
    async def bad_input(_: Request, exc: ShopfuseError) -> JSONResponse:
        if isinstance(exc, WriteQueueFullError):
            return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    def require_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if not keys:
            raise HTTPException(403, "writes are disabled: start the service with --api-key")
        given = (x_api_key or "").encode()
        if not any(hmac.compare_digest(given, key) for key in keys):  # constant time per key
            raise HTTPException(401, "missing or wrong X-API-Key")

    def page(hits: list[Hit], k: int, offset: int, facets: list[str]) -> dict[str, Any]:
        counted: dict[str, dict[str, int]] = {}
        for label in facets:
            values = Counter(
                str(h.attributes.get(label)) for h in hits if h.attributes.get(label) is not None
            )
            counted[label] = dict(values.most_common())
        return {
            "total": len(hits),
            "offset": offset,
            "k": k,
            "hits": [_hit(h) for h in hits[offset : offset + k]],
            "facets": counted,
        }

    def sort_hits(hits: list[Hit], sort: str | None, order: str) -> list[Hit]:
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

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The web UI."""
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/info")
    def info() -> dict[str, Any]:
        """What the store holds, for clients: product count, attributes and their types, modalities."""
        manifest = engine.store.manifest
        return {
            "products": engine.store.count(),
            "attributes": dict(manifest.attributes),
            "modalities": engine.store.modality_counts(),
            "image_search": engine.image_encoder is not None,
            "max_k": settings.max_k,
            "max_upload_bytes": settings.max_upload_bytes,
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness and what is served."""
        return {"status": "ok", "products": engine.store.count(), "model": engine.model is not None}

    @app.get("/metrics", response_class=Response)
    def get_metrics() -> Response:
        """Prometheus exposition: requests and latency histograms per route template, gauges."""
        body = metrics.exposition(engine.store.count(), engine.query_cache.stats(), writer.pending)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/stats")
    def stats() -> dict[str, Any]:
        """Requests, errors and mean latency per route since start, as JSON."""
        return {
            "uptime_seconds": round(time.time() - metrics.started, 1),
            "query_cache": engine.query_cache.stats(),
            "pending_writes": writer.pending,
            "routes": metrics.summary(),
        }

    def check_page(k: int, offset: int = 0, depth: int | None = None) -> None:
        if depth is not None and (k > settings.max_k or depth > 10 * settings.max_k):
            raise HTTPException(400, f"k may be at most {settings.max_k} and depth {10 * settings.max_k}")
        if k > settings.max_k:
            raise HTTPException(400, f"k may be at most {settings.max_k}")
        if offset > settings.max_offset:
            raise HTTPException(400, f"offset may be at most {settings.max_offset}")

    @app.get("/search")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=500, description="Text, any language.")],
        k: Annotated[int, Query(ge=1)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
        mode: Literal["vector", "lexical", "hybrid"] = "vector",
        fusion: Literal["rrf", "weighted"] = "rrf",
        lexical_weight: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
        where: Annotated[str | None, Query(max_length=1000)] = None,
        facets: Annotated[
            str | None, Query(description="Attribute labels to count, comma separated.")
        ] = None,
        sort: Annotated[str | None, Query(description="Attribute to sort the relevant results by.")] = None,
        order: Literal["asc", "desc"] = "asc",
        depth: Annotated[int, Query(ge=1, description="Relevance cut-off before facets and sort.")] = 50,
    ) -> dict[str, Any]:
        """Products matching a text query: pages of hits with the "why", facets, optional sort."""
        check_page(k, offset, depth)
        hits = engine.search_text(
            q,
            k=max(depth, offset + k),
            where=where,
            mode=mode,
            fusion=fusion,
            lexical_weight=lexical_weight,
        )
        labels = [f.strip() for f in (facets or "").split(",") if f.strip()]
        return page(sort_hits(hits, sort, order), k, offset, labels)

    @app.post("/search/image")
    async def search_image(
        file: Annotated[UploadFile, File(description="A product photo (JPEG, PNG, WebP ...).")],
        k: Annotated[int, Form(ge=1)] = 10,
        where: Annotated[str | None, Form(max_length=1000)] = None,
        q: Annotated[
            str | None,
            Form(max_length=500, description="Optional words to search with the photo, any language."),
        ] = None,
        mode: Annotated[Literal["vector", "lexical", "hybrid"], Form()] = "vector",
        image_weight: Annotated[
            float, Form(ge=0.0, le=1.0, description="The photo's share when words are given too.")
        ] = 0.5,
        offset: Annotated[int, Form(ge=0)] = 0,
        facets: Annotated[str | None, Form(description="Attribute labels to count, comma separated.")] = None,
        depth: Annotated[int, Form(ge=1, description="Relevance cut-off before facets.")] = 50,
    ) -> dict[str, Any]:
        """Products that look like an uploaded photo; with ``q``, matching the words and the photo.

        Photo and words are ranked separately and merged by reciprocal rank fusion; each hit's
        "why" then holds ``text_query`` and ``image_query`` shares next to the modality scores.
        """
        check_page(k, offset, depth)
        if not (file.content_type or "").startswith("image/"):
            raise HTTPException(415, f"expected an image upload, got content type {file.content_type!r}")
        data = await file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
        with tempfile.NamedTemporaryFile(suffix=".upload") as tmp:
            tmp.write(data)
            tmp.flush()
            try:
                image = load_image(tmp.name, max_pixels=settings.max_upload_pixels)
            except MediaError as exc:  # the reason, without the server's temporary path
                raise HTTPException(400, f"uploaded image: {exc.reason}") from exc
        wanted = max(depth, offset + k)
        if q and q.strip():
            hits = engine.search_text_and_image(
                q, image, k=wanted, where=where, mode=mode, image_weight=image_weight, depth=wanted
            )
        else:
            hits = engine.search_image(image, k=wanted, where=where)
        labels = [f.strip() for f in (facets or "").split(",") if f.strip()]
        return page(hits, k, offset, labels)

    def product_row(product_id: str) -> dict[str, Any]:
        rows = engine.store.get([product_id])
        if not rows:
            raise HTTPException(404, f"no product {product_id!r}")
        return rows[0]

    # ids may hold "/": every product route takes a path parameter, the longer routes first
    @app.get("/products/{product_id:path}/images/{number}")
    def product_image(
        request: Request,
        product_id: str,
        number: Annotated[int, FastPath(ge=0, description="Which photo, from 0.")],
        size: Annotated[
            int | None,
            Query(
                ge=THUMBNAIL_SIZES[0],
                le=THUMBNAIL_SIZES[1],
                description="Longest edge of a JPEG thumbnail; none: the stored file.",
            ),
        ] = None,
    ) -> Response:
        """A product's stored photo (or a thumbnail of it), if it lies inside the image roots."""
        images = product_images(product_row(product_id))
        if number >= len(images):
            raise HTTPException(404, f"product {product_id!r} has no photo {number}")
        path = served_path(images[number], image_roots)
        if path is None:
            raise HTTPException(404, f"photo {number} of {product_id!r} is not served")
        tag = etag(path, size)
        headers = {"Cache-Control": f"public, max-age={PHOTO_MAX_AGE}", "ETag": tag}
        if tag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        if size is None:
            return FileResponse(path, headers=headers)
        return Response(thumbnails.get(path, size, tag), media_type="image/jpeg", headers=headers)

    @app.get("/products/{product_id:path}/similar")
    def similar(product_id: str, k: Annotated[int, Query(ge=1)] = 10) -> dict[str, Any]:
        """Products like this one: by its photo where it has one, else by its text."""
        check_page(k)
        row = product_row(product_id)
        if row.get("image") and engine.image_encoder is not None:
            hits = engine.search_image(row["image"], k=k + 1)
        elif row.get("title") or row.get("description"):
            hits = engine.search_text(row.get("title") or row["description"], k=k + 1)
        else:
            hits = []
        return page([h for h in hits if h.id != product_id][:k], k, 0, [])

    @app.post("/products", dependencies=[Depends(require_key)])
    async def upsert(products: list[ProductIn]) -> dict[str, Any]:
        """Add or update products (API key); one commit per request. Media paths must lie under
        the media roots (relative ones are taken relative to the first)."""
        if not products:
            raise HTTPException(400, "no products given")
        if len(products) > settings.max_products_per_request:
            raise HTTPException(400, f"at most {settings.max_products_per_request} products per request")
        try:
            catalog = posted_catalog(
                [p.model_dump(exclude_none=True) for p in products],
                roots=roots,
                known_attributes=engine.store.manifest.attributes,
                allow_new_attributes=settings.allow_new_attributes,
                limits=engine.config.limits,
            )
        except PostError as exc:
            raise HTTPException(400, str(exc)) from exc

        # one commit per request: a server killed mid-request keeps all of it or none
        report = await store_write(
            lambda: engine.ingest_catalog(catalog, sync=False, progress=False, atomic=True, optimize=False)
        )
        return {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "skipped": report.skipped,
            "problems": [p.to_dict() for p in report.problems][:50],
        }

    recommend_lock = threading.Lock()

    def recommendations() -> Any:
        with recommend_lock:  # fitted once per store/log version, not once per concurrent request
            return engine.recommendations()

    @app.get("/recommend/similar/{product_id:path}")
    def recommend_similar(
        product_id: str, k: Annotated[int, Query(ge=1)] = 10, exclude_variants: bool = False
    ) -> dict[str, Any]:
        """Nearest products by fused content; ``exclude_variants`` drops near-duplicates and variants."""
        check_page(k)
        return {"items": recommendations().similar(product_id, k=k, exclude_variants=exclude_variants)}

    @app.get("/products/{product_id:path}/complements")
    def complements(product_id: str, k: Annotated[int, Query(ge=1)] = 10) -> dict[str, Any]:
        """Complete the look: other categories bought with items like this one."""
        check_page(k)
        return {"items": recommendations().complements(product_id, k=k)}

    @app.get("/users/{user_id}/recommendations")
    def user_recommendations(
        user_id: str,
        k: Annotated[int, Query(ge=1)] = 12,
        method: Literal["hybrid", "content", "itemknn", "popularity"] = "hybrid",
    ) -> dict[str, Any]:
        """What the user is likely to take next (an unknown user gets popular items)."""
        check_page(k)
        return {
            "user_id": user_id,
            "method": method,
            "items": recommendations().for_user(user_id, k=k, method=method),
        }

    @app.get("/users/{user_id}/profile")
    def user_profile(user_id: str, vector: bool = False) -> dict[str, Any]:
        """Interpretable interests with weights (and the profile vector when asked)."""
        try:
            return dict(recommendations().profile(user_id).to_dict(with_vector=vector))
        except ShopfuseError as exc:
            raise HTTPException(404, str(exc)) from exc

    @app.get("/segments")
    def segments(n: Annotated[int | None, Query(ge=2, le=20)] = None) -> dict[str, Any]:
        """User segments by profile vectors, each described by what it over-indexes on."""
        try:
            _, found, _ = recommendations().segments(n)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"segments": [s.to_dict() for s in found]}

    @app.post("/interactions", dependencies=[Depends(require_key)])
    async def add_interactions(events: list[InteractionIn]) -> dict[str, Any]:
        """Append purchases, carts or views (API key); recommendations use them on the next call."""
        from shopfuse.recommend import Event, InteractionLog, Interactions
        from shopfuse.recommend.interactions import EVENT_WEIGHTS

        if not events:
            raise HTTPException(400, "no interactions given")
        parsed = []
        for position, item in enumerate(events):
            if item.event not in EVENT_WEIGHTS:
                raise HTTPException(400, f"interaction {position}: unknown event {item.event!r}")
            stamp = item.timestamp if item.timestamp.tzinfo else item.timestamp.replace(tzinfo=UTC)
            parsed.append(
                Event(item.user_id, item.item_id, stamp.timestamp(), item.event, item.weight, item.price)
            )
        await writer.run(lambda: InteractionLog(engine.path / "interactions").append(Interactions(parsed)))
        return {"appended": len(parsed)}

    # registered last: "/products/{id:path}" would otherwise answer the longer product routes
    @app.get("/products/{product_id:path}")
    def product(product_id: str) -> dict[str, Any]:
        """One product: fields, attributes, media paths, per-modality contributions."""
        return product_row(product_id)

    @app.delete("/products/{product_id:path}", dependencies=[Depends(require_key)])
    async def delete(product_id: str) -> dict[str, Any]:
        """Remove a product (API key)."""

        def change() -> int:
            if not engine.store.get([product_id]):
                raise HTTPException(404, f"no product {product_id!r}")
            return engine.delete([product_id])

        return {"deleted": await store_write(change)}

    return app
