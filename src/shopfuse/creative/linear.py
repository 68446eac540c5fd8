"""LinUCB and linear Thompson sampling over context features crossed with action features.

The context becomes ``x = [1, standardised numbers, hashed categories]`` (:class:`Featurizer`).

* ``shared`` mode (the default when actions have features): one ridge regression over
  ``x ⊗ z`` with ``z = [1, the action features' first principal components]``, so the model has a
  bias, context effects, action effects and their interactions, and a new action is scored from
  its features alone.
* ``disjoint`` mode (the default without action features): one ridge regression on ``x`` per action.

Rewards are modelled with noise ``sigma`` (given, or the fitted rewards' standard deviation, 0.5
before any data), so the posterior of the weights is ``N(A^-1 b, sigma^2 A^-1)`` with
``A = ridge * I + sum phi phi^T``. LinUCB scores ``mean + alpha * sigma * sqrt(phi^T A^-1 phi)`` and
puts probability 1 on the best action (ties split; ``epsilon`` mixes in uniform exploration).
Linear TS draws the weights from the posterior; its action distribution is estimated by ``draws``
Monte Carlo samples seeded by the context, and ``choose`` draws from that estimate (so the
propensity it returns is exact and equals ``probabilities`` for the context).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shopfuse.creative._online import (
    argmax_share,
    candidate_mask,
    check_actions,
    check_reward,
    choose_from,
    mix,
    seeded,
)
from shopfuse.creative.features import Featurizer, decode_array, encode_array
from shopfuse.creative.logs import BanditLog
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = ["LinUCBPolicy", "LinearTSPolicy"]

CHUNK = 512
"""Contexts scored at once (bounds the memory of the shared model's variance terms)."""


class _LinearPolicy:
    """Ridge regression over context (x) action features, with the online and saving machinery."""

    kind: str = ""

    def __init__(
        self,
        actions: Sequence[str],
        featurizer: Featurizer,
        *,
        action_features: np.ndarray | None = None,
        mode: str | None = None,
        max_action_dims: int = 8,
        ridge: float = 1.0,
        noise: float | None = None,
        alpha: float = 1.0,
        draws: int = 1000,
        seed: int = 0,
        epsilon: float = 0.0,
        projection: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.actions = check_actions(actions)
        self.index = {a: i for i, a in enumerate(self.actions)}
        if ridge <= 0:
            raise ConfigError(f"ridge must be > 0, got {ridge}")
        if noise is not None and noise <= 0:
            raise ConfigError(f"noise must be > 0, got {noise}")
        if not 0.0 <= epsilon < 1.0:
            raise ConfigError(f"epsilon must be in [0, 1), got {epsilon}")
        if draws < 10:
            raise ConfigError("draws must be at least 10")
        self.featurizer = featurizer
        self.ridge, self.noise, self.alpha = float(ridge), noise, float(alpha)
        self.draws, self.seed, self.epsilon = int(draws), int(seed), float(epsilon)
        self.max_action_dims = int(max_action_dims)
        has_features = action_features is not None and np.asarray(action_features).shape[-1] > 0
        self.mode = mode or ("shared" if has_features else "disjoint")
        if self.mode not in ("shared", "disjoint"):
            raise ConfigError(f"mode must be shared or disjoint, got {self.mode!r}")
        dx = featurizer.dim
        self.projection: tuple[np.ndarray, np.ndarray] | None = None
        if self.mode == "shared":
            if not has_features:
                raise ConfigError("the shared linear model needs action features (an action table)")
            raw = np.asarray(action_features, dtype=np.float64)
            if raw.ndim != 2 or len(raw) != len(self.actions):
                raise ConfigError(f"action features need one row per action ({len(self.actions)})")
            self.projection = projection if projection is not None else _fit_projection(raw, max_action_dims)
            self.z = self._project(raw)
            d = dx * self.z.shape[1]
            self.A = self.ridge * np.eye(d)
            self.b = np.zeros(d)
        else:
            self.z = np.zeros((len(self.actions), 0))
            self.A = np.tile(self.ridge * np.eye(dx), (len(self.actions), 1, 1))
            self.b = np.zeros((len(self.actions), dx))
        self.stats = np.zeros(3)
        """Rewards seen: count, sum, sum of squares (for the noise estimate)."""
        self._refresh()

    # -- model ----------------------------------------------------------------------------------

    @classmethod
    def for_log(
        cls,
        log: BanditLog,
        actions: Sequence[str],
        *,
        action_features: np.ndarray | None = None,
        context: Sequence[str] | None = None,
        hash_width: int = 16,
        **params: Any,
    ) -> Any:
        """A fresh policy whose featurizer is fitted on ``log``'s ``context`` columns (default all)."""
        featurizer = Featurizer.fit(log, context, hash_width=hash_width)
        return cls(actions, featurizer, action_features=action_features, **params)

    def _project(self, raw: np.ndarray) -> np.ndarray:
        assert self.projection is not None
        mean, components = self.projection
        return np.hstack([np.ones((len(raw), 1)), (raw - mean) @ components.T])

    def _refresh(self) -> None:
        if self.mode == "shared":
            self.A_inv = np.linalg.inv(self.A)
            self.theta = self.A_inv @ self.b
        else:
            self.A_inv = np.linalg.inv(self.A)
            self.theta = np.einsum("aij,aj->ai", self.A_inv, self.b)
        self._cache: dict[bytes, np.ndarray] = {}

    @property
    def sigma(self) -> float:
        """The reward noise: given, else the fitted rewards' standard deviation (0.5 before any)."""
        if self.noise is not None:
            return self.noise
        count, total, squares = self.stats
        if count < 2:
            return 0.5
        var = squares / count - (total / count) ** 2
        return float(np.sqrt(max(var, 1e-4)))

    def fit_log(self, log: BanditLog) -> Any:
        """Ridge regression on every logged row (the same as :meth:`update` row by row, faster)."""
        unknown = sorted(set(log.action.tolist()) - set(self.index))
        if unknown:
            raise ConfigError(f"the log shows action(s) the policy does not know: {', '.join(unknown[:10])}")
        x = self.featurizer.transform(log)
        rows = np.fromiter((self.index[a] for a in log.action), dtype=np.int64, count=len(log))
        rewards = np.asarray(log.reward, dtype=np.float64)
        if self.mode == "shared":
            for start in range(0, len(log), 2048):
                part = slice(start, start + 2048)
                phi = (x[part, :, None] * self.z[rows[part]][:, None, :]).reshape(len(x[part]), -1)
                self.A += phi.T @ phi
                self.b += phi.T @ rewards[part]
        else:
            for a in np.unique(rows):
                mine = rows == a
                self.A[a] += x[mine].T @ x[mine]
                self.b[a] += x[mine].T @ rewards[mine]
        self.stats += [len(rewards), rewards.sum(), (rewards**2).sum()]
        self._refresh()
        return self

    def update(self, context: Mapping[str, Any], action: str, reward: float) -> None:
        """One impression: a rank-one (Sherman-Morrison) update of the ridge regression."""
        row, value = check_reward(action, reward, self.index)
        x = self.featurizer.vector(context)
        if self.mode == "shared":
            phi = np.kron(x, self.z[row])
            self.A += np.outer(phi, phi)
            self.b += value * phi
            u = self.A_inv @ phi
            self.A_inv -= np.outer(u, u) / (1.0 + phi @ u)
            self.theta = self.A_inv @ self.b
        else:
            self.A[row] += np.outer(x, x)
            self.b[row] += value * x
            u = self.A_inv[row] @ x
            self.A_inv[row] -= np.outer(u, u) / (1.0 + x @ u)
            self.theta[row] = self.A_inv[row] @ self.b[row]
        self.stats += [1.0, value, value * value]
        self._cache = {}

    def add_action(self, action: str, features: Sequence[float] | np.ndarray | None = None) -> None:
        """A new action: scored from its features (shared mode) or a fresh regression (disjoint)."""
        name = str(action)
        if name in self.index:
            raise ConfigError(f"action {name!r} is already known")
        if self.mode == "shared":
            if features is None:
                raise ConfigError(f"action {name!r} needs features (the shared model scores by features)")
            assert self.projection is not None
            raw = np.asarray(features, dtype=np.float64).reshape(1, -1)
            if raw.shape[1] != self.projection[0].shape[0]:
                raise ConfigError(
                    f"features of {name!r}: {raw.shape[1]} values, expected {self.projection[0].shape[0]}"
                )
            self.z = np.vstack([self.z, self._project(raw)])
        else:
            dx = self.featurizer.dim
            self.A = np.concatenate([self.A, self.ridge * np.eye(dx)[None]])
            self.b = np.vstack([self.b, np.zeros(dx)])
            self.A_inv = np.concatenate([self.A_inv, np.eye(dx)[None] / self.ridge])
            self.theta = np.vstack([self.theta, np.zeros(dx)])
        self.actions.append(name)
        self.index[name] = len(self.actions) - 1
        self._cache = {}

    def _moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For contexts ``x`` (n, dx): mean scores (n, a) and the variance factor.

        Shared: ``(n, dz, dz)`` matrices ``N`` with ``var(score_a) = sigma^2 z_a N z_a``;
        disjoint: ``(n, a)`` variances without ``sigma^2``.
        """
        dx = self.featurizer.dim
        if self.mode == "shared":
            dz = self.z.shape[1]
            weights = self.theta.reshape(dx, dz)
            mean = x @ weights @ self.z.T
            m = self.A_inv.reshape(dx, dz * dx * dz)
            factors = np.empty((len(x), dz, dz))
            for start in range(0, len(x), CHUNK):
                part = x[start : start + CHUNK]
                p = (part @ m).reshape(len(part), dz, dx, dz)
                factors[start : start + CHUNK] = np.einsum("njkl,nk->njl", p, part)
            return mean, factors
        mean = x @ self.theta.T
        var = np.empty((len(x), len(self.actions)))
        for start in range(0, len(x), CHUNK):
            part = x[start : start + CHUNK]
            var[start : start + CHUNK] = np.einsum("ni,aij,nj->na", part, self.A_inv, part)
        return mean, np.maximum(var, 0.0)

    def _variance(self, factors: np.ndarray) -> np.ndarray:
        if self.mode == "shared":
            return np.maximum(np.einsum("aj,njl,al->na", self.z, factors, self.z), 0.0)
        return factors

    def _distribution(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:  # pragma: no cover
        """Action probabilities of contexts ``x``; only the ``mask``ed actions compete."""
        raise NotImplementedError

    def context_probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_actions)`` action probabilities of context vectors, each distinct one computed once."""
        unique, inverse = np.unique(np.round(x, 12), axis=0, return_inverse=True)
        keys = [row.tobytes() for row in unique]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            computed = self._distribution(unique[todo])
            for i, probs in zip(todo, computed, strict=True):
                self._cache[keys[i]] = probs
        table = np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, len(self.actions)))
        return np.asarray(table[np.asarray(inverse).ravel()], dtype=np.float64)

    def probabilities(self, log: BanditLog) -> np.ndarray:
        """``(len(log), n_actions)``: the action distribution in each logged context."""
        if len(log) == 0:
            return np.zeros((0, len(self.actions)))
        return self.context_probabilities(self.featurizer.transform(log))

    def choose(
        self, context: Mapping[str, Any], rng: np.random.Generator, candidates: Sequence[str] | None = None
    ) -> tuple[str, float]:
        """An action for ``context`` (among ``candidates``) and the probability it was drawn with."""
        mask = candidate_mask(candidates, self.index)
        x = np.round(self.featurizer.vector(context)[None], 12)
        probs = self.context_probabilities(x)[0] if mask is None else self._distribution(x, mask)[0]
        return choose_from(self.actions, probs, rng)

    def scores(self, context: Mapping[str, Any]) -> dict[str, dict[str, float]]:
        """Expected reward and its standard deviation for each action in one context."""
        mean, factors = self._moments(self.featurizer.vector(context)[None])
        std = self.sigma * np.sqrt(self._variance(factors))
        return {a: {"mean": float(mean[0, i]), "std": float(std[0, i])} for i, a in enumerate(self.actions)}

    # -- saving ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, featurizer, action vectors, the ridge statistics (exact, base64)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "actions": self.actions,
            "mode": self.mode,
            "featurizer": self.featurizer.to_dict(),
            "params": {
                "ridge": self.ridge,
                "noise": self.noise,
                "alpha": self.alpha,
                "draws": self.draws,
                "seed": self.seed,
                "epsilon": self.epsilon,
                "max_action_dims": self.max_action_dims,
            },
            "A": encode_array(self.A),
            "b": encode_array(self.b),
            "stats": [float(s) for s in self.stats],
        }
        if self.mode == "shared":
            assert self.projection is not None
            out["projection"] = {
                "mean": encode_array(self.projection[0]),
                "components": encode_array(self.projection[1]),
            }
            out["z"] = encode_array(self.z)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """Read back :meth:`to_dict`."""
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions:
            raise ConfigError(f'a {cls.kind} policy needs "actions": [...]')
        featurizer = Featurizer.from_dict(data.get("featurizer") or {})
        params = dict(data.get("params") or {})
        mode = str(data.get("mode", "disjoint"))
        features = None
        projection = None
        if mode == "shared":
            spec = data.get("projection") or {}
            projection = (
                decode_array(spec.get("mean"), "projection.mean"),
                decode_array(spec.get("components"), "projection.components"),
            )
            z = decode_array(data.get("z"), "z")
            if z.shape[0] != len(actions):
                raise ConfigError(
                    f"{cls.kind} policy: {z.shape[0]} action vectors for {len(actions)} actions"
                )
            # rebuild from the stored projected vectors: raw = mean + z[:, 1:] @ components
            features = projection[0] + z[:, 1:] @ projection[1]
        try:
            policy = cls(
                actions, featurizer, action_features=features, mode=mode, projection=projection, **params
            )
        except TypeError as exc:
            raise ConfigError(f"{cls.kind} policy params: {exc}") from None
        if mode == "shared":
            policy.z = z
        a_matrix, b_vector = decode_array(data.get("A"), "A"), decode_array(data.get("b"), "b")
        if a_matrix.shape != policy.A.shape or b_vector.shape != policy.b.shape:
            raise ConfigError(
                f"{cls.kind} policy: A {a_matrix.shape} / b {b_vector.shape} do not match "
                f"{policy.A.shape} / {policy.b.shape} (featurizer and actions)"
            )
        policy.A, policy.b = a_matrix, b_vector
        policy.stats = np.asarray(data.get("stats", [0, 0, 0]), dtype=np.float64)
        policy._refresh()
        return policy


def _fit_projection(raw: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and principal directions (scaled to unit spread) of the action features, at most ``dims``."""
    mean = raw.mean(0)
    centred = raw - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    keep = int(min(dims, (singular > 1e-9 * max(float(singular.max(initial=0.0)), 1e-30)).sum()))
    components = vt[:keep]
    spread = (centred @ components.T).std(0) if keep else np.ones(0)
    return mean, components / np.where(spread > 1e-12, spread, 1.0)[:, None]


@registry.register("policy", "linucb")
class LinUCBPolicy(_LinearPolicy):
    """LinUCB: the action with the highest upper confidence bound (ties split, ``epsilon`` exploration)."""

    kind = "linucb"

    def _distribution(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        mean, factors = self._moments(x)
        ucb = mean + self.alpha * self.sigma * np.sqrt(self._variance(factors))
        if mask is not None:
            ucb[:, ~mask] = -np.inf
        best = ucb >= ucb.max(axis=1, keepdims=True) - 1e-12
        return mix(best / best.sum(axis=1, keepdims=True), self.epsilon, mask)


@registry.register("policy", "lin_ts")
class LinearTSPolicy(_LinearPolicy):
    """Linear Thompson sampling: the chance each action wins under weights drawn from the posterior."""

    kind = "lin_ts"

    def _distribution(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        mean, factors = self._moments(x)
        sigma = self.sigma
        out = np.empty((len(x), len(self.actions)))
        for i in range(len(x)):
            rng = seeded(self.seed, np.round(x[i], 12).tobytes())
            if self.mode == "shared":
                dz = self.z.shape[1]
                root = np.linalg.cholesky(factors[i] + 1e-12 * np.eye(dz))
                noise = rng.standard_normal((self.draws, dz)) @ root.T @ self.z.T
            else:
                noise = rng.standard_normal((self.draws, len(self.actions))) * np.sqrt(factors[i])
            samples = mean[i] + sigma * noise
            if mask is not None:
                samples[:, ~mask] = -np.inf
            out[i] = argmax_share(samples)
        return mix(out, self.epsilon, mask)
