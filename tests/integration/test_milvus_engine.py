"""The engine on a Milvus Lite store: a real subset of the fashion catalogue, ingested and searched."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.errors import StoreError
from shopfuse.store.locate import read_engine_config, work_folder
from shopfuse.store.milvus import MilvusStore
from tests.conftest import write_subset
from tests.helpers import milvus_server as real_milvus_server
from tests.helpers.processes import free_port, listening

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


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[str]:
    """A Milvus Lite gRPC server process on a free local port (``host:port``), what ``milvus://`` reaches.

    The same server the ``milvus-lite`` package runs as ``milvus-lite server``; pymilvus talks to
    it over gRPC exactly as to a Milvus server.
    """
    port = free_port()
    data = tmp_path / "milvus-server"
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1"]
    with listening([*command, "--port", str(port)], port):
        yield f"127.0.0.1:{port}"


def test_a_milvus_server_store_by_uri(milvus_server: str, fashion_csv: Path, tmp_path: Path) -> None:
    """``milvus://host:port/collection``: the store, its config and its hashes live on the server."""
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(20)))
    uri = f"milvus://{milvus_server}/products"
    report = Engine.open(uri).ingest(catalog, FASHION_MAPPING, progress=False)
    assert report.added == 20 and report.report_path is not None
    assert Path(report.report_path).parent.parent == work_folder(uri)  # reports stay local, per collection

    assert read_engine_config(uri) is not None  # the config travels with the collection
    reopened = Engine.open(uri, create=False)  # found by the URI alone
    info = reopened.info()
    assert info["backend"] == "milvus" and info["store"] == uri and info["products"] == 20
    assert reopened.ingest(catalog, FASHION_MAPPING, progress=False).unchanged == 20

    first = reopened.store.get(reopened.store.vectors("text")[0][:1])[0]
    assert reopened.search_text(first["title"], k=5)[0].id == first["id"]
    gender = first["attributes"]["gender"]
    filtered = reopened.search_text(first["title"], k=5, where=f"gender = '{gender}'")
    assert filtered and all(h.attributes["gender"] == gender for h in filtered)

    other = Engine.open(f"milvus://{milvus_server}/other_shop")  # another collection, another store
    assert other.store.count() == 0 and reopened.store.count() == 20
    with pytest.raises(StoreError, match="no shopfuse store"):
        Engine.open(f"milvus://{milvus_server}/missing", create=False)

    result = CliRunner().invoke(app, ["search", "--store", uri, first["title"], "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == first["id"]


def test_a_malformed_milvus_uri_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="malformed Milvus URI"):
        Engine.open("milvus://localhost:19530")


def test_a_milvus_store_without_video_columns_stores_video_products_with_a_warning(
    media_set: Any, tmp_path: Path
) -> None:
    engine = Engine.open(tmp_path / "store", EngineConfig(store_backend="milvus"))
    report = engine.ingest(media_set.catalog, progress=False)
    warned = {p.field for p in report.problems if p.reason.startswith("not encoded")}
    assert warned == {"video", "speech", "audio"}
    assert "video" not in engine.store.manifest.columns
    assert engine.store.get(["clip-narrated"])  # kept for its title


@pytest.fixture(scope="session")
def real_milvus() -> Iterator[str]:
    """``host:port`` of the session's real Milvus 2.3 server (``milvus-server``)."""
    address = real_milvus_server.acquire()
    yield address
    real_milvus_server.release()


def test_ingest_search_filter_reingest_delete_on_a_real_milvus_server(
    real_milvus: str, fashion_csv: Path, tmp_path: Path
) -> None:
    """A real Milvus 2.3 server (one vector field per collection): the split layout end to end."""
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(24)))
    uri = f"milvus://{real_milvus}/e2e_{tmp_path.name[-8:].replace('-', '_')}"
    engine = Engine.open(uri, EngineConfig(milvus_filterable=["gender", "articleType"]))
    report = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert report.added == 24 and engine.store.count() == 24
    store = engine.store
    assert isinstance(store, MilvusStore) and store.layout == "split"
    assert store.filterable == ("gender", "articleType")  # real VARCHAR fields: filters skip the JSON
    assert store.check().ok

    reopened = Engine.open(uri, create=False)
    assert reopened.ingest(catalog, FASHION_MAPPING, progress=False).unchanged == 24
    first = reopened.store.get(reopened.store.vectors("text")[0][:1])[0]
    assert reopened.search_text(first["title"], k=5)[0].id == first["id"]
    gender = first["attributes"]["gender"]
    filtered = reopened.search_text(first["title"], k=5, where=f"gender = '{gender}'")
    assert filtered and all(h.attributes["gender"] == gender for h in filtered)

    smaller = write_subset(fashion_csv, tmp_path / "c2.csv", list(range(20)))  # 4 products left the file
    again = reopened.ingest(smaller, FASHION_MAPPING, progress=False)
    assert (again.unchanged, again.deleted) == (20, 4) and reopened.store.count() == 20
    assert reopened.store.modality_counts()["text"] == 20  # the vector collections followed

    assert reopened.store.delete([first["id"]]) == 1 and reopened.store.count() == 19
    assert first["id"] not in {h.id for h in reopened.search_text(first["title"], k=10)}
    assert reopened.store.check().ok
    real_milvus_server.drop_collections(real_milvus, uri.rsplit("/", 1)[1])


def test_an_unreachable_milvus_server_is_a_store_error_naming_the_uri() -> None:
    uri = f"milvus://127.0.0.1:{free_port()}/products"
    with pytest.raises(StoreError, match=f"cannot connect to the Milvus server at {uri}"):
        MilvusStore(uri)


def test_filterable_attributes_are_for_new_milvus_stores_only(fashion_csv: Path, tmp_path: Path) -> None:
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(3)))
    command = ["ingest", str(catalog), "--store", str(tmp_path / "s"), "--filterable", "gender"]
    lance = CliRunner().invoke(app, command)
    assert lance.exit_code != 0 and "applies to Milvus stores" in lance.output
    assert not (tmp_path / "s").exists()
