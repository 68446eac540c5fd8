"""The app factory behind ``shopfuse serve --workers N``: every worker process opens the store.

uvicorn starts worker processes by importing an app, so the options travel in environment
variables set by the parent: the store path and the :class:`ServiceSettings` as JSON. Encoders,
the model and the in-memory vector matrices load once per worker.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shopfuse.engine import Engine
from shopfuse.service.app import create_app
from shopfuse.service.settings import ServiceSettings

__all__ = ["ENV_SETTINGS", "ENV_STORE", "app_from_env", "serve_environment"]

ENV_STORE = "SHOPFUSE_SERVE_STORE"
ENV_SETTINGS = "SHOPFUSE_SERVE_SETTINGS"


def serve_environment(store: str | Path, settings: ServiceSettings, query_cache: int) -> dict[str, str]:
    """The variables :func:`app_from_env` reads, for ``store`` served with ``settings``."""
    data: dict[str, Any] = asdict(settings)
    data["api_keys"] = list(settings.api_keys)
    data["media_roots"] = [str(root) for root in settings.media_roots]
    data["query_cache"] = query_cache
    return {ENV_STORE: str(Path(store).resolve()), ENV_SETTINGS: json.dumps(data)}


def single_threaded_math() -> None:
    """One BLAS/OpenMP thread per request thread: a server runs many requests at once, and
    multi-threaded matrix products in each of them fight over the cores (measured: ~2x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl the libraries' defaults stay
        return
    threadpool_limits(1)


def app_from_env() -> FastAPI:
    """The app over the store named by ``SHOPFUSE_SERVE_STORE`` (a uvicorn ``--factory``)."""
    data = json.loads(os.environ.get(ENV_SETTINGS) or "{}")
    query_cache = int(data.pop("query_cache", 10_000))
    single_threaded_math()
    engine = Engine.open(os.environ[ENV_STORE], create=False)
    engine.query_cache.size = query_cache
    return create_app(engine, ServiceSettings(**data))
