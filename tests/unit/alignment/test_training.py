"""Per-method behaviour the shared contract does not cover, on small synthetic pairs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from shopfuse.alignment.cca import CCAAligner
from shopfuse.alignment.contrastive import ContrastiveAligner
from shopfuse.alignment.metrics import recall_at_k
from shopfuse.alignment.ridge import ALPHAS, RidgeAligner
from shopfuse.encoders.base import l2_normalize
from tests.helpers.threads import single_thread


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with single_thread():
        yield


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Image rows and noisy linear images of them as text rows (a fixed map, so splits share it)."""
    mixing = np.random.default_rng(99).normal(size=(48, 24))
    image = np.random.default_rng(seed).normal(size=(n, 48))
    text = image @ mixing + 2.0 * np.random.default_rng(seed + 1).normal(size=(n, 24))
    return l2_normalize(image), l2_normalize(text)


@pytest.mark.parametrize(("tower", "joint_dim"), [("frozen", 24), ("residual", 24), ("linear", 16)])
def test_text_towers_set_the_joint_width(tower: str, joint_dim: int) -> None:
    image, text = synthetic(64, 0)
    aligner = ContrastiveAligner(text_tower=tower, dim=16, hidden=32, epochs=1, batch_size=32)  # type: ignore[arg-type]
    assert aligner.fit(image, text).joint_dim == joint_dim


def test_frozen_text_tower_keeps_text_vectors() -> None:
    image, text = synthetic(64, 0)
    aligner = ContrastiveAligner(hidden=32, epochs=1, batch_size=32).fit(image, text)
    np.testing.assert_allclose(aligner.embed_text(text), text, atol=1e-6)


def test_unknown_text_tower_is_refused() -> None:
    image, text = synthetic(64, 0)
    with pytest.raises(ValueError, match="text_tower"):
        ContrastiveAligner(text_tower="deep", epochs=1).fit(image, text)  # type: ignore[arg-type]


def test_early_stopping_keeps_the_best_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    image, text = synthetic(256, 0)
    valid = synthetic(128, 5)
    aligner = ContrastiveAligner(hidden=32, epochs=12, batch_size=64, patience=2)
    aligner.fit(image, text, valid=valid, progress=True)
    scores = [record["valid_r10"] for record in aligner.history_]
    assert aligner.epochs_ == int(np.argmax(scores)) + 1
    assert len(scores) < 12 or aligner.epochs_ == 12
    assert recall_at_k(aligner.embed_text(valid[1]), aligner.embed_image(valid[0]), 10) == max(scores)
    assert "valid R@10" in capsys.readouterr().out


def test_ridge_picks_alpha_on_validation_pairs() -> None:
    image, text = synthetic(300, 0)
    valid = synthetic(100, 5)
    assert RidgeAligner().fit(image, text).alpha_ == RidgeAligner().default_alpha
    assert RidgeAligner().fit(image, text, valid=valid).alpha_ in ALPHAS
    assert RidgeAligner(alpha=0.5).fit(image, text, valid=valid).alpha_ == 0.5


def test_cca_correlations_are_sorted_and_at_most_one() -> None:
    image, text = synthetic(300, 0)
    correlations = CCAAligner(dim=8).fit(image, text).correlations_
    assert len(correlations) == 8
    assert np.all(np.diff(correlations) <= 1e-6)
    assert 0 < correlations[-1] <= correlations[0] <= 1
