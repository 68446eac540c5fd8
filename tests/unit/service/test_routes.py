"""The routers: shared state through overridable dependencies, product catch-alls matched last."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopfuse.service import ServiceSettings, create_app
from shopfuse.service.deps import get_engine, get_recommender, get_settings


@pytest.fixture()
def app() -> FastAPI:
    """An app over a stand-in engine with an empty store (no encoders, no model)."""
    engine = MagicMock()
    engine.store.get.return_value = []
    engine.store.count.return_value = 0
    engine.model = None
    return create_app(engine, ServiceSettings(max_k=5))


def test_routes_read_the_engine_and_settings_through_dependencies(app: FastAPI) -> None:
    client = TestClient(app)
    stand_in = SimpleNamespace(store=SimpleNamespace(count=lambda: 7), model=object())
    app.dependency_overrides[get_engine] = lambda: stand_in
    assert client.get("/health").json() == {"status": "ok", "products": 7, "model": True}
    assert client.post("/products", json=[{"id": "a"}]).status_code == 403  # no keys: writes disabled
    app.dependency_overrides[get_settings] = lambda: ServiceSettings(api_keys=["k"])
    assert client.post("/products", json=[{"id": "a"}]).status_code == 401  # keys now, but none given


def test_longer_product_routes_win_over_the_product_catch_all(app: FastAPI) -> None:
    client = TestClient(app)
    calls: list[tuple[str, Any]] = []

    class Picks:
        def complements(self, product_id: str, k: int) -> list[dict[str, Any]]:
            calls.append((product_id, k))
            return [{"id": "b/1", "image": "/srv/photos/b.jpg"}]

    app.dependency_overrides[get_recommender] = lambda: Picks  # called per request, like the real one
    picked = client.get("/products/x/y/complements", params={"k": 2}).json()
    assert picked == {"items": [{"id": "b/1", "image": "/products/b%2F1/images/0"}]}  # a URL, not the path
    assert calls == [("x/y", 2)]
    assert client.get("/products/x/y/complements", params={"k": 6}).status_code == 400  # max_k
    missing = client.get("/products/x/y/other")
    assert missing.status_code == 404 and missing.json() == {"detail": "no product 'x/y/other'"}
    assert client.delete("/products/x/similar").status_code == 403  # the catch-all delete, keyed
