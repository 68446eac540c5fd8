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
    for call in (
        lambda: store.ids_where("size = 1"),
        lambda: store.search("text", vector, encoder=INFO, k=1, where="size = 1"),
    ):
        with pytest.raises(FilterError, match=r"^invalid filter: the store could not evaluate it") as caught:
            call()
        assert not any(word in str(caught.value) for word in ("_vec_", "_hash", "_has_", "`size`"))
