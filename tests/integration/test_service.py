"""The HTTP API over real fashion products: every route, limits, keys and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import write_subset


@pytest.fixture(scope="module")
def client(fashion_engine: Engine) -> TestClient:
    """Read-only service over the shared 120-product fashion store."""
    return TestClient(create_app(fashion_engine, ServiceSettings(max_upload_bytes=200_000)))


@pytest.fixture()
def writable(fashion_csv: Path, tmp_path: Path) -> tuple[TestClient, Engine]:
    """A service over a fresh 12-product store, with a key and the shared images as media root."""
    catalog = write_subset(fashion_csv, tmp_path / "small.csv", list(range(0, 9572, 800)))
    engine = Engine.open(tmp_path / "store")
    engine.ingest(catalog, FASHION_MAPPING, progress=False)
    settings = ServiceSettings(api_keys=["s3cret"], media_roots=[fashion_csv.parent / "images"])
    return TestClient(create_app(engine, settings)), engine


def test_health_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "products": 120, "model": False}
    client.get("/search", params={"q": "shoes"})
    routes = client.get("/metrics").json()["routes"]
    assert routes["/search"]["requests"] >= 1 and routes["/search"]["mean_ms"] > 0
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/search/image", "/products/{product_id}", "/products/{product_id}/similar"} <= set(
        paths
    )
    assert client.get("/docs").status_code == 200


def test_text_search_pages_facets_sort_and_modes(client: TestClient) -> None:
    body = client.get("/search", params={"q": "black shoes", "k": 5, "facets": "gender,articleType"}).json()
    assert len(body["hits"]) == 5 and body["total"] == 50
    assert sum(body["facets"]["gender"].values()) == 50
    assert all("why" in h and h["why"] for h in body["hits"])
    second = client.get("/search", params={"q": "black shoes", "k": 5, "offset": 5}).json()
    assert not {h["id"] for h in second["hits"]} & {h["id"] for h in body["hits"]}
    ordered = client.get("/search", params={"q": "shirt", "k": 20, "sort": "season", "order": "desc"}).json()
    seasons = [h["attributes"].get("season") for h in ordered["hits"] if h["attributes"].get("season")]
    assert seasons == sorted(seasons, reverse=True)
    filtered = client.get("/search", params={"q": "shoes", "where": "gender = 'Women'"}).json()
    assert filtered["hits"] and all(h["attributes"]["gender"] == "Women" for h in filtered["hits"])
    for mode in ("lexical", "hybrid"):
        hits = client.get("/search", params={"q": "shirt", "mode": mode}).json()["hits"]
        assert hits and "lexical" in hits[0]["why"], mode
    assert client.get("/search", params={"q": "x", "mode": "magic"}).status_code == 422
    assert client.get("/search", params={"q": ""}).status_code == 422
    assert client.get("/search", params={"q": "x", "k": 1000}).status_code == 400
    bad_filter = client.get("/search", params={"q": "x", "where": "no_such_column = 1"})
    assert bad_filter.status_code == 400 and bad_filter.json()["detail"]


def test_image_upload_finds_the_product_and_limits_hold(client: TestClient, fashion_engine: Engine) -> None:
    row = fashion_engine.store.get([sorted(fashion_engine.store.hashes())[3]])[0]
    photo = Path(row["image"]).read_bytes()
    found = client.post("/search/image", files={"file": ("p.jpg", photo, "image/jpeg")}, data={"k": "3"})
    assert found.status_code == 200 and found.json()["hits"][0]["id"] == row["id"]
    text = client.post("/search/image", files={"file": ("a.txt", b"hello", "text/plain")})
    assert text.status_code == 415
    big = client.post("/search/image", files={"file": ("b.jpg", b"\xff" * 300_000, "image/jpeg")})
    assert big.status_code == 413
    corrupt = client.post("/search/image", files={"file": ("c.jpg", b"\xff\xd8not a jpeg", "image/jpeg")})
    assert corrupt.status_code == 400 and "image" in corrupt.json()["detail"]
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, format="PNG")  # 81 Mpixel in a few kB
    refused = client.post("/search/image", files={"file": ("bomb.png", bomb.getvalue(), "image/png")})
    assert refused.status_code == 400 and "pixels" in refused.json()["detail"]


def test_product_detail_and_similar(client: TestClient, fashion_engine: Engine) -> None:
    product_id = sorted(fashion_engine.store.hashes())[5]
    detail = client.get(f"/products/{product_id}").json()
    assert detail["id"] == product_id and detail["title"]
    similar = client.get(f"/products/{product_id}/similar", params={"k": 4}).json()["hits"]
    assert len(similar) == 4 and product_id not in {h["id"] for h in similar}
    assert client.get("/products/nope").status_code == 404
    assert client.get("/products/nope/similar").status_code == 404


def test_writes_need_a_key_and_stay_inside_media_roots(
    writable: tuple[TestClient, Engine], fashion_csv: Path
) -> None:
    client, engine = writable
    image = str(fashion_csv.parent / "images" / "10001.jpg")
    product = {"id": "new-1", "title": "Palm Tree Kids Girls Blue Skirt", "image": image, "colour": "Blue"}
    assert client.post("/products", json=[product]).status_code == 401
    assert client.post("/products", json=[product], headers={"X-API-Key": "wrong"}).status_code == 401
    ok = client.post("/products", json=[product], headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200 and ok.json()["added"] == 1
    assert engine.store.count() == 13  # upsert: nothing else was removed
    assert client.get("/products/new-1").json()["attributes"]["colour"] == "Blue"
    found = client.get("/search", params={"q": "new-1", "mode": "hybrid"}).json()["hits"]
    assert found[0]["id"] == "new-1"  # an exact code ranks first
    for outside in ("/etc/passwd", str(fashion_csv.parent / "images" / ".." / "metadata.csv")):
        bad = client.post("/products", json=[{"id": "x", "image": outside}], headers={"X-API-Key": "s3cret"})
        assert bad.status_code == 400 and "'image'" in bad.json()["detail"], outside
    assert engine.store.count() == 13
    assert client.delete("/products/new-1").status_code == 401
    assert client.delete("/products/new-1", headers={"X-API-Key": "s3cret"}).json() == {"deleted": 1}
    assert client.get("/products/new-1").status_code == 404
    read_only = TestClient(create_app(engine))
    assert read_only.post("/products", json=[product], headers={"X-API-Key": "s3cret"}).status_code == 403


def test_shopfuse_serve_answers_over_a_real_socket(writable: tuple[TestClient, Engine]) -> None:
    """``shopfuse serve`` starts uvicorn on a port and answers until stopped."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    _, engine = writable
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "shopfuse", "serve", "--store", str(engine.path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, health = time.time() + 120, None
        while time.time() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert health == {"status": "ok", "products": 12, "model": False}, server.poll()
        hits = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": "shoes", "k": 3}).json()["hits"]
        assert len(hits) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
