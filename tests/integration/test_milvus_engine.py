"""The engine on a Milvus Lite store: a real subset of the fashion catalogue, ingested and searched."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.errors import StoreError
from tests.conftest import write_subset

pytest.importorskip("milvus_lite")


def test_ingest_and_search_a_milvus_lite_store(fashion_csv: Path, tmp_path: Path) -> None:
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(40)))
    engine = Engine.open(tmp_path / "store", EngineConfig(store_backend="milvus"))
    report = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert report.added == 40 and engine.store.count() == 40
    assert (tmp_path / "store" / "milvus.db").exists()

    reopened = Engine.open(tmp_path / "store")  # the backend is found from the folder
    info = reopened.info()
    assert info["backend"] == "milvus" and info["products"] == 40
    assert info["config"]["store_backend"] == "milvus"
    again = reopened.ingest(catalog, FASHION_MAPPING, progress=False)
    assert again.unchanged == 40

    first = reopened.store.get(reopened.store.vectors("text")[0][:1])[0]
    hits = reopened.search_text(first["title"], k=5)
    assert hits[0].id == first["id"]
    gender = first["attributes"]["gender"]
    filtered = reopened.search_text(first["title"], k=5, where=f"gender = '{gender}'")
    assert filtered and all(h.attributes["gender"] == gender for h in filtered)
    with pytest.raises(StoreError, match="invalid filter"):
        reopened.search_text("shirt", where="lower(gender) = 'men'")


def test_a_malformed_milvus_uri_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="malformed Milvus URI"):
        Engine.open("milvus://localhost:19530")
