"""The HTTP API over real fashion products: every route, limits, keys and bad input."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import write_subset
from tests.helpers.processes import free_port, listening


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
    routes = client.get("/stats").json()["routes"]
    assert routes["/search"]["requests"] >= 1 and routes["/search"]["mean_ms"] > 0
    exposition = client.get("/metrics")
    assert exposition.headers["content-type"].startswith("text/plain")
    assert 'shopfuse_requests_total{method="GET",route="/search",status="200"}' in exposition.text
    assert 'shopfuse_request_seconds_bucket{le="0.005",method="GET",route="/search"}' in exposition.text
    assert "shopfuse_products 120.0" in exposition.text
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
    assert all(h["image"] == f"/products/{h['id']}/images/0" for h in body["hits"])
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
    # media as the URLs the service serves them at, not as paths on the server (issue 16)
    photo = f"/products/{product_id}/images/0"
    assert detail["image"] == photo and detail.get("images") in ([], None, [photo]) and "audio" not in detail
    assert client.get(photo).content == Path(fashion_engine.store.get([product_id])[0]["image"]).read_bytes()
    similar = client.get(f"/products/{product_id}/similar", params={"k": 4}).json()["hits"]
    assert len(similar) == 4 and product_id not in {h["id"] for h in similar}
    assert all(h["image"] == f"/products/{h['id']}/images/0" for h in similar)
    assert Path(fashion_engine.search_text(detail["title"], k=1)[0].image or "").is_file()  # Python: paths
    assert client.get("/products/nope").status_code == 404
    assert client.get("/products/nope/similar").status_code == 404


def test_writes_need_a_key_and_stay_inside_media_roots(
    writable: tuple[TestClient, Engine], fashion_csv: Path
) -> None:
    client, engine = writable
    image = str(fashion_csv.parent / "images" / "10001.jpg")
    product = {
        "id": "new-1",
        "title": "Palm Tree Kids Girls Blue Skirt",
        "image": image,
        "baseColour": "Blue",
    }
    assert client.post("/products", json=[product]).status_code == 401
    assert client.post("/products", json=[product], headers={"X-API-Key": "wrong"}).status_code == 401
    ok = client.post("/products", json=[product], headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200 and ok.json()["added"] == 1
    assert engine.store.count() == 13  # upsert: nothing else was removed
    assert client.get("/products/new-1").json()["attributes"]["baseColour"] == "Blue"
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


def test_posted_products_cannot_escape_grow_or_hide(
    writable: tuple[TestClient, Engine], fashion_csv: Path, tmp_path: Path
) -> None:
    """Issue 13: relative paths, NUL bytes, schema growth, odd attribute names, ids with '/'."""
    client, engine = writable
    key = {"X-API-Key": "s3cret"}
    count, attributes = engine.store.count(), dict(engine.store.manifest.attributes)
    secret = tmp_path / "x" / "secret.jpg"  # outside the media root, reachable by '..'
    secret.parent.mkdir()
    Image.new("RGB", (32, 32), "red").save(secret)
    media_root = (fashion_csv.parent / "images").resolve()
    relative = "../" * len(media_root.parts) + str(secret).lstrip("/")
    refused = [
        ({"id": "r", "title": "t", "image": relative}, "outside the allowed media folders"),
        ({"id": "n", "title": "t", "image": "10001\u0000.jpg"}, "NUL byte"),
        ({"id": "a", "title": "t", **{f"extra{i}": i for i in range(500)}}, "unknown attribute 'extra0'"),
        ({"id": "d", "title": "t", "a.b": "x"}, "contains '.'"),
        ({"id": "h", "title": "t", "_hash": "x"}, "starts with '_'"),
    ]
    for body, reason in refused:
        answer = client.post("/products", json=[body], headers=key)
        assert answer.status_code == 400 and reason in answer.json()["detail"], (body["id"], answer.text)
    assert (engine.store.count(), dict(engine.store.manifest.attributes)) == (count, attributes)
    # a relative path inside the media root is read from there: one rule for checking and reading
    inside = client.post("/products", json=[{"id": "rel", "title": "t", "image": "10001.jpg"}], headers=key)
    assert inside.status_code == 200 and inside.json()["added"] == 1
    assert engine.store.get(["rel"])[0]["image"] == str(media_root / "10001.jpg")
    assert client.get("/products/rel").json()["image"] == "/products/rel/images/0"
    # ids holding '/' are readable and deletable, and their photo URLs hold the id URL-encoded
    posted = {"id": "AB/12", "title": "Slash skirt", "image": "10001.jpg"}
    slash = client.post("/products", json=[posted], headers=key)
    assert slash.status_code == 200 and slash.json()["added"] == 1
    assert client.get("/products/AB/12").json()["title"] == "Slash skirt"
    photo = client.get("/products/AB/12").json()["image"]
    assert photo == "/products/AB%2F12/images/0" and client.get(photo).status_code == 200
    assert client.get("/products/AB%2F12").json()["title"] == "Slash skirt"
    assert client.delete("/products/AB/12", headers=key).json() == {"deleted": 1}
    # a 1 MB title is cut to the 1 KB limit and reported, quickly
    long = client.post("/products", json=[{"id": "long", "title": "dress " * 170_000}], headers=key)
    assert long.status_code == 200, long.text
    assert len(client.get("/products/long").json()["title"].encode()) <= 1024
    assert [p["field"] for p in long.json()["problems"]] == ["title"]
    assert "request" in long.json()["problems"][0]["source"]  # no server temp path in the answer
    # new attributes only where the service allows them, and never past the store's cap
    open_app = TestClient(create_app(engine, ServiceSettings(api_keys=["k"], allow_new_attributes=True)))
    posted = [{"id": "g", "title": "t", "fabric": "silk"}]
    grown = open_app.post("/products", json=posted, headers={"X-API-Key": "k"})
    assert grown.status_code == 200 and engine.store.manifest.attributes["fabric"] == "string"


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
        hits = httpx.get(
            f"http://127.0.0.1:{port}/search", params={"q": "shoes", "k": 3}, timeout=120
        ).json()["hits"]
        assert len(hits) == 3
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=60)
        assert page.status_code == 200 and 'data-testid="search-input"' in page.text
        photo = httpx.get(f"http://127.0.0.1:{port}/products/{hits[0]['id']}/images/0", timeout=60)
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"  # default roots
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_with_two_workers_answers_from_each(writable: tuple[TestClient, Engine]) -> None:
    """``shopfuse serve --workers 2``: two worker processes, each opening the store and answering.

    While one worker is paused (SIGSTOP) every search is answered by the other; pauses stay under
    uvicorn's 5 s health check, so the supervisor never replaces a paused worker.
    """
    import os
    import signal
    import sys

    import httpx

    _, engine = writable
    port = free_port()
    command = [sys.executable, "-m", "shopfuse", "serve", "--store", str(engine.path), "--port", str(port)]
    with listening([*command, "--workers", "2"], port) as server:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/health", timeout=120).json()["products"] == 12
        expected = [
            h["id"] for h in httpx.get(f"{url}/search", params={"q": "shoes"}, timeout=120).json()["hits"]
        ]
        workers = _worker_pids(server.pid)
        assert len(workers) == 2, workers
        for worker in workers:
            other = next(w for w in workers if w != worker)
            answered, deadline = None, time.time() + 120
            while answered is None and time.time() < deadline:
                os.kill(other, signal.SIGSTOP)
                try:  # a cold worker loads its encoders first: retry until it answers within the pause
                    answered = httpx.get(f"{url}/search", params={"q": "shoes"}, timeout=2.5).json()
                except httpx.TimeoutException:
                    pass
                finally:
                    os.kill(other, signal.SIGCONT)
                time.sleep(0.5)
            assert answered is not None, f"worker {worker} never answered alone"
            assert [h["id"] for h in answered["hits"]] == expected
        assert sorted(_worker_pids(server.pid)) == sorted(workers)  # neither was replaced


def _worker_pids(parent: int, timeout: float = 60.0) -> list[int]:
    """The uvicorn worker processes under ``parent`` (spawned children, not the resource tracker)."""
    deadline = time.time() + timeout
    while True:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        workers = [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        if len(workers) >= 2 or time.time() > deadline:
            return workers
        time.sleep(0.5)


def test_web_ui_static_files_and_info(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-testid="search-input"' in page.text and "/static/app.js" in page.text
    assert "http://" not in page.text.replace('href="/docs"', "")  # no CDN, nothing external
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "fetch(" in script.text
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    info = client.get("/info").json()
    assert info["products"] == 120 and info["image_search"] is True
    assert info["attributes"]["gender"] == "string" and info["modalities"]["image"] == 120


def test_product_photos_served_with_caching_and_thumbnails(
    client: TestClient, fashion_engine: Engine
) -> None:
    row = fashion_engine.store.get([sorted(fashion_engine.store.hashes())[7]])[0]
    url = f"/products/{row['id']}/images/0"
    full = client.get(url)
    assert full.status_code == 200 and full.content == Path(row["image"]).read_bytes()
    assert "max-age" in full.headers["cache-control"] and full.headers["etag"]
    again = client.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304 and not again.content
    thumb = client.get(url, params={"size": 64})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 64
    assert thumb.headers["etag"] != full.headers["etag"]
    cached = client.get(url, params={"size": 64}, headers={"If-None-Match": thumb.headers["etag"]})
    assert cached.status_code == 304
    for size in (0, 5, 5000):
        assert client.get(url, params={"size": size}).status_code == 422
    assert client.get(f"/products/{row['id']}/images/1").status_code == 404  # it has one photo
    assert client.get(f"/products/{row['id']}/images/-1").status_code == 422
    assert client.get("/products/nope/images/0").status_code == 404
    no_roots = TestClient(create_app(fashion_engine, ServiceSettings(image_roots=[])))
    assert no_roots.get(url).status_code == 404


def test_photos_outside_the_image_roots_are_refused(
    writable: tuple[TestClient, Engine], fashion_csv: Path, tmp_path: Path
) -> None:
    _, engine = writable
    photos, secret = tmp_path / "photos", tmp_path / "secret"
    photos.mkdir()
    secret.mkdir()
    source = fashion_csv.parent / "images" / "10001.jpg"
    (photos / "a.jpg").write_bytes(source.read_bytes())
    (secret / "x.jpg").write_bytes(source.read_bytes())
    (photos / "link.jpg").symlink_to(secret / "x.jpg")
    catalog = tmp_path / "more.jsonl"
    rows = [
        {"id": "inside", "title": "Blue Skirt", "image": str(photos / "a.jpg")},
        {"id": "link", "title": "Blue Skirt", "image": str(photos / "link.jpg")},
        {"id": "dotdot", "title": "Blue Skirt", "image": str(photos / ".." / "secret" / "x.jpg")},
    ]
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert engine.ingest(catalog, progress=False).added == 3
    client = TestClient(create_app(engine, ServiceSettings(image_roots=[str(photos)])))
    assert client.get("/products/inside/images/0").status_code == 200
    for refused in ("link", "dotdot"):  # a link out of the root, and .. out of it
        response = client.get(f"/products/{refused}/images/0")
        assert response.status_code == 404 and "not served" in response.json()["detail"], refused
    by_default = TestClient(create_app(engine, ServiceSettings()))  # roots: the stored photos' folders
    assert by_default.get("/products/dotdot/images/0").status_code == 200
    assert by_default.get("/products/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/images/0").status_code == 404


def test_search_by_words_and_photo_together(client: TestClient, fashion_engine: Engine) -> None:
    row = fashion_engine.store.get([sorted(fashion_engine.store.hashes())[3]])[0]
    photo = Path(row["image"]).read_bytes()

    def post(**data: str) -> Any:
        return client.post("/search/image", files={"file": ("p.jpg", photo, "image/jpeg")}, data=data)

    both = post(q=row["title"], k="5", facets="gender")
    body = both.json()
    assert both.status_code == 200 and body["hits"][0]["id"] == row["id"]
    why = body["hits"][0]["why"]
    assert {"text_query", "image_query", "text", "image"} <= set(why)
    assert body["hits"][0]["score"] == pytest.approx(why["text_query"] + why["image_query"])
    assert sum(body["facets"]["gender"].values()) == body["total"] == 50
    photo_only = post(q=row["title"], image_weight="1.0").json()["hits"]
    assert photo_only[0]["why"]["text_query"] == 0.0
    second = post(q="shoes", k="5", offset="5").json()
    assert len(second["hits"]) == 5 and second["offset"] == 5
    gender = row["attributes"]["gender"]
    filtered = post(q="shirt", where=f"gender = '{gender}'", mode="hybrid").json()["hits"]
    assert filtered and all(h["attributes"]["gender"] == gender for h in filtered)
    assert post(q="x", image_weight="1.5").status_code == 422
    assert post(q="x", mode="magic").status_code == 422


def test_metrics_stay_bounded_and_pages_and_hosts_are_limited(fashion_engine: Engine) -> None:
    """Issue 13: /metrics grew by one entry per unknown path; offset was uncapped; any Host served."""
    client = TestClient(create_app(fashion_engine, ServiceSettings(allowed_hosts=["testserver"])))
    client.get("/metrics")  # its own label set exists from here on
    for n in range(300):
        assert client.get(f"/no/such/path/{n}").status_code == 404
        if n == 9:
            after_ten = len(client.get("/metrics").text)
    exposition = client.get("/metrics").text
    assert len(exposition) - after_ten < 100  # the same label sets, larger counts only
    assert 'route="unmatched",status="404"} 300.0' in exposition
    assert client.get("/search", params={"q": "x", "offset": 10**9}).status_code == 400
    assert client.get("/search", params={"q": "x", "offset": 1000}).status_code == 200
    assert client.get("/health", headers={"host": "evil.example"}).status_code == 400
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_hostile_uploads_are_refused_cheaply(client: TestClient) -> None:
    """Issue 13: a 177-byte 100000x1 PNG made the server allocate a 100000^2 canvas."""
    line = io.BytesIO()
    Image.new("1", (100_000, 1)).save(line, format="PNG")
    answer = client.post("/search/image", files={"file": ("l.png", line.getvalue(), "image/png")})
    assert answer.status_code == 400 and "side longer than" in answer.json()["detail"]
    assert "/tmp" not in answer.json()["detail"]  # the reason, never the server's temporary path


def test_hostile_filters_are_a_quick_400_in_the_clients_own_words(
    client: TestClient, fashion_engine: Engine
) -> None:
    """Issue 13: ``length(repeat('a', 1000000000)) > 0`` took 12-25 s and 3.8 GB; errors showed our SQL."""
    row = fashion_engine.store.get([sorted(fashion_engine.store.hashes())[0]])[0]
    photo = Path(row["image"]).read_bytes()
    for where in ("length(repeat('a', 1000000000)) > 0", "gender = 'x') OR (1=1", "_vec_text IS NULL"):
        for mode in ("vector", "hybrid"):
            start = time.perf_counter()
            answers = [
                client.get("/search", params={"q": "shoes", "where": where, "mode": mode}),
                client.post(
                    "/search/image",
                    files={"file": ("p.jpg", photo, "image/jpeg")},
                    data={"where": where, "mode": mode, "q": "shoes"},
                ),
            ]
            assert time.perf_counter() - start < 5
            for answer in answers:
                detail = answer.json()["detail"]
                assert answer.status_code == 400 and detail.startswith("invalid filter"), (where, answer.text)
                assert not any(word in detail for word in ("_vec_", "_has_", "_hash", "`", "AND ("))


def test_a_relative_path_is_checked_where_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13, the tester's exploit: ``../../tmp/x/secret.jpg`` was checked against the server's
    working folder (inside a media root) but read relative to a temporary catalogue folder two
    levels below ``/``, so a file outside every media root was stored and then served."""
    import shutil
    import tempfile

    root = tmp_path / "media"
    (root / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(root / "a" / "b")  # the old check: cwd/../../tmp/... lies inside the root
    outside = Path(tempfile.mkdtemp(prefix="shopfuse-secret-", dir="/tmp"))
    try:
        Image.new("RGB", (32, 32), "red").save(outside / "secret.jpg")
        engine = Engine.open(tmp_path / "store")
        client = TestClient(create_app(engine, ServiceSettings(api_keys=["k"], media_roots=[root])))
        posted = [{"id": "s", "title": "t", "image": f"../../tmp/{outside.name}/secret.jpg"}]
        answer = client.post("/products", json=posted, headers={"X-API-Key": "k"})
        assert answer.status_code == 400 and "outside the allowed media folders" in answer.text
        assert engine.store.count() == 0
    finally:
        shutil.rmtree(outside)
