"""Every store backend in the registry passes the same contract, checked against exact NumPy search."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse import store as _stores  # noqa: F401  (registers the stores)
from shopfuse.config import AnnSettings
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import EncoderMismatchError, FilterError, StoreError
from shopfuse.registry import registry
from shopfuse.store import Record, exact_search
from shopfuse.store.milvus import MilvusStore
from shopfuse.types import Product
from tests.helpers import milvus_server

TEXT = EncoderInfo("t", "1", 16, "space-t")
IMAGE = EncoderInfo("i", "1", 8, "space-i")
WIDE = EncoderInfo("w", "1", 32, "space-w")


BACKENDS = [*registry.names("store"), pytest.param("milvus-split", marks=pytest.mark.slow), "milvus-server"]
"""Every registered store, plus Milvus's one-collection-per-vector layout (on Milvus Lite: slow, 70 s)
and a real Milvus 2.3 server (``milvus-server``: one vector field per collection, so the split layout)."""

QUICK = [pytest.param(b, marks=pytest.mark.slow) if b == "milvus-server" else b for b in BACKENDS]
"""For the many-case filter-language tests: the real server's cases are slow (seconds each), and
the filter is refused before any call reaches the server, as the default cases show."""

_POOL: list[str] = []
"""Emptied server stores with the default columns, reused: making collections takes seconds each."""


@pytest.fixture(scope="session")
def milvus_address() -> Iterator[str]:
    """``host:port`` of the session's real Milvus server (skipped when it is not installed)."""
    address = milvus_server.acquire()
    yield address
    milvus_server.release()


def make_store(
    name: str,
    path: Path,
    request: pytest.FixtureRequest,
    columns: dict[str, EncoderInfo] | None = None,
    ann: AnnSettings | None = None,
) -> Any:
    """An empty store of backend ``name`` (a real server's collections are dropped after the test)."""
    columns = columns or {"text": TEXT, "image": IMAGE}
    if name == "milvus-split":
        return MilvusStore.create(path, columns, ann=ann, layout="split")
    if name == "milvus-server":
        address = request.getfixturevalue("milvus_address")
        if ann is None and columns == {"text": TEXT, "image": IMAGE}:
            uri = _POOL.pop() if _POOL else f"milvus://{address}/t{uuid.uuid4().hex[:12]}"
            store = MilvusStore(uri) if uri in _RESET else MilvusStore.create(uri, columns)
            request.addfinalizer(lambda: _give_back(store))
            return store
        collection = f"t{uuid.uuid4().hex[:12]}"
        request.addfinalizer(lambda: milvus_server.drop_collections(address, collection))
        return MilvusStore.create(f"milvus://{address}/{collection}", columns, ann=ann)
    return registry.get("store", name).create(path, columns, ann=ann)


_RESET: set[str] = set()


def _give_back(store: MilvusStore) -> None:
    """Empty a server store (rows, attributes, version) and put it back in the pool."""
    store.delete(list(store.hashes()))
    store.manifest.attributes.clear()
    store.write_document("manifest", store.manifest.model_dump_json())
    store.write_document("version", "0")
    store.close()
    _RESET.add(str(store.path))
    _POOL.append(str(store.path))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return make_store(request.param, tmp_path / "store", request)


def records(n: int, seed: int = 0) -> list[Record]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        vectors = {"text": l2_normalize(rng.normal(size=16))[0]}
        if i % 3:
            vectors["image"] = l2_normalize(rng.normal(size=8))[0]
        product = Product(
            id=f"p{i}",
            title=f"title {i}",
            images=(f"/img/{i}.jpg",),
            attributes={"gender": "Women" if i % 2 else "Men", "size": i},
        )
        out.append(Record(product, f"hash{i}", vectors))
    return out


def test_check_finds_a_healthy_store_clean_and_names_bad_vectors(store: Any) -> None:
    store.upsert(records(30))
    report = store.check()
    assert report.ok, report.problems
    assert report.rows == 30 and report.vectors == {"text": 30, "image": 20}
    bad = records(1, seed=5)[0]
    bad.vectors["text"] = bad.vectors["text"] * 0.5  # stored as it came: the check must notice
    store.upsert([bad])
    assert [d.ids for d in store.check().problems] == [("p0",)]


def test_search_matches_numpy_reference(store: Any) -> None:
    store.upsert(records(150))
    rng = np.random.default_rng(7)
    for column, info in (("text", TEXT), ("image", IMAGE)):
        ids, matrix = store.vectors(column)
        assert len(ids) == (150 if column == "text" else 100)
        for _ in range(5):
            query = l2_normalize(rng.normal(size=info.dim))[0]
            expected = exact_search(ids, matrix, query, 10)
            got = store.search(column, query, encoder=info, k=10)
            assert [h.id for h in got] == [i for i, _ in expected]
            np.testing.assert_allclose([h.score for h in got], [s for _, s in expected], atol=1e-5)


def test_filtered_search_is_exact_among_matches(store: Any) -> None:
    store.upsert(records(150))
    query = l2_normalize(np.random.default_rng(3).normal(size=16))[0]
    got = store.search("text", query, encoder=TEXT, k=10, where="gender = 'Women' AND size > 20")
    ids, matrix = store.vectors("text")
    allowed = [(i, row) for i, row in zip(ids, matrix, strict=False) if int(i[1:]) % 2 and int(i[1:]) > 20]
    expected = exact_search([i for i, _ in allowed], np.stack([r for _, r in allowed]), query, 10)
    assert [h.id for h in got] == [i for i, _ in expected]
    assert all(h.fields["attributes"]["gender"] == "Women" for h in got)


def test_upsert_replaces_and_delete_removes(store: Any) -> None:
    store.upsert(records(20))
    changed = records(1, seed=9)[0]
    changed.product.title = "new title"
    store.upsert([changed])
    assert store.count() == 20
    assert store.get(["p0"])[0]["title"] == "new title"
    assert store.hashes()["p0"] == "hash0"
    assert store.delete(["p0", "p1", "missing"]) == 2
    assert store.count() == 18
    assert store.get(["p0", "p2"])[0]["id"] == "p2"


def test_modality_counts_and_missing_vectors_never_match(store: Any) -> None:
    store.upsert(records(30))
    assert store.modality_counts() == {"text": 30, "image": 20}
    hits = store.search("image", np.ones(8, dtype=np.float32) / np.sqrt(8), encoder=IMAGE, k=30)
    assert len(hits) == 20
    assert all(int(h.id[1:]) % 3 for h in hits)


def test_foreign_encoder_is_refused(store: Any) -> None:
    store.upsert(records(5))
    other = EncoderInfo("other", "2", 16, "space-other")
    with pytest.raises(EncoderMismatchError, match="other 2"):
        store.search("text", np.ones(16, dtype=np.float32), encoder=other, k=3)
    with pytest.raises(StoreError, match="no 'video' vectors"):
        store.search("video", np.ones(16, dtype=np.float32), encoder=TEXT, k=3)


def test_bad_filter_is_a_store_error(store: Any) -> None:
    store.upsert(records(5))
    with pytest.raises(StoreError, match="invalid filter"):
        store.search("text", np.ones(16, dtype=np.float32) / 4, encoder=TEXT, k=3, where="nope = 1")


def test_attributes_evolve_and_reopen(store: Any, tmp_path: Path) -> None:
    store.upsert(records(5))
    extra = records(1, seed=2)[0]
    extra.product.id = "new"
    extra.product.attributes = {"colour group": "red", "gender": "Men"}
    store.upsert([extra])
    reopened = type(store)(store.path)
    assert reopened.manifest.attributes == {
        "gender": "string",
        "size": "int64",
        "colour group": "string",
    }
    hits = reopened.search("text", extra.vectors["text"], encoder=TEXT, k=1, where="`colour group` = 'red'")
    assert [h.id for h in hits] == ["new"]
    assert reopened.get(["p1"])[0]["attributes"]["colour group"] is None


def test_wrong_vector_shape_is_refused(store: Any) -> None:
    bad = records(1)[0]
    bad.vectors["text"] = np.ones(3, dtype=np.float32)
    with pytest.raises(StoreError, match="shape"):
        store.upsert([bad])
    assert store.count() == 0


def test_ids_with_quotes(store: Any) -> None:
    rec = records(1)[0]
    rec.product.id = "o'neill"
    store.upsert([rec])
    assert store.get(["o'neill"])[0]["id"] == "o'neill"
    assert store.delete(["o'neill"]) == 1


@pytest.mark.parametrize("backend", QUICK)
def test_ann_search_agrees_with_exact(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for kind in ("hnsw", "ivf"):
        settings = AnnSettings(kind=kind, min_rows=0, nlist=32, nprobe=8)
        store = make_store(backend, tmp_path / kind, request, {"text": WIDE}, settings)
        rng = np.random.default_rng(5)
        centres = l2_normalize(rng.normal(size=(20, WIDE.dim)))
        vectors = l2_normalize(centres[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, WIDE.dim)) / 6)
        store.upsert([Record(Product(id=f"v{i}"), f"h{i}", {"text": v}) for i, v in enumerate(vectors)])
        store.optimize()
        found = 0
        for query in l2_normalize(rng.normal(size=(20, WIDE.dim))):
            expected = {i for i, _ in exact_search([f"v{i}" for i in range(3000)], vectors, query, 10)}
            hits = store.search("text", query, encoder=WIDE, k=10)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            found += len(expected & {h.id for h in hits})
        assert found / 200 >= 0.95, kind


def _num(a: dict[str, Any], name: str) -> float | None:
    return a[name]


FILTER_CASES = [
    ("gender = 'Women' OR size < 3", lambda a: a["gender"] == "Women" or (_num(a, "size") or 99) < 3),
    ("NOT (size > 5)", lambda a: a["size"] is not None and not a["size"] > 5),
    ("NOT gender = 'Men'", lambda a: a["gender"] is not None and a["gender"] != "Men"),
    ("gender IN ('Men', 'Kids') AND size BETWEEN 2 AND 8",
     lambda a: a["gender"] in ("Men", "Kids") and 2 <= (_num(a, "size") or -1) <= 8),
    ("gender NOT IN ('Men')", lambda a: a["gender"] is not None and a["gender"] != "Men"),
    ("size IS NULL", lambda a: a["size"] is None),
    ("gender IS NOT NULL AND price >= 1.5", lambda a: a["gender"] is not None and a["price"] >= 1.5),
    ("title LIKE 'title 1%'", lambda a: a["title"].startswith("title 1")),
    ("title NOT LIKE '%2'", lambda a: not a["title"].endswith("2")),
    ("`colour group` = 'it''s red' AND sale = TRUE", lambda a: a["colour group"] == "it's red" and a["sale"]),
    ("3 < size", lambda a: (_num(a, "size") or 0) > 3),
    ("id = 'p4'", lambda a: a["id"] == "p4"),
    ("GENDER = 'Men' AND NOT (size IS NULL OR price < 2)",
     lambda a: a["gender"] == "Men" and a["size"] is not None and not a["price"] < 2),
    ("size NOT BETWEEN 2 AND 8", lambda a: a["size"] is not None and not 2 <= a["size"] <= 8),
    ("price BETWEEN 1 AND 2.5 OR `colour group` IN ('blue') AND title = 'title 3'",
     lambda a: 1 <= a["price"] <= 2.5 or (a["colour group"] == "blue" and a["title"] == "title 3")),
    ("size = 4.0 OR -1 > size", lambda a: a["size"] == 4),
    ("sale = FALSE AND title LIKE '%1_'", lambda a: not a["sale"] and a["title"][-2] == "1"),
]  # fmt: skip


def test_filters_follow_sql_semantics(store: Any) -> None:
    check_sql_semantics(store)


@pytest.mark.parametrize("backend", ["milvus", pytest.param("milvus-server", marks=pytest.mark.slow)])
def test_filterable_attributes_follow_sql_semantics(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Filterable attributes are real VARCHAR fields (an empty string stored as null): same answers."""
    columns = {"text": TEXT, "image": IMAGE}
    if backend == "milvus":
        store = MilvusStore.create(tmp_path / "f", columns, filterable=["gender"])
    else:
        address = request.getfixturevalue("milvus_address")
        collection = f"t{uuid.uuid4().hex[:12]}"
        request.addfinalizer(lambda: milvus_server.drop_collections(address, collection))
        store = MilvusStore.create(f"milvus://{address}/{collection}", columns, filterable=["gender"])
        assert MilvusStore(f"milvus://{address}/{collection}?consistency=strong").consistency == "Strong"
    assert MilvusStore(store.path).filterable == ("gender",)
    assert "attr_gender" in store._filter("gender = 'Women'")
    check_sql_semantics(store)
    query = np.ones(16, dtype=np.float32) / 4
    hits = store.search("text", query, encoder=TEXT, k=30, where="gender = 'Kids'")
    assert hits and all(h.fields["attributes"]["gender"] == "Kids" for h in hits)
    with pytest.raises(StoreError, match="letters, digits and underscores"):
        MilvusStore.create(tmp_path / "g", columns, filterable=["colour group"])


def check_sql_semantics(store: Any) -> None:
    """Every case of FILTER_CASES returns the ids Python's reading of it returns."""
    rows = []
    for i, rec in enumerate(records(24)):
        attributes: dict[str, Any] = {
            "gender": (None, "Women", "Men", "Kids")[i % 4],
            "size": None if i % 5 == 0 else i % 10,
            "price": i / 4,
            "colour group": "it's red" if i % 3 == 0 else "blue",
            "sale": i % 2 == 0,
        }
        rec.product.attributes = attributes
        rows.append({**attributes, "id": rec.product.id, "title": rec.product.title})
        store.upsert([rec])
    for where, keep in FILTER_CASES:
        if "LIKE '%" in where and getattr(store, "layout", "") == "split":  # Milvus 2.3: prefixes only
            with pytest.raises(FilterError, match="only prefixes"):
                store.ids_where(where)
            continue
        expected = sorted(r["id"] for r in rows if keep(r))
        assert sorted(store.ids_where(where)) == expected, where


@pytest.mark.parametrize("store", QUICK, indirect=True)
@pytest.mark.parametrize(
    "where", ["gender = 'Women'; DROP TABLE products", "nope = 1", "gender = ", "gender = 'Women' AND"]
)
def test_unsupported_filters_are_refused_and_keep_the_data(store: Any, where: str) -> None:
    store.upsert(records(5))
    with pytest.raises(StoreError, match="invalid filter"):
        store.search("text", np.ones(16, dtype=np.float32) / 4, encoder=TEXT, k=3, where=where)
    assert store.count() == 5


HOSTILE_FILTERS = [
    "length(repeat('a', 1000000000)) > 0",
    "1=1) OR (1=1",
    "gender = 'x') OR (1=1",
    "1=1",
    "_hash = 'x'",
    "_vec_text IS NULL",
    "_has_text = TRUE",
    "(SELECT 1)",
    "CAST(size AS VARCHAR) = '1'",
    "title = 'a' || 'b'",
    "size = 'x'",
    "title LIKE '" + "%a" * 30 + "'",
    "NOT " * 200 + "size = 1",
    "size = 1 OR " * 500 + "size = 1",
]


@pytest.mark.parametrize("store", QUICK, indirect=True)
@pytest.mark.parametrize("where", HOSTILE_FILTERS, ids=lambda where: where[:40])
def test_hostile_filters_are_refused_quickly_and_keep_the_data(store: Any, where: str) -> None:
    store.upsert(records(5))
    query = np.ones(16, dtype=np.float32) / 4
    for call in (
        lambda: store.search("text", query, encoder=TEXT, k=3, where=where),
        lambda: store.ids_where(where),
    ):
        start = time.perf_counter()
        with pytest.raises(FilterError, match=r"^invalid filter") as caught:
            call()
        assert time.perf_counter() - start < 1.0
        assert not any(name in str(caught.value) for name in ("_has_", "_vec_", "_hash", "`size`", "doc["))
    assert store.count() == 5
    assert sorted(store.ids_where("size >= 0")) == [f"p{i}" for i in range(5)]


def test_filters_are_checked_on_an_empty_store(store: Any) -> None:
    with pytest.raises(FilterError, match="unknown field 'nope'"):
        store.ids_where("nope = 1")


@pytest.mark.parametrize("backend", [b for b in QUICK if "milvus" in str(getattr(b, "values", [b])[0])])
def test_selective_filter_on_ivf_is_exact(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Milvus filters inside the IVF search: at nprobe 1 of 32 lists a 10 % filter meets ~9 of its
    rows (a server searches by brute force only past ~93 % filtered out); the store widens the
    search by the filter's share (here: every list), so the top-10 among the matches is exact."""
    settings = AnnSettings(kind="ivf", min_rows=0, nlist=32, nprobe=1)
    store = make_store(backend, tmp_path / "ivf", request, {"text": WIDE}, settings)
    rng = np.random.default_rng(7)
    centres = l2_normalize(rng.normal(size=(20, WIDE.dim)))
    vectors = l2_normalize(centres[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, WIDE.dim)) / 6)
    rare = rng.random(3000) < 0.10
    store.upsert(
        [
            Record(Product(id=f"v{i}", attributes={"tag": "rare" if r else "common"}), f"h{i}", {"text": v})
            for i, (v, r) in enumerate(zip(vectors, rare, strict=True))
        ]
    )
    store.optimize()
    ids = [f"v{i}" for i in range(3000) if rare[i]]
    queries = l2_normalize(rng.normal(size=(10, WIDE.dim)))
    expected = [[i for i, _ in exact_search(ids, vectors[rare], query, 10)] for query in queries]
    for query, best in zip(queries, expected, strict=True):
        hits = store.search("text", query, encoder=WIDE, k=10, where="tag = 'rare'")
        assert [h.id for h in hits] == best
    if backend == "milvus-server":
        return  # a server answers for fresh small segments by brute force: narrow searches are exact too
    # the same searches without the widening miss matches: the check above can fail
    store._widen = lambda params, *args: params  # type: ignore[method-assign]
    narrow = [store.search("text", q, encoder=WIDE, k=10, where="tag = 'rare'") for q in queries]
    assert all(h.id in set(ids) for hits in narrow for h in hits)
    assert sum([h.id for h in hits] != best for hits, best in zip(narrow, expected, strict=True)) >= 3
