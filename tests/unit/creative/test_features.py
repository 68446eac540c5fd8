"""Creative features from a store, context featurisation, and user segments as context."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from shopfuse.creative.features import Featurizer, SegmentContext, action_table_from_store
from shopfuse.creative.logs import BanditLog
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import CatalogError, ConfigError
from shopfuse.recommend.profiles import Profile, Segment
from shopfuse.store import LanceStore, Record
from shopfuse.types import Product

INFO = EncoderInfo("t", "1", 24, "s")


@pytest.fixture(scope="module")
def store(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> LanceStore:
    """40 real fashion products (their attributes); vectors clustered by article type."""
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        rows = [r for i, r in enumerate(csv.DictReader(handle)) if i % 200 == 0][:40]
    rng = np.random.default_rng(0)
    centres = {t: rng.normal(size=24) for t in sorted({r["articleType"] for r in rows})}
    records = []
    for r in rows:
        vector = l2_normalize((centres[r["articleType"]] + 0.1 * rng.normal(size=24))[None])[0]
        attributes = {k: r[k] for k in ("articleType", "baseColour", "gender")}
        product = Product(id=r["id"], title=r["productDisplayName"], attributes=attributes)
        records.append(Record(product, r["id"], {"product": vector.astype(np.float32)}))
    result = LanceStore.create(tmp_path_factory.mktemp("creative") / "s", {"product": INFO})
    result.upsert(records)
    return result


def test_action_table_from_store(store: LanceStore) -> None:
    ids, _ = store.vectors("product")
    rows = {r["id"]: r["attributes"] for r in store.get(ids)}
    creatives = {f"{pid}-photo": pid for pid in ids[:12]} | {f"{pid}-copy": pid for pid in ids[:12]}
    table = action_table_from_store(store, creatives, dims=8)
    assert table.ids == list(creatives) and table.product_ids == list(creatives.values())
    pcs = [n for n in table.feature_names if n.startswith("product:pc")]
    assert len(pcs) == 8
    assert any(n.startswith("articleType=") for n in table.feature_names)
    first = ids[0]
    row = table.ids.index(f"{first}-photo")
    on = {n for n, v in zip(table.feature_names, table.features[row], strict=True) if v == 1.0}
    assert f"articleType={rows[first]['articleType']}" in on
    # two creatives of one product have the same features; the engine (an object with .store) works too
    np.testing.assert_array_equal(table.features[row], table.features[table.ids.index(f"{first}-copy")])

    class Engine:
        def __init__(self, store: LanceStore) -> None:
            self.store = store

    assert action_table_from_store(Engine(store), ids[:5], dims=4).ids == list(ids[:5])
    guessed = action_table_from_store(
        store, ids[:5], dims=2, predicted={ids[0]: {"pattern": "striped"}}, attributes=["pattern"]
    )
    assert guessed.feature_names[-1] == "pattern=striped" and guessed.features[0, -1] == 1.0
    with pytest.raises(CatalogError, match="without product vectors in the store: nope"):
        action_table_from_store(store, ["nope", ids[0]])


def test_featurizer_log_and_dict_agree() -> None:
    log = BanditLog(
        action=np.asarray(["a", "b", "a"], dtype=object),
        reward=np.zeros(3),
        propensity=np.full(3, 0.5),
        context={"age": np.asarray([20.0, 30.0, 40.0]), "segment": np.asarray(["x", "y", "x"], dtype=object)},
    )
    featurizer = Featurizer.fit(log, hash_width=8)
    matrix = featurizer.transform(log)
    assert matrix.shape == (3, 1 + 1 + 8)
    np.testing.assert_allclose(matrix[:, 1], [-1.2247449, 0.0, 1.2247449], atol=1e-6)
    np.testing.assert_allclose(featurizer.vector({"age": 30, "segment": "y"}), matrix[1])
    again = Featurizer.from_dict(featurizer.to_dict())
    np.testing.assert_allclose(again.transform(log), matrix)
    assert featurizer.vector({"age": 30, "segment": "never seen"})[2:].sum() == 1.0  # hashed, not dropped
    with pytest.raises(ConfigError, match="context lacks column"):
        featurizer.vector({"age": 1})
    with pytest.raises(ConfigError, match="not in the log"):
        Featurizer.fit(log, ["colour"])


def test_segment_context() -> None:
    segments = [Segment(0, ["u1", "u2"], "dresses", {}), Segment(1, ["u3"], "shoes", {})]
    context = SegmentContext.from_segments(segments)
    assert context.context("u3") == {"segment": "1"}
    assert context.context("stranger") == {"segment": "unknown"}
    profile = Profile("u1", 3, 2, categories={"Dresses": 0.7, "Tops": 0.3}, price={"band": "high"})
    assert context.context("u1", profile) == {"segment": "0", "price_band": "high", "top_category": "Dresses"}
