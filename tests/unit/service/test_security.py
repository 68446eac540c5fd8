"""Body limits and browser-hardening headers, on a bare ASGI app (no engine needed)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from shopfuse.service.security import CONTENT_SECURITY_POLICY, BodyLimit, SecurityHeaders


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/docs-like")
    def page() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(BodyLimit, max_bytes=1000)
    app.add_middleware(SecurityHeaders)
    return app


def test_bodies_over_the_limit_are_refused_declared_or_chunked() -> None:
    client = TestClient(_app())
    assert client.post("/echo", content=b"x" * 1000).json() == {"bytes": 1000}
    assert client.post("/echo", content=b"x" * 1001).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware counts as it reads
        for _ in range(20):
            yield b"y" * 100

    answer = client.post("/echo", content=chunks())
    assert answer.status_code == 413 and "1000 bytes" in answer.json()["detail"]
    assert client.post("/echo", content=b"x", headers={"content-length": "nope"}).status_code == 400


def test_every_answer_carries_the_hardening_headers() -> None:
    client = TestClient(_app())
    for answer in (client.get("/docs-like"), client.post("/echo", content=b"x" * 5000), client.get("/nope")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
    assert (
        "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        and "default-src 'self'" in CONTENT_SECURITY_POLICY
    )
