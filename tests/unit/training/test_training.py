"""The shared training pieces: the InfoNCE loss and the early-stopping rule."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from shopfuse.training.early_stopping import EarlyStopping, snapshot
from shopfuse.training.losses import info_nce


def test_info_nce_is_clips_symmetric_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 4, generator=generator), torch.randn(8, 4, generator=generator)
    logits = 10.0 * F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    target = torch.arange(8)
    forward, backward = F.cross_entropy(logits, target), F.cross_entropy(logits.T, target)
    torch.testing.assert_close(info_nce(a, b, 10.0), (forward + backward) / 2)
    torch.testing.assert_close(info_nce(a, b, torch.tensor(10.0), symmetric=False), forward)


def test_info_nce_is_small_for_matching_rows_and_ignores_length() -> None:
    a = torch.eye(6)
    assert float(info_nce(a, 3.0 * a, 100.0)) < 1e-6
    assert float(info_nce(a, a.roll(1, 0), 100.0)) > 10


def test_early_stopping_keeps_the_best_and_stops_after_patience() -> None:
    stopping: EarlyStopping[str] = EarlyStopping(2)
    assert not stopping.step(0.5, lambda: "one")
    assert not stopping.step(0.7, lambda: "two")
    assert not stopping.step(0.7, lambda: "three")  # equal is no improvement
    assert stopping.step(0.6, lambda: "four")
    assert (stopping.best, stopping.best_state, stopping.best_epoch, stopping.epochs) == (0.7, "two", 2, 4)


def test_early_stopping_lower_is_better_with_a_margin_and_a_baseline() -> None:
    stopping: EarlyStopping[str] = EarlyStopping(1, mode="min", min_delta=0.1)
    stopping.baseline(1.0, lambda: "untrained")
    assert stopping.step(0.95, lambda: "barely")  # within the margin: stale, patience 1
    assert (stopping.best_state, stopping.best_epoch) == ("untrained", 0)
    again: EarlyStopping[str] = EarlyStopping(1, mode="min", min_delta=0.1)
    again.baseline(1.0, lambda: "untrained")
    assert not again.step(0.5, lambda: "better")
    assert (again.best, again.best_state, again.best_epoch) == (0.5, "better", 1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(1, mode="up")  # type: ignore[arg-type]


def test_snapshot_is_not_changed_by_later_training() -> None:
    layer = torch.nn.Linear(2, 2)
    saved = snapshot(layer)
    with torch.no_grad():
        layer.weight.add_(1.0)
    assert not math.isclose(float(saved["weight"].sum()), float(layer.weight.detach().sum()))
