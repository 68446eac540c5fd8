"""A small writable service over real fashion products, and the process-memory readings the checks use.

The store is ingested once per module; each test gets a fresh app over it, entered like a server
(lifespan started, then ended at teardown). One app per test because a FastAPI app's lifespan may
run only once: schemathesis ends the lifespans it started after every test, and a write sent to
an app whose lifespan has ended waits forever (see ``test_writes_still_answer_after_a_lifespan``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import write_subset

API_KEY = "fuzz-s3cret"
"""The one key the fuzzed service accepts for writes."""
INTERNAL_NAMES = ("_hash", "_vec_", "_has_")
"""Store column names that must never reach a client, not even in an error message."""


@dataclass(slots=True)
class Service:
    """The app, a client for it, the engine behind it and the folder posted media may come from."""

    app: FastAPI
    client: TestClient
    engine: Engine
    media_root: Path


@dataclass(slots=True)
class Store:
    """The engine over the ingested products, the media root posted paths must lie under, and the
    process RSS (MiB) once the encoders were loaded and had answered a query."""

    engine: Engine
    media_root: Path
    baseline_mib: float


def build_store(fashion_csv: Path, folder: Path, every: int = 400) -> Store:
    """Ingest every ``every``-th fashion product (24 by default) with the default encoders."""
    catalog = write_subset(fashion_csv, folder / "catalog.csv", list(range(0, 9572, every)))
    engine = Engine.open(folder / "store")
    engine.ingest(catalog, FASHION_MAPPING, progress=False)
    engine.search_text("warm up", k=3)
    return Store(engine, fashion_csv.parent / "images", rss_mib())


def serve(store: Store) -> Iterator[Service]:
    """A new app over ``store`` with the fuzz key, its lifespan running until the generator is closed."""
    settings = ServiceSettings(api_keys=[API_KEY], media_roots=[store.media_root])
    app = create_app(store.engine, settings)
    with TestClient(app) as client:
        yield Service(app, client, store.engine, store.media_root)


@pytest.fixture(scope="module")
def store(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """24 real products, ingested once per test module (the module's writes stay in it)."""
    return build_store(fashion_csv, tmp_path_factory.mktemp("fuzz-store"))


@pytest.fixture()
def service(store: Store) -> Iterator[Service]:
    """A fresh writable app over the module's store, served for one test."""
    yield from serve(store)


def status_kib(field: str, pid: int | str = "self") -> int:
    """A memory figure (``VmRSS``, ``VmHWM`` ...) of a process from ``/proc/PID/status``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory of a process now, in MiB."""
    return status_kib("VmRSS", pid) / 1024
