from pathlib import Path

import numpy as np

from shopfuse.encoders.base import EncoderInfo
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
