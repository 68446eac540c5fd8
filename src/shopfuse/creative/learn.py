"""Learn a policy from a log and say how it would have done on held-out days (``shopfuse creative learn``).

The log is split by time: the last ``holdout_days`` calendar days (UTC) are held out, the policy is
trained on the days before (:func:`shopfuse.creative.bandits.fit`), and its click rate on the held-out
days is estimated off-policy (:func:`shopfuse.creative.ope.evaluate`) next to the logging policy's own
(the held-out mean click, with a bootstrap interval). The lift is ``estimate / logged - 1``; for the
weighting estimators (IPW, SNIPW) its interval comes from the same bootstrap resamples as both terms
(paired), for the others from the estimate's interval alone (the logged mean taken as known).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.creative.bandits import fit
from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.errors import ConfigError

__all__ = ["LearnReport", "learn_and_evaluate", "split_by_days"]


def split_by_days(log: BanditLog, holdout_days: int) -> tuple[BanditLog, BanditLog]:
    """``(train, held out)``: the held-out part is the last ``holdout_days`` calendar days of the log."""
    if log.timestamp is None:
        raise ConfigError(f"{log.source or 'the log'}: no timestamp column, so no days to hold out")
    if holdout_days < 1:
        raise ConfigError("holdout_days must be at least 1")
    days = log.timestamp.astype("datetime64[D]")
    distinct = np.unique(days)
    if len(distinct) <= holdout_days:
        raise ConfigError(
            f"{log.source or 'the log'} spans {len(distinct)} day(s); holding out {holdout_days} "
            "leaves none to learn from"
        )
    first_held = distinct[-holdout_days]
    held = days >= first_held
    return log.take(~held), log.take(held)


def _days(log: BanditLog) -> list[str]:
    if log.timestamp is None or not len(log):
        return []
    days = np.unique(log.timestamp.astype("datetime64[D]"))
    return [str(days[0]), str(days[-1])]


@dataclass(slots=True)
class LearnReport:
    """A learned policy's off-policy estimate on held-out days against the logging policy."""

    kind: str
    train: dict[str, Any]
    holdout: dict[str, Any]
    logging: dict[str, float]
    learned: dict[str, dict[str, float]]
    lift: dict[str, dict[str, float]]
    ess: float
    support: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "policy": self.kind,
            "train": self.train,
            "holdout": self.holdout,
            "logging": self.logging,
            "learned": self.learned,
            "lift": self.lift,
            "ess": self.ess,
            "support": self.support,
            "skipped": self.skipped,
        }


def _paired_lift(
    reward: np.ndarray, weight: np.ndarray, self_normalised: bool, bootstrap: int, seed: int
) -> tuple[float, float]:
    """Bootstrap interval of ``ipw / mean(reward) - 1`` with the same resamples for both terms."""
    rng = np.random.default_rng(seed + 1)
    n = len(reward)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=bootstrap).astype(np.float64)
    logged = counts @ reward / n
    weighted = counts @ (weight * reward)
    value = weighted / np.maximum(counts @ weight, 1e-300) if self_normalised else weighted / n
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(logged > 0, value / logged - 1.0, np.nan)
    if np.isnan(lift).all():
        return float("nan"), float("nan")
    low, high = np.nanpercentile(lift, [2.5, 97.5])
    return float(low), float(high)


def learn_and_evaluate(
    log: BanditLog,
    actions: ActionTable | None = None,
    *,
    kind: str = "thompson",
    segment: str | None = None,
    context: Sequence[str] | None = None,
    holdout_days: int = 2,
    estimators: Sequence[str] = ("snipw", "dr"),
    bootstrap: int = 500,
    seed: int = 0,
    min_support: float = 0.95,
    params: dict[str, Any] | None = None,
) -> tuple[Any, LearnReport]:
    """Train ``kind`` on all but the last ``holdout_days`` days; estimate it on them. Returns both.

    ``min_support``: the share of the learned policy's mass that must fall on actions (at positions)
    the held-out days logged; a Thompson-sampling logger leaves some pairs untried, and the estimate
    then leaves out that mass (reported as ``support.unlogged_mass``).
    """
    from shopfuse.creative.ope import evaluate

    train, held = split_by_days(log, holdout_days)
    policy = fit(train, actions, kind=kind, segment=segment, context=context, **(params or {}))
    report = evaluate(
        held,
        policy,
        estimators=estimators,
        bootstrap=bootstrap,
        seed=seed,
        actions=actions,
        min_support=min_support,
    )
    reward = np.asarray(held.reward, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = len(reward)
    means = rng.multinomial(n, np.full(n, 1.0 / n), size=max(bootstrap, 1)) @ reward / n
    logged = float(reward.mean())
    low, high = (float(v) for v in np.percentile(means, [2.5, 97.5]))
    probs = policy.probabilities(held)
    index = {a: j for j, a in enumerate(policy.actions)}
    weight = probs[np.arange(n), [index[a] for a in held.action]] / held.propensity
    learned: dict[str, dict[str, float]] = {}
    lift: dict[str, dict[str, float]] = {}
    for name, estimate in report.estimates.items():
        learned[name] = {"value": estimate.value, "low": estimate.low, "high": estimate.high}
        if logged <= 0:
            continue
        if name in ("ipw", "snipw") and bootstrap:
            lift_low, lift_high = _paired_lift(reward, weight, name == "snipw", bootstrap, seed)
        else:
            lift_low, lift_high = estimate.low / logged - 1.0, estimate.high / logged - 1.0
        lift[name] = {"value": estimate.value / logged - 1.0, "low": lift_low, "high": lift_high}
    result = LearnReport(
        kind=policy.kind,
        train={"rows": len(train), "clicks": float(train.reward.sum()), "days": _days(train)},
        holdout={"rows": len(held), "clicks": float(held.reward.sum()), "days": _days(held)},
        logging={"value": logged, "low": low, "high": high},
        learned=learned,
        lift=lift,
        ess=report.ess,
        support=report.support,
        skipped=report.skipped,
    )
    return policy, result
