"""Off-policy evaluation: how a target policy would have done on a log collected by another policy.

For each logged row ``i`` (context ``x_i``, action ``a_i``, reward ``r_i``, logging propensity ``p_i``)
the importance weight is ``w_i = pi(a_i | x_i) / p_i``. The estimators of the target's mean reward:

- ``ipw`` (inverse propensity weighting, IPS): ``mean(w * r)``; unbiased when the logger covers the target.
- ``snipw`` (self-normalised IPW, SNIPS): ``sum(w * r) / sum(w)``; a little biased, much less variance.
- ``dm`` (direct method): ``mean_i sum_a pi(a | x_i) q(x_i, a)`` with ``q`` a reward model fitted on the log.
- ``dr`` (doubly robust): ``dm + mean(w * (r - q(x_i, a_i)))``, with ``q`` cross-fitted (each row's ``q``
  from a model that did not see it), so its correction term stays unbiased.

Each comes with a bootstrap 95% percentile interval over rows. The reward model is fitted once: the DM
and DR intervals treat ``q`` as fixed (refitting it per bootstrap sample would cost hundreds of fits),
so they are somewhat too narrow, the DM one most.

With positions (the Open Bandit propensity is the probability of the item *at that position*), the
target's probabilities are read per row, position included (``policy.probabilities(log)`` sees
``log.position``), and the reward model takes the position as a feature (crossed with the action).

Estimators live in the registry (kind ``ope_estimator``): one is a ratio of two per-row terms,
``sum(num) / sum(den)``, which makes the bootstrap a matrix product.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.creative.policy import Policy
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = [
    "Estimate",
    "Estimator",
    "OpeReport",
    "RewardModel",
    "Terms",
    "effective_sample_size",
    "estimator_names",
    "evaluate",
    "get_estimator",
    "select_c",
    "target_probabilities",
]

KIND = "ope_estimator"
"""Registry kind of the estimators."""


@dataclass(slots=True)
class Estimate:
    """One estimator's value with its bootstrap 95% percentile interval."""

    name: str
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "value": self.value, "low": self.low, "high": self.high}


@dataclass(slots=True)
class OpeReport:
    """What :func:`evaluate` found."""

    policy: str
    """The target policy's kind."""
    n: int
    """Rows of the log."""
    logged_value: float
    """Mean reward in the log (the logging policy's own value)."""
    ess: float
    """Effective sample size of the importance weights, ``(sum w)^2 / sum w^2``."""
    estimates: dict[str, Estimate]
    support: dict[str, Any]
    """Where the target puts mass the logger never tried: ``unlogged_mass`` (share of the target's
    mass on actions, or action/position pairs, absent from the log), ``unlogged_actions`` ({action:
    mass}), ``weight_mean`` (``mean(w)``, near 1 when the logger covers the target in every context),
    ``weight_max``."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Estimators left out, with why."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "policy": self.policy,
            "n": self.n,
            "logged_value": self.logged_value,
            "ess": self.ess,
            "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
            "support": self.support,
            "skipped": self.skipped,
        }


@dataclass(slots=True)
class Terms:
    """The per-row quantities the estimators combine."""

    reward: np.ndarray
    weight: np.ndarray
    """``pi(a_i | x_i) / p_i``."""
    q_logged: np.ndarray | None = None
    """Cross-fitted ``q(x_i, a_i)`` (for DR)."""
    q_target: np.ndarray | None = None
    """Cross-fitted ``sum_a pi(a | x_i) q(x_i, a)`` (for DR)."""
    dm_target: np.ndarray | None = None
    """``sum_a pi(a | x_i) q(x_i, a)`` with ``q`` fitted on the whole log (for DM)."""


@dataclass(frozen=True, slots=True)
class Estimator:
    """An estimator as ``sum(num) / sum(den)`` over rows; ``den`` ``None`` means a mean."""

    name: str
    terms: Callable[[Terms], tuple[np.ndarray, np.ndarray | None]]
    needs_model: bool = False
    uses_weights: bool = True
    description: str = ""

    def value(self, terms: Terms) -> float:
        """The estimate on all rows."""
        num, den = self.terms(terms)
        total = float(den.sum()) if den is not None else float(len(num))
        return float(num.sum()) / total if total > 0 else float("nan")

    def bootstrap(self, terms: Terms, counts: np.ndarray) -> np.ndarray:
        """Estimates on resamples given as ``(B, n)`` row counts."""
        num, den = self.terms(terms)
        top = counts @ num
        bottom = counts @ den if den is not None else counts.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


_BUILT_IN: dict[str, Estimator] = {}


def _register(estimator: Estimator) -> Estimator:
    registry.register(KIND, estimator.name)(lambda: estimator)
    _BUILT_IN[estimator.name] = estimator
    return estimator


def _ipw(t: Terms) -> tuple[np.ndarray, np.ndarray | None]:
    return t.weight * t.reward, None


def _snipw(t: Terms) -> tuple[np.ndarray, np.ndarray | None]:
    return t.weight * t.reward, t.weight


def _dm(t: Terms) -> tuple[np.ndarray, np.ndarray | None]:
    if t.dm_target is None:
        raise ConfigError("the direct method needs a reward model")
    return t.dm_target, None


def _dr(t: Terms) -> tuple[np.ndarray, np.ndarray | None]:
    if t.q_target is None or t.q_logged is None:
        raise ConfigError("the doubly robust estimator needs a reward model")
    return t.q_target + t.weight * (t.reward - t.q_logged), None


_register(Estimator("ipw", _ipw, description="inverse propensity weighting (IPS): mean(w r)"))
_register(Estimator("snipw", _snipw, description="self-normalised IPW (SNIPS): sum(w r) / sum(w)"))
_register(
    Estimator("dm", _dm, needs_model=True, uses_weights=False, description="direct method: mean sum_a pi q")
)
_register(Estimator("dr", _dr, needs_model=True, description="doubly robust: DM + mean(w (r - q))"))
ALIASES = {"ips": "ipw", "snips": "snipw", "sn-ipw": "snipw", "direct": "dm"}
"""Other names accepted for the estimators."""


def estimator_names() -> list[str]:
    """The registered estimators."""
    return registry.names(KIND)


def get_estimator(name: str) -> Estimator:
    """The estimator called ``name`` (or an alias: ``ips``, ``snips``); unknown names are an error.

    Another module adds one with ``registry.register("ope_estimator", NAME)(lambda: Estimator(...))``.
    """
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key in _BUILT_IN:  # without loading every registered component (torch and all)
        return _BUILT_IN[key]
    if key not in registry.names(KIND):
        raise ConfigError(f"unknown estimator {name!r}; choose from: {', '.join(estimator_names())}")
    estimator: Estimator = registry.get(KIND, key)()
    return estimator


def effective_sample_size(weights: np.ndarray) -> float:
    """``(sum w)^2 / sum w^2``: how many rows of an on-policy log the weighted log is worth."""
    w = np.asarray(weights, dtype=np.float64)
    square = float((w * w).sum())
    return float(w.sum()) ** 2 / square if square > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# The reward model q(x, a)


class RewardModel:
    """``q(x, a)``: a regularised logistic regression (binary rewards; ridge otherwise).

    Fitted with Newton-CG: on these sparse designs it converges in ~10 iterations where L-BFGS
    stops early on the flat objective of rare clicks.

    Features of a context: numeric columns standardised, categorical columns hashed (``col=value``)
    into ``hash_width`` one-hot slots, the position one-hot, and a constant. The model sees them alone,
    crossed with the action one-hot (a per-action intercept and slope of every context feature: the
    Open Bandit ``user-item_affinity_k`` matters for item ``k`` only) and, with an action table,
    crossed with the action's features (what lets it guess actions the log never showed).
    """

    def __init__(
        self,
        actions: Sequence[str],
        *,
        action_table: ActionTable | None = None,
        hash_width: int = 32,
        c: float = 1.0,
        max_iter: int = 300,
    ) -> None:
        self.actions = list(actions)
        self.index = {a: i for i, a in enumerate(self.actions)}
        self.action_features = (
            action_table.features_of(self.actions)
            if action_table is not None
            else np.zeros((len(self.actions), 0))
        )
        self.hash_width = hash_width
        self.c = c
        self.max_iter = max_iter
        self._numeric: list[str] = []
        self._categorical: list[str] = []
        self._mean = np.zeros(0)
        self._std = np.ones(0)
        self._positions: list[int] = []
        self._coef = np.zeros(0)
        self._intercept = 0.0
        self._constant: float | None = None
        self._binary = True

    # context features -----------------------------------------------------------------------
    def _context(self, log: BanditLog) -> Any:
        from scipy import sparse

        n = len(log)
        blocks = [sparse.csr_matrix(np.ones((n, 1)))]
        if self._numeric:
            x = np.column_stack([log.context[c] for c in self._numeric]).astype(np.float64)
            blocks.append(sparse.csr_matrix((x - self._mean) / self._std))
        if self._categorical:
            rows, cols = [], []
            for column in self._categorical:
                values = log.context[column]
                cache: dict[Any, int] = {}
                for i, v in enumerate(values):
                    slot = cache.get(v)
                    if slot is None:
                        slot = zlib.crc32(f"{column}={v}".encode()) % self.hash_width
                        cache[v] = slot
                    rows.append(i)
                    cols.append(slot)
            data = np.ones(len(rows))
            blocks.append(sparse.csr_matrix((data, (rows, cols)), shape=(n, self.hash_width)))
        if self._positions:
            place = {p: j for j, p in enumerate(self._positions)}
            pos = log.position if log.position is not None else np.full(n, self._positions[0])
            cols = [place.get(int(p), -1) for p in pos]
            keep = [i for i, c in enumerate(cols) if c >= 0]
            blocks.append(
                sparse.csr_matrix(
                    (np.ones(len(keep)), (keep, [cols[i] for i in keep])), shape=(n, len(self._positions))
                )
            )
        return sparse.hstack(blocks, format="csr")

    def _design(self, ctx: Any, action_idx: np.ndarray) -> Any:
        """Rows ``[x, x (x) onehot(a), x (x) f(a)]`` for each row's action."""
        from scipy import sparse

        n, d = ctx.shape
        n_actions = len(self.actions)
        coo = ctx.tocoo()
        crossed = sparse.csr_matrix(
            (coo.data, (coo.row, coo.col + d * action_idx[coo.row])), shape=(n, d * n_actions)
        )
        blocks = [ctx, crossed]
        fa = self.action_features
        if fa.shape[1]:
            dense = ctx.toarray()
            feats = fa[action_idx]
            blocks.append(sparse.csr_matrix((dense[:, :, None] * feats[:, None, :]).reshape(n, -1)))
        return sparse.hstack(blocks, format="csr")

    def _action_idx(self, actions: np.ndarray) -> np.ndarray:
        try:
            return np.asarray([self.index[a] for a in actions], dtype=np.int64)
        except KeyError as exc:
            raise ConfigError(f"the reward model does not know action {exc.args[0]!r}") from None

    def fit(self, log: BanditLog) -> RewardModel:
        """Fit on the log's rows."""
        from shopfuse.optional import require

        self._numeric = log.numeric_context()
        self._categorical = log.categorical_context()
        if self._numeric:
            x = np.column_stack([log.context[c] for c in self._numeric]).astype(np.float64)
            self._mean = x.mean(axis=0)
            std = x.std(axis=0)
            self._std = np.where(std > 0, std, 1.0)
        self._positions = sorted({int(p) for p in log.position}) if log.position is not None else []
        y = np.asarray(log.reward, dtype=np.float64)
        self._binary = bool(np.isin(y, (0.0, 1.0)).all())
        if np.all(y == y[0]):
            self._constant = float(y[0])
            return self
        self._constant = None
        linear = require("sklearn.linear_model", "scikit-learn", "creative", "the OPE reward model")
        design = self._design(self._context(log), self._action_idx(log.action))
        if self._binary:
            model = linear.LogisticRegression(C=self.c, max_iter=self.max_iter, solver="newton-cg")
            model.fit(design, y.astype(np.int64))
            self._coef, self._intercept = model.coef_[0], float(model.intercept_[0])
        else:
            model = linear.Ridge(alpha=1.0 / self.c)
            model.fit(design, y)
            self._coef, self._intercept = np.asarray(model.coef_).ravel(), float(model.intercept_)
        return self

    def loss(self, log: BanditLog) -> float:
        """Mean log loss (binary rewards) or squared error of ``q`` on the log's rows."""
        q = self.predict(log)
        y = np.asarray(log.reward, dtype=np.float64)
        if self._binary:
            q = np.clip(q, 1e-9, 1 - 1e-9)
            return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).mean())
        return float(((y - q) ** 2).mean())

    def _link(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z)) if self._binary else z

    def predict(self, log: BanditLog, actions: np.ndarray | None = None) -> np.ndarray:
        """``q(x_i, a_i)`` for each row's action (the logged one unless ``actions`` is given)."""
        chosen = log.action if actions is None else actions
        if self._constant is not None:
            return np.full(len(log), self._constant)
        design = self._design(self._context(log), self._action_idx(np.asarray(chosen, dtype=object)))
        return np.asarray(self._link(design @ self._coef + self._intercept))

    def predict_all(self, log: BanditLog) -> np.ndarray:
        """``(len(log), len(actions))``: ``q`` of every action in every row's context."""
        if self._constant is not None:
            return np.full((len(log), len(self.actions)), self._constant)
        ctx = self._context(log)
        d = ctx.shape[1]
        n_actions = len(self.actions)
        coef = self._coef
        main = ctx @ coef[:d]
        per_action = ctx @ coef[d : d + d * n_actions].reshape(n_actions, d).T
        z = main[:, None] + per_action + self._intercept
        fa = self.action_features
        if fa.shape[1]:
            cross = coef[d + d * n_actions :].reshape(d, fa.shape[1])
            z = z + ctx @ cross @ fa.T
        return np.asarray(self._link(np.asarray(z)))


def select_c(
    log: BanditLog,
    make: Callable[[float], RewardModel],
    *,
    cs: Sequence[float] = (0.1, 1.0, 10.0),
    folds: int = 3,
    seed: int = 0,
) -> float:
    """The regularisation ``C`` (of ``cs``) with the lowest held-out loss over ``folds`` folds."""
    fold = np.random.default_rng(seed).permutation(len(log)) % folds
    losses = []
    for c in cs:
        total = 0.0
        for k in range(folds):
            test = fold == k
            total += make(c).fit(log.take(~test)).loss(log.take(test)) * int(test.sum())
        losses.append(total / len(log))
    return float(cs[int(np.argmin(losses))])


# ---------------------------------------------------------------------------------------------
# Evaluation


def target_probabilities(log: BanditLog, policy: Policy) -> np.ndarray:
    """The policy's ``(len(log), len(policy.actions))`` probabilities, checked (a bad row is named)."""
    probs = np.asarray(policy.probabilities(log), dtype=np.float64)
    if probs.shape != (len(log), len(policy.actions)):
        raise ConfigError(
            f"policy {policy.kind!r} gave probabilities of shape {probs.shape}, "
            f"expected {(len(log), len(policy.actions))}"
        )
    bad = np.flatnonzero(~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1))
    if len(bad) == 0:
        bad = np.flatnonzero(np.abs(probs.sum(axis=1) - 1.0) > 1e-6)
    if len(bad):
        raise ConfigError(
            f"policy {policy.kind!r}: the probabilities of log row {int(bad[0]) + 1} "
            f"are not a distribution (sum {probs[bad[0]].sum():.4f})"
        )
    return probs


def _support(log: BanditLog, policy: Policy, probs: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """The support report, and per row the target's mass on actions logged (at that position)."""
    logged = set(log.action.tolist())
    unlogged = {
        a: float(probs[:, j].mean())
        for j, a in enumerate(policy.actions)
        if a not in logged and probs[:, j].max() > 0
    }
    covered = np.zeros((len(log), len(policy.actions)), dtype=bool)
    index = {a: j for j, a in enumerate(policy.actions)}
    unlogged_pairs: dict[str, float] = {}
    if log.position is None:
        for a in logged:
            if a in index:
                covered[:, index[a]] = True
    else:
        for p in np.unique(log.position):
            rows = log.position == p
            seen = set(log.action[rows].tolist())
            cols = [index[a] for a in seen if a in index]
            covered[np.ix_(rows, cols)] = True
            for a, j in index.items():
                if a in logged and a not in seen and probs[rows, j].max() > 0:
                    unlogged_pairs[f"{a}@{int(p)}"] = float(probs[rows, j].sum() / len(log))
    mass = (probs * covered).sum(axis=1)
    report: dict[str, Any] = {
        "unlogged_mass": float(1.0 - mass.mean()),
        "unlogged_actions": dict(sorted(unlogged.items(), key=lambda kv: -kv[1])),
        "unlogged_action_positions": dict(sorted(unlogged_pairs.items(), key=lambda kv: -kv[1])),
    }
    return report, mass


def _cross_fit(
    log: BanditLog,
    make: Callable[[], RewardModel],
    probs_model: np.ndarray,
    logged_idx: np.ndarray,
    folds: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted ``q(x_i, a_i)`` and ``sum_a pi(a|x_i) q(x_i, a)``."""
    n = len(log)
    q_logged = np.zeros(n)
    q_target = np.zeros(n)
    fold = rng.permutation(n) % max(2, min(folds, n))
    for k in np.unique(fold):
        test = fold == k
        model = make().fit(log.take(~test))
        part = log.take(test)
        q_all = model.predict_all(part)
        q_logged[test] = q_all[np.arange(int(test.sum())), logged_idx[test]]
        q_target[test] = (probs_model[test] * q_all).sum(axis=1)
    return q_logged, q_target


def evaluate(
    log: BanditLog,
    policy: Policy,
    *,
    estimators: Sequence[str] = ("ipw", "snipw", "dm", "dr"),
    bootstrap: int = 500,
    seed: int = 0,
    actions: ActionTable | None = None,
    min_support: float = 1.0 - 1e-6,
    allow_unsupported_dm: bool = False,
    folds: int = 5,
    reward_model: Callable[[Sequence[str]], RewardModel] | None = None,
    clip: float | None = None,
) -> OpeReport:
    """Estimate ``policy``'s mean reward on ``log`` with each of ``estimators``.

    ``min_support``: the share of the target's mass that must fall on actions the log shows (at the
    row's position when the log has positions); less is refused with an error naming the actions and
    their mass, unless ``allow_unsupported_dm``: then only the direct method is computed (the reward
    model guesses the unlogged actions, from the action table's features when given). ``folds``: the
    cross-fitting of the reward model for DR. ``reward_model(actions)`` replaces the default
    :class:`RewardModel`, whose regularisation is chosen by :func:`select_c` (3-fold held-out loss);
    tests use it for a known ``q``. ``clip``: cap the importance weights at this value (clipped
    IPW/SNIPW/DR: biased towards the logged actions' rewards, but a few rows with a tiny logged
    propensity no longer decide the estimate); the report counts the clipped rows. Intervals: see the
    module docstring.
    """
    if len(log) == 0:
        raise ConfigError("the log has no rows")
    chosen = [get_estimator(name) for name in estimators]
    if not chosen:
        raise ConfigError("no estimator requested")
    if bootstrap < 0:
        raise ConfigError("bootstrap must be >= 0")
    probs = target_probabilities(log, policy)
    support, mass = _support(log, policy, probs)
    skipped: dict[str, str] = {}
    if mass.mean() < min_support:
        shown = ", ".join(f"{a} ({m:.3f})" for a, m in list(support["unlogged_actions"].items())[:10])
        shown_pairs = ", ".join(
            f"{a} ({m:.3f})" for a, m in list(support["unlogged_action_positions"].items())[:10]
        )
        what = (f"actions never logged: {shown}" if shown else "") + (
            ("; " if shown else "") + f"action@position never logged: {shown_pairs}" if shown_pairs else ""
        )
        if not allow_unsupported_dm:
            raise ConfigError(
                f"the target policy puts {support['unlogged_mass']:.3f} of its mass where the logger never "
                f"tried ({what}); importance weighting cannot estimate that. Evaluate a policy restricted "
                "to the logged actions, or allow the direct method alone (allow_unsupported_dm)"
            )
        for e in chosen:
            if e.uses_weights:
                skipped[e.name] = (
                    f"the target puts {support['unlogged_mass']:.3f} of its mass where the logger never tried"
                )
        chosen = [e for e in chosen if not e.uses_weights]
        if not chosen:
            raise ConfigError("with unlogged actions only the direct method (dm) can be computed; ask for it")
    index = {a: j for j, a in enumerate(policy.actions)}
    col = np.asarray([index.get(a, -1) for a in log.action])
    pi_logged = np.where(col >= 0, probs[np.arange(len(log)), np.maximum(col, 0)], 0.0)
    weight = pi_logged / log.propensity
    raw_weight_max = float(weight.max())
    clipped = 0
    if clip is not None:
        if clip <= 0:
            raise ConfigError("clip must be > 0")
        clipped = int((weight > clip).sum())
        weight = np.minimum(weight, clip)
    terms = Terms(reward=np.asarray(log.reward, dtype=np.float64), weight=weight)
    rng = np.random.default_rng(seed)
    if any(e.needs_model for e in chosen):
        model_actions = sorted(set(log.actions) | set(policy.actions))
        model_index = {a: j for j, a in enumerate(model_actions)}

        c = 1.0
        if reward_model is None and len(log) >= 30:
            c = select_c(log, lambda c: RewardModel(model_actions, action_table=actions, c=c), seed=seed)

        def make() -> RewardModel:
            if reward_model is not None:
                return reward_model(model_actions)
            return RewardModel(model_actions, action_table=actions, c=c)

        # the target's probabilities in the model's action order
        probs_model = np.zeros((len(log), len(model_actions)))
        probs_model[:, [model_index[a] for a in policy.actions]] = probs
        logged_idx = np.asarray([model_index[a] for a in log.action], dtype=np.int64)
        if any(e.name == "dm" or not e.uses_weights for e in chosen):
            q_all = make().fit(log).predict_all(log)
            terms.dm_target = (probs_model * q_all).sum(axis=1)
        if any(e.needs_model and e.uses_weights for e in chosen):
            terms.q_logged, terms.q_target = _cross_fit(log, make, probs_model, logged_idx, folds, rng)
    estimates: dict[str, Estimate] = {}
    counts = rng.multinomial(len(log), np.full(len(log), 1.0 / len(log)), size=bootstrap).astype(np.float64)
    for e in chosen:
        value = e.value(terms)
        if bootstrap:
            draws = e.bootstrap(terms, counts)
            low, high = (float(v) for v in np.nanpercentile(draws, [2.5, 97.5]))
        else:
            low = high = float("nan")
        estimates[e.name] = Estimate(e.name, value, low, high)
    support["weight_mean"] = float(weight.mean())
    support["weight_max"] = raw_weight_max
    support["clip"] = clip
    support["clipped_rows"] = clipped
    return OpeReport(
        policy=policy.kind,
        n=len(log),
        logged_value=float(np.mean(log.reward)),
        ess=effective_sample_size(weight),
        estimates=estimates,
        support=support,
        skipped=skipped,
    )
