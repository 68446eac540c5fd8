"""The HTTP API over one :class:`~shopfuse.engine.Engine`: search, products, similar, writes, health.

Handlers stay thin: each validates its input, calls the engine, and shapes the answer; they live
in :mod:`shopfuse.service.routes`, one router per resource, and reach the engine, settings and
writer through the dependencies of :mod:`shopfuse.service.deps`. Encoders and the model load
once, when the app is created. Writes need an API key (``X-API-Key``), compared in constant time;
with no key configured, writes are refused. Request bodies, uploaded photos (bytes, pixels, sides,
aspect), ``k`` and ``offset`` are bounded; media paths in posted products must lie under the
configured media roots, and posted products may not add attributes unless allowed (see
:mod:`shopfuse.service.writes`). Writes run on one writer thread while searches keep serving the
last committed version. Product photos are served from the image roots only (see
:mod:`shopfuse.service.media`); the web UI (static files, no build step) is served at ``/`` with
a Content-Security-Policy allowing only itself. ``/metrics`` speaks the Prometheus exposition
format, labelled by route template.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from shopfuse.engine import Engine
from shopfuse.errors import ShopfuseError
from shopfuse.service.metrics import route_template
from shopfuse.service.routes import admin, content, creative, products, qa, recommend, search, tryon, ui
from shopfuse.service.security import BodyLimit, SecurityHeaders
from shopfuse.service.settings import ServiceSettings
from shopfuse.service.state import ServiceState, service_state
from shopfuse.service.writes import WriteQueueFullError

__all__ = ["ServiceSettings", "create_app"]


def create_app(engine: Engine, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app serving ``engine``; OpenAPI docs at ``/docs``."""
    app = FastAPI(
        title="shopfuse",
        description="Multimodal product search: text in any language, photos, hybrid words+meaning.",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.service = service_state(engine, settings or ServiceSettings())
    engine.searcher()  # load encoders and the model now, not on the first request
    app.mount("/static", StaticFiles(directory=ui.STATIC), name="static")

    app.middleware("http")(_count)
    # added last = outermost: hosts first, then the body bound, headers on every answer
    app.add_middleware(BodyLimit, max_bytes=app.state.service.settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=list(app.state.service.settings.allowed_hosts) or ["*"]
    )
    app.add_exception_handler(ShopfuseError, _bad_input)  # type: ignore[arg-type]

    for router in (
        ui.router,
        admin.router,
        search.router,
        recommend.router,
        content.router,
        qa.router,
        creative.router,
        tryon.router,
    ):
        app.include_router(router)
    # last: its "/products/{id:path}" routes would answer the other routers' /products/... routes
    app.include_router(products.router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    _state(app).writer.close()  # finish the queued writes before the process ends


def _state(app: FastAPI) -> ServiceState:
    state: ServiceState = app.state.service
    return state


async def _count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    _state(request.app).metrics.observe(
        route_template(request.scope),
        request.method,
        response.status_code,
        time.perf_counter() - started,
    )
    return response


async def _bad_input(_: Request, exc: ShopfuseError) -> JSONResponse:
    if isinstance(exc, WriteQueueFullError):
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "1"})
    return JSONResponse(status_code=400, content={"detail": str(exc)})
