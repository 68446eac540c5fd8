"""Bandit policies that learn from clicks: Thompson sampling per segment, LinUCB and linear Thompson sampling.

Every policy here implements :class:`~shopfuse.creative.policy.Policy` (``probabilities(log)``,
``to_dict``) and the online pair:

* ``choose(context, rng) -> (action, propensity)``: the action to show and the exact probability
  it was drawn with (log it as the propensity). Thompson sampling's action distribution (the chance
  each action has the highest sampled value) is estimated once per context by Monte Carlo with a
  seed fixed by the context, and ``choose`` draws from that estimate, so the logged propensity is
  the true probability of the draw and equals ``probabilities`` for that context. Each action's
  draws have a seed of their own (segment and action), so they depend on its posterior alone: an
  update redraws one action's column, not the whole table.
* ``update(context, action, reward)``: learn from one impression (reward in [0, 1], a click is 1).

``thompson`` (this module): Beta-Bernoulli per action and segment (the value of one context
column; values never seen fall back to all data, ``"*"``). The prior is Beta with the log's mean
click rate and ``prior_strength`` pseudo-impressions. A NEW action (no impressions) starts from
similar actions instead: the cosine-similarity-weighted mean of its ``neighbours`` most similar
actions' posterior means (action-table features), with as many pseudo-impressions as they have on
average, at most ``warm_strength``. ``linucb`` and ``lin_ts``: :mod:`shopfuse.creative.linear`.

:func:`fit` trains any of them from a log by replaying its rows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shopfuse.creative._online import (
    argmax_share,
    candidate_mask,
    check_actions,
    check_reward,
    choose_from,
    context_value,
    mix,
    seeded,
    value_key,
)
from shopfuse.creative.features import decode_array, encode_array
from shopfuse.creative.linear import LinearTSPolicy, LinUCBPolicy
from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = ["KINDS", "LinUCBPolicy", "LinearTSPolicy", "ThompsonPolicy", "fit"]

ALL = "*"
SAMPLED_SEGMENTS = 64
"""Segments whose Monte Carlo draws a Thompson policy keeps (each ``draws x actions`` floats)."""


@registry.register("policy", "thompson")
class ThompsonPolicy:
    """Beta-Bernoulli Thompson sampling per action x segment, warm-starting new actions by similarity."""

    kind = "thompson"

    def __init__(
        self,
        actions: Sequence[str],
        *,
        segment: str | None = None,
        features: np.ndarray | None = None,
        prior_mean: float = 0.05,
        prior_strength: float = 2.0,
        warm_strength: float = 100.0,
        neighbours: int = 5,
        draws: int = 1000,
        seed: int = 0,
        epsilon: float = 0.0,
    ) -> None:
        self.actions = check_actions(actions)
        self.index = {a: i for i, a in enumerate(self.actions)}
        if not 0.0 < prior_mean < 1.0:
            raise ConfigError(f"prior_mean must be in (0, 1), got {prior_mean}")
        if prior_strength <= 0 or warm_strength <= 0:
            raise ConfigError("prior_strength and warm_strength must be > 0")
        if draws < 10:
            raise ConfigError("draws must be at least 10")
        if not 0.0 <= epsilon < 1.0:
            raise ConfigError(f"epsilon must be in [0, 1), got {epsilon}")
        if features is not None:
            features = np.asarray(features, dtype=np.float64)
            if features.ndim != 2 or len(features) != len(self.actions):
                raise ConfigError(f"features need one row per action ({len(self.actions)})")
        self.segment = segment
        self.features = features
        self.prior_mean = float(prior_mean)
        self.prior_strength = float(prior_strength)
        self.warm_strength = float(warm_strength)
        self.neighbours = int(neighbours)
        self.draws = int(draws)
        self.seed = int(seed)
        self.epsilon = float(epsilon)
        n = len(self.actions)
        self.alpha0 = np.full(n, self.prior_mean * self.prior_strength)
        self.beta0 = np.full(n, (1.0 - self.prior_mean) * self.prior_strength)
        self.warm: set[str] = set()
        self.clicks: dict[str, np.ndarray] = {ALL: np.zeros(n)}
        self.shows: dict[str, np.ndarray] = {ALL: np.zeros(n)}
        self._cache: dict[str, np.ndarray] = {}
        """Action distribution per segment."""
        self._samples: OrderedDict[str, np.ndarray] = OrderedDict()
        """``(draws, n)`` sampled click rates of the segments used last (at most :data:`SAMPLED_SEGMENTS`)."""

    # -- learning -------------------------------------------------------------------------------

    def _key(self, context: Mapping[str, Any]) -> str:
        if self.segment is None:
            return ALL
        key = context_value(context, self.segment)
        return key if key in self.shows else ALL

    def update(self, context: Mapping[str, Any], action: str, reward: float) -> None:
        """Count one impression of ``action`` (and its reward) in the context's segment and overall."""
        row, value = check_reward(action, reward, self.index)
        keys = [ALL]
        if self.segment is not None:
            keys.append(context_value(context, self.segment))
        for key in keys:
            if key not in self.shows:
                self.shows[key] = np.zeros(len(self.actions))
                self.clicks[key] = np.zeros(len(self.actions))
            self.shows[key][row] += 1.0
            self.clicks[key][row] += value
            self._cache.pop(key, None)
            if key in self._samples:
                self._samples[key][:, row] = self._draw(key, row)

    def fit_log(self, log: BanditLog) -> ThompsonPolicy:
        """Add every logged impression's count (the same as :meth:`update` row by row, faster)."""
        unknown = sorted(set(log.action.tolist()) - set(self.index))
        if unknown:
            raise ConfigError(f"the log shows action(s) the policy does not know: {', '.join(unknown[:10])}")
        rewards = np.asarray(log.reward, dtype=np.float64)
        if np.any((rewards < 0) | (rewards > 1)):
            raise ConfigError("Thompson sampling needs rewards in [0, 1] (clicks)")
        rows = np.fromiter((self.index[a] for a in log.action), dtype=np.int64, count=len(log))
        groups: dict[str, np.ndarray] = {ALL: np.arange(len(log))}
        if self.segment is not None:
            if self.segment not in log.context:
                raise ConfigError(f"the policy's segment column {self.segment!r} is not in the log")
            keys = np.asarray([value_key(v) for v in log.context[self.segment]], dtype=object)
            for key in sorted(set(keys.tolist())):
                groups[key] = np.flatnonzero(keys == key)
        for key, where in groups.items():
            shows = self.shows.setdefault(key, np.zeros(len(self.actions)))
            clicks = self.clicks.setdefault(key, np.zeros(len(self.actions)))
            np.add.at(shows, rows[where], 1.0)
            np.add.at(clicks, rows[where], rewards[where])
        self._forget()
        return self

    def posterior(self, segment: str = ALL) -> tuple[np.ndarray, np.ndarray]:
        """Beta ``(alpha, beta)`` of every action in ``segment`` (an unseen one: all data)."""
        key = segment if segment in self.shows else ALL
        alpha = self.alpha0 + self.clicks[key]
        beta = self.beta0 + np.maximum(self.shows[key] - self.clicks[key], 0.0)
        return alpha, beta

    def warm_start(self, actions: Sequence[str] | None = None) -> list[str]:
        """Give each new action (no impressions) a prior from its most similar actions' estimates.

        ``actions``: which to consider (default all); returns those warm-started. Without features,
        or without any similar action that has impressions, an action keeps the base prior.
        """
        if self.features is None:
            return []
        shows = self.shows[ALL]
        alpha, beta = self.posterior(ALL)
        known = np.flatnonzero(shows > 0)
        if not len(known):
            return []
        norms = np.linalg.norm(self.features, axis=1)
        unit = self.features / np.where(norms > 1e-12, norms, 1.0)[:, None]
        started = []
        for action in self.actions if actions is None else actions:
            row = self.index[str(action)]
            if shows[row] > 0 or norms[row] <= 1e-12:
                continue
            sims = unit[known] @ unit[row]
            order = np.argsort(-sims)[: self.neighbours]
            order = order[sims[order] > 0]
            if not len(order):
                continue
            weights = sims[order]
            near = known[order]
            mean = float(weights @ (alpha[near] / (alpha[near] + beta[near])) / weights.sum())
            mass = float(weights @ (alpha[near] + beta[near]) / weights.sum())
            strength = min(self.warm_strength, mass)
            mean = min(max(mean, 1e-6), 1 - 1e-6)
            self.alpha0[row] = mean * strength
            self.beta0[row] = (1.0 - mean) * strength
            self.warm.add(self.actions[row])
            started.append(self.actions[row])
        self._forget()
        return started

    def add_action(self, action: str, features: Sequence[float] | np.ndarray | None = None) -> None:
        """A new creative: base prior, or warm-started from similar actions when ``features`` are given."""
        name = str(action)
        if name in self.index:
            raise ConfigError(f"action {name!r} is already known")
        if self.features is not None:
            if features is None:
                raise ConfigError(f"action {name!r} needs features (the policy has an action table)")
            vector = np.asarray(features, dtype=np.float64).ravel()
            if len(vector) != self.features.shape[1]:
                raise ConfigError(
                    f"features of {name!r}: {len(vector)} values, expected {self.features.shape[1]}"
                )
            self.features = np.vstack([self.features, vector])
        self.actions.append(name)
        self.index[name] = len(self.actions) - 1
        self.alpha0 = np.append(self.alpha0, self.prior_mean * self.prior_strength)
        self.beta0 = np.append(self.beta0, (1.0 - self.prior_mean) * self.prior_strength)
        for key in self.shows:
            self.shows[key] = np.append(self.shows[key], 0.0)
            self.clicks[key] = np.append(self.clicks[key], 0.0)
        self._forget()
        self.warm_start([name])

    # -- choosing -------------------------------------------------------------------------------

    def _forget(self) -> None:
        self._cache.clear()
        self._samples.clear()

    def _draw(self, key: str, row: int) -> np.ndarray:
        """``draws`` samples of action ``row``'s click rate in segment ``key``, seeded by both."""
        alpha, beta = self.posterior(key)
        rng = seeded(self.seed, f"{key}\x1f{self.actions[row]}")
        return rng.beta(alpha[row], beta[row], size=self.draws)

    def _sampled(self, key: str) -> np.ndarray:
        """The segment's ``(draws, n)`` samples, kept for the segments used last."""
        samples = self._samples.get(key)
        if samples is None:
            samples = np.column_stack([self._draw(key, row) for row in range(len(self.actions))])
            self._samples[key] = samples
            while len(self._samples) > SAMPLED_SEGMENTS:
                self._samples.popitem(last=False)
        else:
            self._samples.move_to_end(key)
        return samples

    def segment_probabilities(self, segment: str = ALL, mask: np.ndarray | None = None) -> np.ndarray:
        """The chance each action has the highest sampled click rate in ``segment`` (Monte Carlo).

        ``mask``: only these actions compete (the others get 0).
        """
        key = segment if segment in self.shows else ALL
        cached = self._cache.get(key) if mask is None else None
        if cached is None:
            samples = self._sampled(key)
            if mask is not None:
                samples = np.where(mask, samples, -np.inf)
            cached = mix(argmax_share(samples), self.epsilon, mask)
            if mask is None:
                self._cache[key] = cached
        return cached

    def probabilities(self, log: BanditLog) -> np.ndarray:
        """``(len(log), n_actions)``: each row its segment's Monte Carlo action distribution."""
        if self.segment is None:
            return np.tile(self.segment_probabilities(ALL), (len(log), 1))
        if self.segment not in log.context:
            raise ConfigError(f"the policy reads context column {self.segment!r}, which the log lacks")
        keys = [value_key(v) for v in log.context[self.segment]]
        rows = {k: self.segment_probabilities(k) for k in set(keys)}
        if not keys:
            return np.zeros((0, len(self.actions)))
        return np.stack([rows[k] for k in keys])

    def choose(
        self, context: Mapping[str, Any], rng: np.random.Generator, candidates: Sequence[str] | None = None
    ) -> tuple[str, float]:
        """An action for ``context`` (among ``candidates``) and the probability it was drawn with."""
        mask = candidate_mask(candidates, self.index)
        return choose_from(self.actions, self.segment_probabilities(self._key(context), mask), rng)

    def estimates(self, segment: str = ALL) -> dict[str, dict[str, float]]:
        """Posterior mean click rate and impressions of each action in ``segment``."""
        alpha, beta = self.posterior(segment)
        key = segment if segment in self.shows else ALL
        return {
            a: {"mean": float(alpha[i] / (alpha[i] + beta[i])), "impressions": float(self.shows[key][i])}
            for i, a in enumerate(self.actions)
        }

    # -- saving ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, priors, counts per segment, features."""
        return {
            "kind": self.kind,
            "actions": self.actions,
            "segment": self.segment,
            "params": {
                "prior_mean": self.prior_mean,
                "prior_strength": self.prior_strength,
                "warm_strength": self.warm_strength,
                "neighbours": self.neighbours,
                "draws": self.draws,
                "seed": self.seed,
                "epsilon": self.epsilon,
            },
            "alpha0": encode_array(self.alpha0),
            "beta0": encode_array(self.beta0),
            "warm": sorted(self.warm),
            "counts": {
                key: {"shows": encode_array(self.shows[key]), "clicks": encode_array(self.clicks[key])}
                for key in self.shows
            },
            "features": None if self.features is None else encode_array(self.features),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThompsonPolicy:
        """Read back :meth:`to_dict`."""
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions:
            raise ConfigError('a thompson policy needs "actions": [...]')
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError('thompson policy "params" must be an object')
        features = None if data.get("features") is None else decode_array(data["features"], "features")
        try:
            policy = cls(actions, segment=data.get("segment"), features=features, **params)
        except TypeError as exc:
            raise ConfigError(f"thompson policy params: {exc}") from None
        n = len(policy.actions)
        for name in ("alpha0", "beta0"):
            if name in data:
                value = decode_array(data[name], name)
                if value.shape != (n,):
                    raise ConfigError(f"thompson policy {name!r}: {value.shape}, expected ({n},)")
                setattr(policy, name, value)
        counts = data.get("counts") or {}
        if not isinstance(counts, Mapping):
            raise ConfigError('thompson policy "counts" must be an object')
        for key, pair in counts.items():
            shows = decode_array(pair.get("shows"), f"counts.{key}.shows")
            clicks = decode_array(pair.get("clicks"), f"counts.{key}.clicks")
            if shows.shape != (n,) or clicks.shape != (n,):
                raise ConfigError(f"thompson policy counts of segment {key!r} do not match the {n} actions")
            policy.shows[str(key)] = shows
            policy.clicks[str(key)] = clicks
        policy.warm = {str(a) for a in data.get("warm") or []}
        return policy


KINDS = {"thompson": ThompsonPolicy, "linucb": LinUCBPolicy, "lin_ts": LinearTSPolicy}
"""Learning policies by kind."""


def fit(
    log: BanditLog,
    actions: ActionTable | Sequence[str] | None = None,
    *,
    kind: str = "thompson",
    segment: str | None = None,
    context: Sequence[str] | None = None,
    **params: Any,
) -> ThompsonPolicy | LinUCBPolicy | LinearTSPolicy:
    """Train a policy of ``kind`` from ``log`` by replaying its rows.

    ``actions``: an action table (its ids, and features for warm starts and the linear models), a
    list of ids, or ``None`` (the log's actions). ``thompson`` counts clicks per action x segment
    (``segment``: a context column, else one segment); ``linucb``/``lin_ts`` fit a ridge regression
    on the ``context`` columns (default every context column) crossed with the action features.
    Extra ``params`` go to the policy (``prior_strength``, ``alpha``, ``ridge``...).
    """
    if len(log) == 0:
        raise ConfigError("cannot learn from an empty log")
    table = actions if isinstance(actions, ActionTable) else None
    if table is not None:
        ids = list(table.ids)
    elif actions is not None and not isinstance(actions, ActionTable):
        ids = [str(a) for a in actions]
    else:
        ids = log.actions
    unknown = sorted(set(log.action.tolist()) - set(map(str, ids)))
    if unknown:
        raise ConfigError(
            f"the log shows action(s) missing from the action table: {', '.join(unknown[:10])}"
            + (" ..." if len(unknown) > 10 else "")
        )
    features = None if table is None or table.features.shape[1] == 0 else table.features
    if kind == "thompson":
        if context is not None:
            raise ConfigError("thompson reads one context column: give segment=, not context=")
        params.setdefault("prior_mean", float(np.clip(np.mean(log.reward), 1e-4, 0.5)))
        policy = ThompsonPolicy(ids, segment=segment, features=features, **params)
        policy.fit_log(log)
        policy.warm_start()
        return policy
    if kind in ("linucb", "lin_ts"):
        if segment is not None:
            context = [segment] if context is None else list(context)
        cls = LinUCBPolicy if kind == "linucb" else LinearTSPolicy
        linear = cls.for_log(log, ids, action_features=features, context=context, **params)
        linear.fit_log(log)
        return linear
    raise ConfigError(f"unknown policy kind {kind!r}; kinds: {', '.join(KINDS)}")
