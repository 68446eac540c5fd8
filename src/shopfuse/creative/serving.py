"""Choosing creatives online and logging the feedback: what ``POST /creative/choose|feedback`` run.

:class:`CreativeServer` holds one policy, the impressions still waiting for feedback (an LRU of
:data:`MAX_PENDING`, oldest forgotten first) and the :class:`~shopfuse.creative.journal.Journal`
feedback is appended to. A policy with ``choose(context, rng) -> (action, propensity)`` chooses
itself (restricted to candidates only when its ``choose`` takes ``candidates``); any other policy
(``uniform``, ``table``) is sampled from its :meth:`~shopfuse.creative.policy.Policy.probabilities`
for a one-row log made of the context, renormalised over the candidates, and the propensity logged
is that renormalised probability. A policy with ``update(context, action, reward)`` learns from
every feedback. Choosing and updating share one lock: policies need not be thread-safe.
"""

from __future__ import annotations

import inspect
import math
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.creative.journal import FIELDS, Journal
from shopfuse.creative.logs import BanditLog
from shopfuse.creative.policy import Policy, load_policy
from shopfuse.errors import ConfigError, ShopfuseError

__all__ = [
    "ENV_ACTIONS",
    "ENV_LOG",
    "ENV_POLICY",
    "MAX_PENDING",
    "Choice",
    "CreativeServer",
    "UnknownImpressionError",
    "server_from_env",
]

ENV_POLICY = "SHOPFUSE_CREATIVE_POLICY"
"""The policy the service chooses with: a policy JSON file, or ``uniform`` (with :data:`ENV_ACTIONS`)."""
ENV_ACTIONS = "SHOPFUSE_CREATIVE_ACTIONS"
"""An action table (CSV/Parquet, see :func:`~shopfuse.creative.logs.read_actions`): the actions of
a ``uniform`` policy, or of a policy JSON that does not list its own."""
ENV_LOG = "SHOPFUSE_CREATIVE_LOG"
"""The folder feedback rows are appended to (JSON-lines parts, see :mod:`shopfuse.creative.journal`)."""
MAX_PENDING = 100_000
"""Impressions kept waiting for feedback; beyond this the oldest is forgotten (its feedback 404s)."""


class UnknownImpressionError(KeyError):
    """Feedback for an impression never chosen here, already answered, or forgotten."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One impression: the action shown and everything its log row needs."""

    impression_id: str
    action: str
    propensity: float
    policy: str
    context: dict[str, Any]
    timestamp: str
    position: int | None = None


class CreativeServer:
    """A policy choosing actions, the impressions waiting for feedback, and the feedback log."""

    def __init__(
        self,
        policy: Policy,
        log_folder: str | Path,
        *,
        max_pending: int = MAX_PENDING,
        seed: int | None = None,
        durable: bool = False,
    ) -> None:
        self.policy = policy
        self.journal = Journal(log_folder, durable=durable)
        self.max_pending = max_pending
        self._rng = np.random.default_rng(seed)
        self._policy_lock = threading.Lock()
        self._pending: OrderedDict[str, Choice] = OrderedDict()
        self._pending_lock = threading.Lock()
        self._index = {a: i for i, a in enumerate(policy.actions)}
        chooser = getattr(policy, "choose", None)
        self._choose = chooser if callable(chooser) else None
        self._choose_takes_candidates = self._choose is not None and _takes(self._choose, "candidates")
        updater = getattr(policy, "update", None)
        self._update = updater if callable(updater) else None
        self.update_errors = 0
        """Feedback rows logged that the policy refused to learn from."""

    @property
    def actions(self) -> list[str]:
        """The policy's actions."""
        return list(self.policy.actions)

    @property
    def pending(self) -> int:
        """Impressions waiting for feedback."""
        with self._pending_lock:
            return len(self._pending)

    def check_candidates(self, candidates: Sequence[str] | None) -> list[str]:
        """The candidates (all actions when None), each known to the policy; else a ConfigError."""
        if candidates is None:
            return self.actions
        chosen = list(dict.fromkeys(candidates))
        unknown = [c for c in chosen if c not in self._index]
        if unknown:
            raise ConfigError(f"unknown candidate action(s): {', '.join(map(repr, unknown[:10]))}")
        if not chosen:
            raise ConfigError("candidates is empty")
        return chosen

    def choose(
        self,
        context: Mapping[str, Any],
        candidates: Sequence[str] | None = None,
        position: int | None = None,
    ) -> Choice:
        """Choose an action for ``context`` among ``candidates``, and remember the impression."""
        allowed = self.check_candidates(candidates)
        context = dict(context)
        restricted = len(allowed) < len(self._index)
        with self._policy_lock:
            if self._choose is not None and (not restricted or self._choose_takes_candidates):
                kwargs: dict[str, Any] = {"candidates": allowed} if restricted else {}
                action, propensity = self._choose(context, self._rng, **kwargs)
            else:
                action, propensity = self._sample(context, allowed)
        action, propensity = str(action), float(propensity)
        if action not in allowed or not 0 < propensity <= 1 or not math.isfinite(propensity):
            raise ConfigError(
                f"the {self.policy.kind} policy chose {action!r} with propensity {propensity} "
                "(not a candidate, or not in (0, 1])"
            )
        choice = Choice(
            impression_id=uuid.uuid4().hex,
            action=action,
            propensity=propensity,
            policy=self.policy.kind,
            context=context,
            timestamp=datetime.now(UTC).isoformat(),
            position=position,
        )
        with self._pending_lock:
            self._pending[choice.impression_id] = choice
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
        return choice

    def _sample(self, context: Mapping[str, Any], allowed: list[str]) -> tuple[str, float]:
        probabilities = self.policy.probabilities(one_row_log(context, allowed[0]))[0]
        columns = [self._index[a] for a in allowed]
        weights = np.clip(np.asarray(probabilities, dtype=np.float64)[columns], 0.0, None)
        total = float(weights.sum())
        if not total > 0:
            raise ConfigError(f"the {self.policy.kind} policy gives no probability to any candidate here")
        weights = weights / total
        pick = int(self._rng.choice(len(allowed), p=weights))
        return allowed[pick], float(weights[pick])

    def feedback(self, impression_id: str, reward: float) -> dict[str, Any]:
        """Log the reward of a remembered impression (once) and update the policy; returns the row."""
        with self._pending_lock:
            choice = self._pending.pop(impression_id, None)
        if choice is None:
            raise UnknownImpressionError(impression_id)
        return self.record(choice, reward)

    def record(self, choice: Choice, reward: float) -> dict[str, Any]:
        """Append ``choice`` with its ``reward`` to the log, then let the policy learn from it.

        A policy that refuses the update (a reward outside what it models) leaves the row logged;
        the returned row then has ``update_error``.
        """
        if not math.isfinite(reward):
            raise ConfigError("reward must be a finite number")
        clash = sorted(set(choice.context) & set(FIELDS))
        if clash:
            raise ConfigError(f"context key(s) {', '.join(clash)} are log fields")
        row: dict[str, Any] = {
            "timestamp": choice.timestamp,
            "action": choice.action,
            "reward": float(reward),
            "propensity": choice.propensity,
            "policy": choice.policy,
            "impression_id": choice.impression_id,
            "context": choice.context,
        }
        if choice.position is not None:
            row["position"] = choice.position
        self.journal.append(row)
        if self._update is not None:
            try:
                with self._policy_lock:
                    self._update(choice.context, choice.action, float(reward))
            except ShopfuseError as exc:  # logged all the same: the log is the record, learning is extra
                self.update_errors += 1
                row = {**row, "update_error": str(exc)}
        return row

    def close(self) -> None:
        """Close the log's open part."""
        self.journal.close()


def one_row_log(context: Mapping[str, Any], action: str) -> BanditLog:
    """A one-row log holding ``context`` (numbers as floats, the rest as text) for ``probabilities``."""
    columns: dict[str, np.ndarray] = {}
    for key, value in context.items():
        if isinstance(value, bool | int | float):
            columns[key] = np.asarray([float(value)])
        else:
            columns[key] = np.asarray(["" if value is None else str(value)], dtype=object)
    return BanditLog(
        action=np.asarray([action], dtype=object),
        reward=np.zeros(1),
        propensity=np.ones(1),
        context=columns,
    )


def _takes(function: Any, name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def server_from_env(environ: Mapping[str, str] | None = None) -> CreativeServer | None:
    """The server configured by :data:`ENV_POLICY`, :data:`ENV_ACTIONS` and :data:`ENV_LOG`; None
    when no policy is configured. A policy without a log folder is a ConfigError."""
    env = os.environ if environ is None else environ
    spec = env.get(ENV_POLICY, "").strip()
    if not spec:
        return None
    folder = env.get(ENV_LOG, "").strip()
    if not folder:
        raise ConfigError(f"{ENV_POLICY} is set but {ENV_LOG} (the feedback log folder) is not")
    actions = None
    table = env.get(ENV_ACTIONS, "").strip()
    if table:
        from shopfuse.creative.logs import read_actions

        actions = read_actions(table).ids
    try:
        policy = load_policy(spec, actions)
    except ConfigError:
        import importlib.util

        if importlib.util.find_spec("shopfuse.creative.bandits") is None:
            raise
        import_module("shopfuse.creative.bandits")  # registers the learning policies' kinds
        policy = load_policy(spec, actions)
    return CreativeServer(policy, folder)
