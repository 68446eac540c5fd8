"""Milvus store specifics: URI parsing, the filter whitelist, documents kept with the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import StoreError
from shopfuse.store.filters import parse_filter
from shopfuse.store.locate import backend_of, work_folder
from shopfuse.store.milvus import MilvusStore, check_consistency, is_milvus_uri, parse_location
from shopfuse.store.milvus_filter import to_milvus

TEXT = EncoderInfo("t", "1", 4, "space-t")


def test_uri_parsing() -> None:
    parsed = parse_location("milvus://db.example:19531/shop_products")
    assert (parsed.uri, parsed.collection, parsed.folder, parsed.meta) == (
        "http://db.example:19531",
        "shop_products",
        None,
        "shop_products_meta",
    )
    assert parse_location("milvus://localhost/products").uri == "http://localhost:19530"
    assert parse_location("milvus://user:p%40ss@h:1/c").token == "user:p@ss"
    local = parse_location("some/folder")
    assert local.folder == Path("some/folder") and local.uri.endswith("milvus.db")
    assert is_milvus_uri("MILVUS://h:1/c") and not is_milvus_uri(Path("milvus:/h:1/c"))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("milvus://", "no host"),
        ("milvus://host:19530", "no collection"),
        ("milvus://host:19530/", "no collection"),
        ("milvus://host:port/c", "malformed Milvus URI"),
        ("milvus://host:99999/c", "malformed Milvus URI"),
        ("milvus://host:19530/a/b", "must be letters"),
        ("milvus://host:19530/bad-name", "must be letters"),
        ("milvus://host:19530/x_meta", "must be letters"),
        ("milvus://host:19530/c?db=x", "unknown option 'db'"),
        ("milvus://host:19530/c#frag", "unexpected '#'"),
        ("milvus://host:19530/c?consistency=quick", "expected one of strong, session, bounded, eventually"),
        ("milvus://host:19530/c?consistency", "unknown Milvus consistency level ''"),
    ],
)
def test_malformed_uris_are_clear_errors(uri: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        parse_location(uri)


def test_consistency_in_the_uri_is_validated_and_kept() -> None:
    assert parse_location("milvus://h:1/c").consistency is None
    assert parse_location("milvus://h:1/c?consistency=Bounded").consistency == "Bounded"
    assert parse_location("milvus://h:1/c?consistency=strong").consistency == "Strong"
    assert check_consistency("SESSION") == "Session"
    with pytest.raises(StoreError, match="search: unknown Milvus consistency level 'later'"):
        check_consistency("later", "search")


def test_work_folder_and_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFUSE_CACHE", str(tmp_path))
    assert work_folder("milvus://h:1/c") == tmp_path / "milvus" / "h-1-c"
    assert backend_of("milvus://h:1/c") == "milvus"
    assert backend_of(tmp_path / "new") == "lance"
    assert backend_of(tmp_path / "new", "milvus") == "milvus"


def translate_filter(where: str) -> str:
    tree = parse_filter(where, ["id", "gender", "size", "colour group"])
    return to_milvus(tree, lambda name: "id" if name == "id" else f'doc["{name}"]')


def test_translation_keeps_three_valued_logic() -> None:
    assert translate_filter("size > 3") == '(doc["size"] > 3)'
    assert translate_filter("NOT size > 3") == '(doc["size"] is not null and not (doc["size"] > 3))'
    assert translate_filter("`colour group` = 'o''\"k'") == '(doc["colour group"] == "o\'\\"k")'
    assert translate_filter("1 <= size") == '(doc["size"] >= 1)'
    assert translate_filter("NOT (size = 1 OR gender = 'x')") == (
        '((doc["size"] is not null and not (doc["size"] == 1)) and '
        '(doc["gender"] is not null and not (doc["gender"] == "x")))'
    )
    assert translate_filter("size IS NOT NULL AND id IN ('a', 'b')") == (
        '((doc["size"] is not null) and (id == "a" or id == "b"))'
    )
    assert translate_filter("size BETWEEN -1.5 AND 2e3") == '(doc["size"] >= -1.5 and doc["size"] <= 2000.0)'


@pytest.mark.parametrize(
    "where",
    [
        "lower(gender) = 'women'",
        "gender = size",
        "1 = 1",
        "gender IN (SELECT 1)",
        "t.gender = 'x'",
        "gender = 'a' UNION SELECT 1",
        "size + 1 > 2",
        "gender IS TRUE",
        "nope = 1",
        "gender LIKE size",
    ],
)
def test_filters_outside_the_whitelist_are_refused(where: str) -> None:
    with pytest.raises(StoreError, match="invalid filter"):
        translate_filter(where)


def test_documents_and_reopen(tmp_path: Path) -> None:
    store = MilvusStore.create(tmp_path / "s", {"text": TEXT})
    store.write_document("engine", '{"a": 1}')
    before = store.version
    store.ensure_attributes({"colour": "string"})
    reopened = MilvusStore(tmp_path / "s")
    assert reopened.read_document("engine") == '{"a": 1}'
    assert reopened.read_document("missing") is None
    assert reopened.manifest.attributes == {"colour": "string"}
    assert reopened.delete(["nothing"]) == 0 and reopened.version == before
    with pytest.raises(StoreError, match="already exists"):
        MilvusStore.create(tmp_path / "s", {"text": TEXT})
    with pytest.raises(StoreError, match="no shopfuse store"):
        MilvusStore(tmp_path / "elsewhere")
    assert store.search("text", np.ones(4, np.float32), encoder=TEXT, k=0) == []


def test_search_consistency_default_override_and_validation(tmp_path: Path) -> None:
    store = MilvusStore.create(tmp_path / "s", {"text": TEXT})
    assert store.consistency == "Session"  # read-your-writes within this process, no Strong wait
    assert MilvusStore(tmp_path / "s", consistency="bounded").consistency == "Bounded"
    with pytest.raises(StoreError, match="expected one of strong, session, bounded, eventually"):
        MilvusStore(tmp_path / "s", consistency="sometimes")
    seen: list[str] = []
    client = store._client

    class Spy:
        def __getattr__(self, name: str) -> object:
            method = getattr(client, name)
            if name != "search":
                return method

            def search(*args: object, **kwargs: object) -> object:
                seen.append(str(kwargs["consistency_level"]))
                return method(*args, **kwargs)

            return search

    store._client = Spy()
    query = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    store.search("text", query, encoder=TEXT, k=1)
    store.search("text", query, encoder=TEXT, k=1, consistency="STRONG")
    assert seen == ["Session", "Strong"]
    with pytest.raises(StoreError, match="search: unknown Milvus consistency level 'now'"):
        store.search("text", query, encoder=TEXT, k=1, consistency="now")


def test_filtered_ann_search_is_widened_by_the_filter_share(tmp_path: Path) -> None:
    from shopfuse.config import AnnSettings

    store = MilvusStore.create(
        tmp_path / "s", {"text": TEXT}, ann=AnnSettings(kind="ivf", nlist=1024, nprobe=16)
    )
    counts = {"rows": 1_000_000, "match": 74_000}
    calls: list[str] = []

    def count(condition: str, collection: str | None = None, consistency: str = "Strong") -> int:
        calls.append(condition)
        return counts["match"] if "gender" in condition else counts["rows"]

    store._count = count  # type: ignore[method-assign]
    where = "has_text == true and gender"
    assert store._widen({"nprobe": 16}, "c", where, "has_text == true", "Session") == {"nprobe": 417}
    assert len(calls) == 2
    store._widen({"nprobe": 16}, "c", where, "has_text == true", "Session")
    assert len(calls) == 2  # the share is remembered ...
    store._bump_version()
    counts["match"] = 600_000
    assert store._widen({"nprobe": 16}, "c", where, "has_text == true", "Session") == {"nprobe": 38}
    assert len(calls) == 4  # ... until this store writes
    store._shares.clear()
    counts["match"] = 15_000  # few matches: every list, exact among them
    assert store._widen({"nprobe": 16}, "c", where, "has_text == true", "Session") == {"nprobe": 1024}
    store._shares.clear()
    counts["match"] = 30_000  # 16 x 1.97 / 3 % would scan more than half the lists: all of them
    assert store._widen({"nprobe": 16}, "c", where, "has_text == true", "Session") == {"nprobe": 1024}
    store._shares.clear()
    counts["match"] = 100_000
    assert store._widen({"ef": 64}, "c", where, "x", "Session") == {"ef": 1216}
