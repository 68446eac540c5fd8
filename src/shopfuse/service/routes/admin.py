"""What the service holds and how it runs: info, health, Prometheus metrics, stats."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from shopfuse.modalities import modality_specs
from shopfuse.service.deps import EngineDep, MetricsDep, SettingsDep, WriterDep
from shopfuse.service.metrics import CONTENT_TYPE_LATEST

__all__ = ["router"]

router = APIRouter()


@router.get("/info")
def info(engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    """What the store holds, for clients: product count, attributes and their types, modalities."""
    manifest = engine.store.manifest
    return {
        "products": engine.store.count(),
        "attributes": dict(manifest.attributes),
        "modalities": engine.store.modality_counts(),
        "modality_labels": {spec.name: spec.label for spec in modality_specs()},
        "image_search": engine.image_encoder is not None,
        "max_k": settings.max_k,
        "max_upload_bytes": settings.max_upload_bytes,
    }


@router.get("/modalities")
def modalities(engine: EngineDep) -> dict[str, Any]:
    """Every registered modality's declaration, and whether (and for how many products) the store has it."""
    counts = engine.store.modality_counts()
    return {
        "modalities": [
            {**spec.describe(), "stored": spec.name in counts, "products": counts.get(spec.name, 0)}
            for spec in modality_specs()
        ]
    }


@router.get("/health")
def health(engine: EngineDep) -> dict[str, Any]:
    """Liveness and what is served."""
    return {"status": "ok", "products": engine.store.count(), "model": engine.model is not None}


@router.get("/metrics", response_class=Response)
def get_metrics(engine: EngineDep, metrics: MetricsDep, writer: WriterDep) -> Response:
    """Prometheus exposition: requests and latency histograms per route template, gauges."""
    body = metrics.exposition(engine.store.count(), engine.query_cache.stats(), writer.pending)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/stats")
def stats(engine: EngineDep, metrics: MetricsDep, writer: WriterDep) -> dict[str, Any]:
    """Requests, errors and mean latency per route since start, as JSON."""
    return {
        "uptime_seconds": round(time.time() - metrics.started, 1),
        "query_cache": engine.query_cache.stats(),
        "pending_writes": writer.pending,
        "routes": metrics.summary(),
    }
