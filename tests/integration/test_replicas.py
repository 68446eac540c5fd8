"""Serving replicas: a writer and a read-only replica, two real ``shopfuse serve`` processes over
one Lance store folder.

A product written through the writer appears in the replica's search once the replica's
follower has loaded the new version; the replica refuses writes with 409 naming the writer; and
requests hammering the replica while it loads new versions (data and schema changes) never fail.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from tests.conftest import write_subset
from tests.helpers.processes import free_port, listening

KEY = "replica-test-key"
INTERVAL = 0.5
"""The replica's reload interval in seconds."""
WAIT = 90.0
"""Longest wait for the replica to show a write (generous: the 2-core box is shared)."""


def _serve(store: Path, port: int, *options: str) -> list[str]:
    command = [sys.executable, "-m", "shopfuse", "serve", "--store", str(store), "--port", str(port)]
    return [*command, "--api-key", KEY, *options]


@pytest.fixture(scope="module")
def store(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh store of 24 fashion products (this module writes to it)."""
    folder = tmp_path_factory.mktemp("replicas")
    subset = write_subset(fashion_csv, folder / "fashion.csv", list(range(0, 9572, 400)))
    engine = Engine.open(folder / "store")
    engine.ingest(subset, FASHION_MAPPING, progress=False)
    return folder / "store"


@pytest.fixture(scope="module")
def services(store: Path) -> Iterator[tuple[str, str]]:
    """The writer's and the replica's base URLs."""
    writer_port, replica_port = free_port(), free_port()
    writer = f"http://127.0.0.1:{writer_port}"
    with (
        listening(_serve(store, writer_port, "--allow-new-attributes"), writer_port),
        listening(
            _serve(store, replica_port, "--writer", writer, "--reload-interval", str(INTERVAL)), replica_port
        ),
    ):
        yield writer, f"http://127.0.0.1:{replica_port}"


def _post(url: str, products: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{url}/products", json=products, headers={"X-API-Key": KEY}, timeout=120)


def _ids(url: str, query: str, where: str | None = None) -> list[str]:
    params = {"q": query, "k": "5", **({"where": where} if where else {})}
    answer = httpx.get(f"{url}/search", params=params, timeout=60)
    if where and answer.status_code == 400 and "fabric" in answer.text:
        return []  # the replica has not loaded the schema with the new attribute yet
    answer.raise_for_status()
    return [hit["id"] for hit in answer.json()["hits"]]


def _wait_for(url: str, product_id: str, query: str, where: str | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while product_id not in _ids(url, query, where):
        assert time.monotonic() < deadline, f"{product_id} never appeared at {url}"
        time.sleep(INTERVAL / 2)


def test_a_write_through_the_writer_reaches_the_replica(services: tuple[str, str]) -> None:
    writer, replica = services
    query = "zebra striped velvet opera cloak"
    assert "replica-1" not in _ids(replica, query)
    written = _post(writer, [{"id": "replica-1", "title": "Zebra striped velvet opera cloak"}])
    assert written.status_code == 200, written.text
    assert written.json()["added"] == 1
    assert _ids(writer, query)[0] == "replica-1"  # acknowledged means readable on the writer
    _wait_for(replica, "replica-1", query)
    assert _ids(replica, query)[0] == "replica-1"


def test_the_replica_refuses_writes_and_names_the_writer(services: tuple[str, str]) -> None:
    writer, replica = services
    refused = _post(replica, [{"id": "replica-refused", "title": "Never stored"}])
    assert refused.status_code == 409
    assert writer in refused.json()["detail"] and refused.headers["x-shopfuse-writer"] == writer
    deleted = httpx.delete(f"{replica}/products/replica-1", headers={"X-API-Key": KEY}, timeout=30)
    assert deleted.status_code == 409
    events = [{"user_id": "u1", "item_id": "replica-1", "timestamp": "2026-01-01T00:00:00"}]
    logged = httpx.post(f"{replica}/interactions", json=events, headers={"X-API-Key": KEY}, timeout=30)
    assert logged.status_code == 409
    assert "replica-refused" not in _ids(writer, "Never stored")


def test_no_request_fails_while_the_replica_reloads(services: tuple[str, str]) -> None:
    writer, replica = services
    answers: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    answer = client.get(f"{replica}/search", params={"q": "shoes", "k": "5"})
                    answers.append(answer.status_code)
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        for n in range(3):  # new versions: data only
            product = {"id": f"reload-{n}", "title": f"Reload test scarf number {n} in mustard wool"}
            assert _post(writer, [product]).status_code == 200
        _wait_for(replica, "reload-2", "mustard wool scarf number 2")
        # a new attribute: a new schema, so the replica opens a new engine and swaps it in
        product = {"id": "reload-fabric", "title": "Teal corduroy bucket hat", "fabric": "corduroy"}
        written = _post(writer, [product])
        assert written.status_code == 200, written.text
        _wait_for(replica, "reload-fabric", "teal corduroy hat", where="fabric = 'corduroy'")
        # the replica answers with the new attribute: it serves the new schema, not only new rows
        detail = httpx.get(f"{replica}/products/reload-fabric", timeout=60).json()
        assert detail["attributes"]["fabric"] == "corduroy"
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not errors
    assert answers and set(answers) == {200}
