"""Request metrics in the Prometheus exposition format, labelled by route template.

Every label takes a bounded set of values: the route's template (``/products/{product_id}``),
never the raw path, so a client requesting 3,000 unknown paths adds nothing (they share the
``unmatched`` route); the method (``other`` for methods no route serves) and the status code.
Each app has its own registry, so several apps in one process (tests, workers) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED", "ServiceMetrics", "route_template"]

UNMATCHED = "unmatched"
"""The route label of requests that matched no route (unknown paths, probes, scanners)."""
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds; a search on a warm store takes 5-50 ms, an image search or a write up to seconds."""


class ServiceMetrics:
    """Counters and latency histograms of one app, plus gauges read when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self.requests = Counter(
            "shopfuse_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shopfuse_request_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.products = Gauge("shopfuse_products", "Products in the store.", registry=self.registry)
        self.cache = Gauge(
            "shopfuse_query_cache", "Query-vector cache counters.", ["kind"], registry=self.registry
        )
        self.uptime = Gauge(
            "shopfuse_uptime_seconds", "Seconds since the app started.", registry=self.registry
        )
        self.pending_writes = Gauge(
            "shopfuse_pending_writes", "Write requests queued or running.", registry=self.registry
        )

    def observe(self, route: str | None, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        name = route or UNMATCHED
        verb = method if method in _METHODS else "other"
        self.requests.labels(name, verb, str(status)).inc()
        self.latency.labels(name, verb).observe(seconds)

    def exposition(self, products: int, cache: dict[str, Any], pending: int) -> bytes:
        """The text exposition, with the gauges refreshed."""
        self.products.set(products)
        for kind, value in cache.items():
            if isinstance(value, int | float):
                self.cache.labels(kind).set(value)
        self.uptime.set(time.time() - self.started)
        self.pending_writes.set(pending)
        return bytes(generate_latest(self.registry))

    def summary(self) -> dict[str, dict[str, float]]:
        """``{route: {requests, errors, mean_ms}}`` from the same counters, for ``GET /stats``."""
        out: dict[str, dict[str, float]] = {}
        seconds: dict[str, tuple[float, float]] = {}
        for metric in self.registry.collect():
            for sample in metric.samples:
                route = sample.labels.get("route")
                if route is None:
                    continue
                row = out.setdefault(route, {"requests": 0, "errors": 0, "mean_ms": 0.0})
                if sample.name == "shopfuse_requests_total":
                    row["requests"] += sample.value
                    if int(sample.labels["status"]) >= 400:
                        row["errors"] += sample.value
                elif sample.name in ("shopfuse_request_seconds_sum", "shopfuse_request_seconds_count"):
                    total, count = seconds.get(route, (0.0, 0.0))
                    if sample.name.endswith("_sum"):
                        total += sample.value
                    else:
                        count += sample.value
                    seconds[route] = (total, count)
        for route, (total, count) in seconds.items():
            out[route]["mean_ms"] = round(1000 * total / count, 2) if count else 0.0
        return out


def route_template(scope: Mapping[str, Any]) -> str | None:
    """The matched route's path template, or None when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None
