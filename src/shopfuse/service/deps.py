"""FastAPI dependencies handing routes the service's shared state (override them in tests)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from shopfuse.engine import Engine
from shopfuse.service.media import ThumbnailCache
from shopfuse.service.metrics import ServiceMetrics
from shopfuse.service.settings import ServiceSettings
from shopfuse.service.state import Recommender, ServiceState, StoreWriter

__all__ = [
    "EngineDep",
    "ImageRootsDep",
    "MediaRootsDep",
    "MetricsDep",
    "RecommenderDep",
    "SettingsDep",
    "ThumbnailsDep",
    "WriterDep",
    "get_engine",
    "get_image_roots",
    "get_media_roots",
    "get_metrics",
    "get_recommender",
    "get_settings",
    "get_state",
    "get_thumbnails",
    "get_writer",
    "require_key",
]


def get_state(request: Request) -> ServiceState:
    """The state :func:`~shopfuse.service.app.create_app` kept on ``app.state.service``."""
    state: ServiceState = request.app.state.service
    return state


def get_engine(request: Request) -> Engine:
    """The engine the service answers from."""
    return get_state(request).engine


def get_settings(request: Request) -> ServiceSettings:
    """The service's limits and keys."""
    return get_state(request).settings


def get_writer(request: Request) -> StoreWriter:
    """The writer thread every change of the store runs on."""
    return get_state(request).writer


def get_metrics(request: Request) -> ServiceMetrics:
    """Request counts and latencies since start."""
    return get_state(request).metrics


def get_recommender(request: Request) -> Recommender:
    """The lock-guarded recommendations of the engine."""
    return get_state(request).recommender


def get_media_roots(request: Request) -> list[Path]:
    """Folders that posted products' media paths must lie under."""
    return get_state(request).media_roots


def get_image_roots(request: Request) -> list[Path]:
    """Folders whose photos may be served."""
    return get_state(request).image_roots


def get_thumbnails(request: Request) -> ThumbnailCache:
    """The cache of photo thumbnails."""
    return get_state(request).thumbnails


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
WriterDep = Annotated[StoreWriter, Depends(get_writer)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
RecommenderDep = Annotated[Recommender, Depends(get_recommender)]
MediaRootsDep = Annotated[list[Path], Depends(get_media_roots)]
ImageRootsDep = Annotated[list[Path], Depends(get_image_roots)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(get_thumbnails)]


def require_key(settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Refuse a write on a read replica (409, naming the writer), without a configured key (403) or
    with a wrong one (401)."""
    keys = [k.encode() for k in settings.api_keys if k]
    if not keys:
        from shopfuse.service.replica import replica_refusal

        if (refusal := replica_refusal(settings)) is not None:
            raise refusal
        raise HTTPException(403, "writes are disabled: start the service with --api-key")
    given = (x_api_key or "").encode()
    if not any(hmac.compare_digest(given, key) for key in keys):  # constant time per key
        raise HTTPException(401, "missing or wrong X-API-Key")
