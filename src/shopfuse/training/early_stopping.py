"""The one early-stopping rule of shopfuse: keep the best epoch, stop after ``patience`` without one.

Used by the contrastive aligner (title->photo recall, higher is better), every trainable fusion
strategy (validation InfoNCE, lower is better, the untrained state competing as a baseline) and
the backbone tuning (title->photo recall). No torch here: a state is whatever ``snapshot`` returns.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

__all__ = ["EarlyStopping", "snapshot"]

State = TypeVar("State")


def snapshot(module: Any) -> dict[str, Any]:
    """A deep copy of a torch module's ``state_dict`` (later training steps do not change it)."""
    state: dict[str, Any] = copy.deepcopy(module.state_dict())
    return state


class EarlyStopping(Generic[State]):
    """Tracks the best validation score, the state at that score and the checks since it.

    Call :meth:`step` once per epoch with the epoch's score and a function taking a snapshot of
    the state (called only when the score is a new best); it returns ``True`` when ``patience``
    checks in a row brought no improvement. A score improves when it beats the best by more than
    ``min_delta`` (``mode="max"``: higher is better, ``"min"``: lower is better). :meth:`baseline`
    lets a state compete before training (it is not an epoch, ``best_epoch`` stays 0).
    After training, :attr:`best_state` (``None`` if nothing was recorded) is the state to keep.
    """

    def __init__(self, patience: int, *, mode: Literal["max", "min"] = "max", min_delta: float = 0.0) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.best: float | None = None
        """The best score so far (``None`` before the first)."""
        self.best_state: State | None = None
        self.best_epoch = 0
        """1-based epoch of the best score (0: none yet, or the baseline)."""
        self.epochs = 0
        """Epochs checked so far."""
        self.stale = 0
        """Epochs since the last improvement."""

    def improves(self, score: float) -> bool:
        """Whether ``score`` would become the new best."""
        if self.best is None:
            return True
        if self.mode == "max":
            return score > self.best + self.min_delta
        return score < self.best - self.min_delta

    def baseline(self, score: float, state: Callable[[], State]) -> None:
        """Record the state before training as the one to beat (does not count as an epoch)."""
        self.best, self.best_state, self.best_epoch, self.stale = score, state(), 0, 0

    def step(self, score: float, state: Callable[[], State]) -> bool:
        """Record one epoch's validation ``score``; ``True`` when training should stop."""
        self.epochs += 1
        if self.improves(score):
            self.best, self.best_state, self.best_epoch, self.stale = score, state(), self.epochs, 0
            return False
        self.stale += 1
        return self.stale >= self.patience
