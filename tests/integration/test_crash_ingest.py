"""kill -9 during ingest, through the HTTP service and through the CLI: restart, re-run, nothing lost.

Both halves run the real programs as subprocesses (``shopfuse serve`` under uvicorn, ``shopfuse
ingest``) over a fresh store of 60 real fashion products, send them SIGKILL in the middle of the
work, start them again on the same store and check the rows themselves: every product once, with
its title and its vectors, and search still working.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopfuse.config import EngineConfig
from shopfuse.engine import Engine
from shopfuse.store.checking import check_store
from shopfuse.store.lance import LanceStore
from tests.conftest import write_subset

KEY = "crash-test-key"
ROWS = list(range(7, 9572, 159))[:60]
"""60 products spread over the catalogue."""
BATCH = 8
"""Products per commit inside one ingest: small, so a kill lands between commits."""


def _products(catalog: Path) -> list[dict[str, Any]]:
    """The subset's rows as ``POST /products`` bodies: id, title, photo, attributes."""
    with catalog.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    keep = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "usage")
    return [
        {"id": r["id"], "title": r["productDisplayName"], "image": r["image"], **{k: r[k] for k in keep}}
        for r in rows
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shopfuse(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """``python -m shopfuse ARGS`` in the background, output to ``log``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "shopfuse", *args], stdout=out, stderr=out, env=env)


class _Server:
    """``shopfuse serve`` on a free loopback port, writable with :data:`KEY`."""

    def __init__(self, store: Path, media: Path, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.process = _shopfuse(
            "serve",
            "--store",
            str(store),
            "--port",
            str(self.port),
            "--api-key",
            KEY,
            "--media-root",
            str(media),
            "--allow-new-attributes",  # the store starts empty: posted products bring its attributes
            log=log,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 60.0) -> httpx.Client:
        """A client, once ``/health`` answers."""
        client = httpx.Client(base_url=self.url, headers={"X-API-Key": KEY}, timeout=60.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if client.get("/health").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _check_store(store: Path, products: list[dict[str, Any]]) -> None:
    """Every product exactly once, with its title, a text and a photo vector."""
    lance = LanceStore(store)
    expected = {p["id"] for p in products}
    for column in ("text", "image"):
        ids, matrix = lance.vectors(column)
        assert len(ids) == len(set(ids)) == len(expected), column
        assert set(ids) == expected and matrix.shape[0] == len(ids), column
    assert lance.count() == len(expected)
    titles = {row["id"]: row["title"] for row in lance.get(sorted(expected))}
    assert titles == {p["id"]: p["title"] for p in products}


def _stored_ids(store: Path) -> list[str]:
    """Ids of the rows committed so far (duplicates kept)."""
    return LanceStore(store).vectors("text")[0]


@pytest.fixture()
def catalog(fashion_csv: Path, tmp_path: Path) -> Path:
    """The 60-product subset as a CSV with absolute photo paths."""
    return write_subset(fashion_csv, tmp_path / "crash.csv", ROWS)


def test_server_killed_mid_post_loses_and_duplicates_nothing(
    catalog: Path, fashion_csv: Path, tmp_path: Path
) -> None:
    products = _products(catalog)
    store = tmp_path / "served"
    Engine.open(store, EngineConfig(batch_size=BATCH))  # an empty store with the default encoders
    media = fashion_csv.parent / "images"
    log = tmp_path / "serve.log"
    batches = [products[:10], products[10:20], products[20:50], products[50:]]

    server = _Server(store, media, log)
    try:
        client = server.wait()
        for batch in batches[:2]:
            answer = client.post("/products", json=batch)
            assert answer.status_code == 200 and answer.json()["added"] == len(batch), answer.text
        in_flight: dict[str, Any] = {}

        def post_third() -> None:
            try:
                in_flight["answer"] = client.post("/products", json=batches[2])
            except httpx.TransportError as exc:
                in_flight["error"] = exc

        sender = threading.Thread(target=post_third)
        sender.start()
        # kill only once the write is on the writer thread (30 products with photos take it well
        # over a second to encode), so the kill lands mid-request, not before or after it
        with httpx.Client(base_url=server.url, timeout=10.0) as watcher:
            deadline = time.monotonic() + 30
            while watcher.get("/stats").json()["pending_writes"] < 1:
                assert time.monotonic() < deadline and "answer" not in in_flight, "the write never queued"
                time.sleep(0.02)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        sender.join(30)
        client.close()
    finally:
        server.stop()

    # the batch in flight was one commit: all of it or none of it, and the first two are whole
    committed = _stored_ids(store)
    assert len(committed) == len(set(committed))
    first_two = {p["id"] for b in batches[:2] for p in b}
    third = {p["id"] for p in batches[2]}
    assert first_two <= set(committed)
    assert len(third & set(committed)) in (0, len(third))
    assert set(committed) <= first_two | third
    assert "error" in in_flight, "the kill landed after the answer: nothing was tested"

    server = _Server(store, media, log)
    try:
        client = server.wait()
        assert client.get("/health").json()["products"] == len(committed)
        totals = {"added": 0, "unchanged": 0, "updated": 0}
        for batch in batches:
            answer = client.post("/products", json=batch)
            assert answer.status_code == 200, answer.text
            for name in totals:
                totals[name] += answer.json()[name]
        assert totals == {"added": 60 - len(committed), "unchanged": len(committed), "updated": 0}
        assert client.get("/health").json()["products"] == 60
        for product in products[::7]:
            row = client.get(f"/products/{product['id']}").json()
            # the API names photos by the URL it serves them at, never by server path
            assert row["title"] == product["title"] and row["image"] == f"/products/{product['id']}/images/0"
        target = products[33]
        hits = client.get("/search", params={"q": target["title"], "k": 5}).json()["hits"]
        assert target["id"] in [h["id"] for h in hits]
        hybrid = client.get("/search", params={"q": target["title"], "mode": "hybrid"}).json()["hits"]
        assert hybrid and hybrid[0]["id"] == target["id"]
        client.close()
    finally:
        server.stop()
    _check_store(store, products)


def test_cli_ingest_killed_mid_run_resumes(catalog: Path, tmp_path: Path) -> None:
    products = _products(catalog)
    store = tmp_path / "cli"
    log = tmp_path / "ingest.log"
    args = (
        "ingest",
        str(catalog),
        "--store",
        str(store),
        "--field",
        "title=productDisplayName",
        "--batch-size",
        str(BATCH),
        "--no-progress",
        "--json",
    )
    first = _shopfuse(*args, log=log)
    seen = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and first.poll() is None:
            if (store / "lance").is_dir():
                try:
                    seen = len(_stored_ids(store))
                except Exception:  # the table may be mid-creation
                    seen = 0
                if seen >= BATCH:
                    break
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL, log.read_text()[-3000:]

    committed = _stored_ids(store)
    assert len(committed) == len(set(committed)) >= BATCH
    assert len(committed) % BATCH == 0  # whole commits only
    assert len(committed) < len(products), "the ingest finished before the kill; nothing was tested"
    assert check_store(store).ok  # a kill between or inside commits is not damage

    again = subprocess.run(
        [sys.executable, "-m", "shopfuse", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
        check=True,
    )
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report["unchanged"] == len(committed)
    assert report["added"] == len(products) - len(committed)
    assert report["updated"] == 0 and report["errors"] == 0
    _check_store(store, products)
    assert check_store(store).ok
    hits = Engine.open(store, create=False).search_text(products[5]["title"], k=5)
    assert products[5]["id"] in [h.id for h in hits]
