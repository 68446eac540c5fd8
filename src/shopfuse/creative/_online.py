"""What the learning policies share: checks of actions and rewards, seeded Monte Carlo, choosing."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError

__all__ = [
    "argmax_share",
    "candidate_mask",
    "check_actions",
    "check_reward",
    "choose_from",
    "context_value",
    "mix",
    "seeded",
    "value_key",
]


def check_actions(actions: Sequence[str]) -> list[str]:
    """The actions as strings; none, or one listed twice, is an error."""
    names = [str(a) for a in actions]
    if not names:
        raise ConfigError("a policy needs at least one action")
    if len(set(names)) != len(names):
        twice = sorted({a for a in names if names.count(a) > 1})
        raise ConfigError(f"action(s) listed twice: {', '.join(twice[:10])}")
    return names


def check_reward(action: str, reward: float, index: Mapping[str, int]) -> tuple[int, float]:
    """The action's row and the reward as a float in [0, 1]; an unknown action or a bad reward is an error."""
    row = index.get(str(action))
    if row is None:
        raise ConfigError(f"feedback for unknown action {action!r}; the policy knows {len(index)} actions")
    try:
        value = float(reward)
    except (TypeError, ValueError):
        raise ConfigError(f"reward must be a number in [0, 1], got {reward!r}") from None
    if not (np.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"reward must be a number in [0, 1], got {reward!r}")
    return row, value


def seeded(seed: int, key: str | bytes) -> np.random.Generator:
    """A generator fixed by ``seed`` and ``key`` (a segment, a context's bytes): same key, same draws."""
    data = key.encode() if isinstance(key, str) else key
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(data)])


def argmax_share(samples: np.ndarray) -> np.ndarray:
    """``(draws, n)`` sampled values -> the share of draws each column wins (ties split)."""
    top = samples.argmax(axis=1)
    winners = samples >= samples[np.arange(len(samples)), top][:, None]
    if np.count_nonzero(winners) == len(samples):  # no ties (the usual case): count each draw's winner
        share = np.bincount(top, minlength=samples.shape[1]).astype(np.float64)
    else:
        share = (winners / winners.sum(axis=1, keepdims=True)).sum(axis=0)
    return np.asarray(share / len(samples), dtype=np.float64)


def mix(probs: np.ndarray, epsilon: float, mask: np.ndarray | None = None) -> np.ndarray:
    """``(1 - epsilon) * probs + epsilon / n`` (over the ``mask``ed actions; rows renormalised)."""
    if epsilon > 0:
        allowed = np.ones(probs.shape[-1], dtype=bool) if mask is None else mask
        probs = (1.0 - epsilon) * probs + epsilon * allowed / allowed.sum()
    return np.asarray(probs / probs.sum(axis=-1, keepdims=True), dtype=np.float64)


def candidate_mask(candidates: Sequence[str] | None, index: Mapping[str, int]) -> np.ndarray | None:
    """A boolean mask of the candidate actions (``None``: every action); unknown or none is an error."""
    if candidates is None:
        return None
    unknown = sorted({str(c) for c in candidates} - set(index))
    if unknown:
        raise ConfigError(f"unknown candidate action(s): {', '.join(unknown[:10])}")
    mask = np.zeros(len(index), dtype=bool)
    mask[[index[str(c)] for c in candidates]] = True
    if not mask.any():
        raise ConfigError("candidates is empty")
    return mask


def choose_from(actions: Sequence[str], probs: np.ndarray, rng: np.random.Generator) -> tuple[str, float]:
    """Draw an action with ``probs``; returns it and its probability (the propensity to log)."""
    row = int(rng.choice(len(actions), p=probs))
    return actions[row], float(probs[row])


def context_value(context: Mapping[str, Any], column: str) -> str:
    """The context's value of ``column`` as a string; a missing column is an error naming it."""
    if column not in context:
        raise ConfigError(
            f"context lacks column {column!r} the policy reads "
            f"(given: {', '.join(map(str, context)) or 'none'})"
        )
    return value_key(context[column])


def value_key(value: Any) -> str:
    """A context value as a segment key: ``2.0`` and ``2`` and ``"2"`` are the same segment."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value)
