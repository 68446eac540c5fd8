from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import FilterError
from shopfuse.store import LanceStore, Record
from shopfuse.types import Product

INFO = EncoderInfo("t", "1", 4, "s")


def test_older_stores_gain_new_fields_on_open(tmp_path: Path) -> None:
    store = LanceStore.create(tmp_path / "s", {"text": INFO})
    store.upsert([Record(Product(id="a", title="x"), "h", {"text": np.array([1, 0, 0, 0], np.float32)})])
    store._table.drop_columns(["_contributions"])  # as written before the field existed
    reopened = LanceStore(tmp_path / "s")
    assert reopened.get(["a"])[0]["contributions"] == {}
    reopened.upsert(
        [
            Record(
                Product(id="b"),
                "h2",
                {"text": np.array([0, 1, 0, 0], np.float32)},
                contributions={"text": 1.0},
            )
        ]
    )
    assert reopened.get(["b"])[0]["contributions"] == {"text": 1.0}


def test_lance_errors_in_a_filtered_scan_name_no_sql_or_hidden_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LanceStore.create(tmp_path / "s", {"text": INFO})
    vector = np.array([1, 0, 0, 0], np.float32)
    store.upsert([Record(Product(id="a", attributes={"size": 1}), "h", {"text": vector})])
    scan = store._scan

    def failing(columns: list[str], where: str | None = None) -> Any:
        if where and "`size`" in where:
            raise ValueError(f"Schema error: No field named _vec_text. Valid fields are _hash. in {where}")
        return scan(columns, where)

    monkeypatch.setattr(store, "_scan", failing)
    monkeypatch.setattr(store, "_fields", lambda wait=False: None)  # a store too big to hold its fields
    for call in (
        lambda: store.ids_where("size = 1"),
        lambda: store.search("text", vector, encoder=INFO, k=1, where="size = 1"),
    ):
        with pytest.raises(FilterError, match=r"^invalid filter: the store could not evaluate it") as caught:
            call()
        assert not any(word in str(caught.value) for word in ("_vec_", "_hash", "_has_", "`size`"))


def test_filters_evaluated_in_memory_agree_with_lance_and_restrict_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrow evaluates filters over the fields held in memory; Lance (SQL) does for stores too big
    # to hold them: both must keep the same rows, and search must return only (and all) of them
    from tests.contracts.test_stores import FILTER_CASES, IMAGE, TEXT, check_sql_semantics

    store = LanceStore.create(tmp_path / "s", {"text": TEXT, "image": IMAGE})
    check_sql_semantics(store)  # 24 products; ids_where (in memory) against Python's reading
    query = np.eye(16, dtype=np.float32)[0]
    in_memory = {}
    for where, _ in FILTER_CASES:
        in_memory[where] = sorted(store.ids_where(where))
        hits = store.search("text", query, encoder=TEXT, k=100, where=where)
        assert sorted(h.id for h in hits) == in_memory[where], where
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any(in_memory.values()) and not all(len(v) == 24 for v in in_memory.values())
    monkeypatch.setattr(store, "_fields", lambda wait=False: None)  # now every filter goes to Lance
    for where, _ in FILTER_CASES:
        assert sorted(store.ids_where(where)) == in_memory[where], where
        hits = store.search("text", query, encoder=TEXT, k=100, where=where)
        assert sorted(h.id for h in hits) == in_memory[where], where


def test_filtered_search_uses_the_index_only_for_filters_matching_many_rows(tmp_path: Path) -> None:
    from shopfuse.config import AnnSettings

    wide = EncoderInfo("w", "1", 16, "space-w")
    settings = AnnSettings(kind="ivf", min_rows=300, nlist=8)
    store = LanceStore.create(tmp_path / "s", {"text": wide}, ann=settings)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(1000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.upsert(
        [
            Record(Product(id=f"v{i}", attributes={"half": i % 2 == 0, "few": i < 50}), f"h{i}", {"text": v})
            for i, v in enumerate(vectors)
        ]
    )
    for where, matches in (("few = TRUE", 50), ("half = TRUE", 500)):
        hits = store.search("text", vectors[7], encoder=wide, k=10, where=where)
        allowed = [i for i in range(1000) if (i % 2 == 0 if where.startswith("half") else i < 50)]
        exact = sorted(allowed, key=lambda i: -float(vectors[i] @ vectors[7]))[:10]
        assert [h.id for h in hits][:5] == [f"v{i}" for i in exact][:5], where
        assert all(int(h.id[1:]) in allowed for h in hits)
        assert ("text" in store._ann) == (matches >= 300)  # only the broad filter built the index
