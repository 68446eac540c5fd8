from pathlib import Path

import numpy as np
import pytest

from shopfuse.encoders.base import l2_normalize
from shopfuse.model.attributes import AttributeHeads


def clusters(seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Two labelled clusters and a third, unlabelled one around a known direction."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(3, 16)))
    rows, labels = [], []
    for k, name in enumerate(["shirt", "shoe"]):
        rows.append(l2_normalize(centres[k] + 0.1 * rng.normal(size=(60, 16))))
        labels += [name] * 60
    return np.concatenate(rows), labels, centres


def test_learns_calibrated_labels_and_round_trips(tmp_path: Path) -> None:
    vectors, labels, _ = clusters()
    heads = AttributeHeads(hidden=32, epochs=40).fit(vectors, {"type": labels}, seed=1)
    proba = heads.predict_proba(vectors)["type"]
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    predicted = [p["type"].value for p in heads.predict(vectors)]
    assert np.mean([p == t for p, t in zip(predicted, labels, strict=True)]) > 0.95
    heads.save(tmp_path / "h")
    again = AttributeHeads.load(tmp_path / "h")
    np.testing.assert_allclose(again.predict_proba(vectors)["type"], proba, atol=1e-6)
    assert again.temperatures_ == heads.temperatures_


def test_zero_shot_values_win_only_where_they_fit() -> None:
    vectors, labels, centres = clusters()
    heads = AttributeHeads(hidden=32, epochs=40).fit(vectors, {"type": labels}, seed=1)
    rng = np.random.default_rng(5)
    bags = l2_normalize(centres[2] + 0.05 * rng.normal(size=(5, 16)))
    probe = np.concatenate([bags, vectors[:5]])

    def embed(values: list[str]) -> np.ndarray:
        assert values == ["shirt", "shoe", "bag"]
        return centres

    out = heads.predict(probe, zero_shot={"type": ["bag", "shirt"]}, embed_labels=embed)
    assert [p["type"].value for p in out[:5]] == ["bag"] * 5
    assert all(p["type"].zero_shot for p in out[:5])
    assert all(not p["type"].zero_shot for p in out[5:])


def test_a_label_needs_two_values() -> None:
    with pytest.raises(ValueError, match="two distinct values"):
        AttributeHeads().fit(np.ones((4, 3), np.float32), {"type": ["a", "a", None, "a"]})
