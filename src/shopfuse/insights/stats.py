"""The report's numbers: over-index lift, click rates with Wilson intervals, shares over time, gaps."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from shopfuse.creative.logs import BanditLog

__all__ = [
    "ALL_USERS",
    "CreativeRate",
    "Gap",
    "Lift",
    "Shares",
    "catalogue_gaps",
    "choose_segment_column",
    "creative_rates",
    "is_uniform",
    "over_index",
    "shares_over_time",
    "wilson",
]

ALL_USERS = "all users"
"""The pseudo-segment of every impression, shown first."""
Z95 = 1.959963984540054


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (``successes`` of ``n``; both may be fractional)."""
    if n <= 0:
        return 0.0, 1.0
    p = min(max(successes / n, 0.0), 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Lift:
    """How much more a segment weighs an attribute value than everyone does."""

    group: str
    """The attribute (``colour_group_name``, ``category`` ...)."""
    value: str
    share: float
    """The segment's mean interest weight of the value."""
    overall: float
    """All users' mean interest weight of the value."""

    @property
    def lift(self) -> float:
        """``share / overall`` (1: like everyone; 2: twice as much)."""
        return self.share / self.overall if self.overall > 0 else math.inf


def over_index(
    segment: Mapping[str, Mapping[str, float]],
    overall: Mapping[str, Mapping[str, float]],
    *,
    min_share: float = 0.1,
    top: int = 6,
) -> list[Lift]:
    """The values the segment over-indexes on: lift above 1 and a share of at least ``min_share``,
    highest lift first (ties: larger share first)."""
    found = [
        Lift(group, value, float(share), float(overall.get(group, {}).get(value, 0.0)))
        for group, values in segment.items()
        for value, share in values.items()
        if share >= min_share
    ]
    lifted = [f for f in found if f.lift > 1.0]
    return sorted(lifted, key=lambda f: (-f.lift, -f.share, f.group, f.value))[:top]


def is_uniform(log: BanditLog, tolerance: float = 1e-6) -> bool:
    """Whether every logged propensity is the same (a uniform-random logging policy)."""
    p = log.propensity
    return bool(len(p)) and float(p.max() - p.min()) <= tolerance * float(p.max())


@dataclass(frozen=True, slots=True)
class CreativeRate:
    """One action's click rate in one segment, with its 95% interval."""

    segment: str
    action: str
    impressions: int
    clicks: float
    rate: float
    low: float
    high: float
    effective: float
    """The effective number of impressions (Kish) behind the interval; ``impressions`` when unweighted."""


def creative_rates(
    log: BanditLog, segments: Sequence[str] | np.ndarray | None, *, weighted: bool | None = None
) -> list[CreativeRate]:
    """Click rate of every action in every segment (and in :data:`ALL_USERS`).

    Unweighted (a uniform log): clicks / impressions with the Wilson interval. Weighted (any other
    log, ``weighted=None`` decides by :func:`is_uniform`): the self-normalised inverse-propensity
    estimate of the rate had the action been shown to the whole segment, ``sum(r/p) / sum(1/p)``
    over the rows that showed it, with the Wilson interval at the Kish effective sample size
    ``(sum w)^2 / sum w^2``. Rewards are read as clicks (clipped to [0, 1]).
    """
    if weighted is None:
        weighted = not is_uniform(log)
    reward = np.clip(log.reward, 0.0, 1.0)
    weight = 1.0 / log.propensity if weighted else np.ones(len(log))
    labels = np.full(len(log), ALL_USERS, dtype=object)
    groups: list[tuple[str, np.ndarray]] = [(ALL_USERS, np.ones(len(log), dtype=bool))]
    if segments is not None:
        labels = np.asarray([str(s) for s in segments], dtype=object)
        for value in sorted(set(labels.tolist())):
            groups.append((value, labels == value))
    out: list[CreativeRate] = []
    for name, mask in groups:
        for action in sorted(set(log.action[mask].tolist())):
            rows = mask & (log.action == action)
            w, r = weight[rows], reward[rows]
            total = float(w.sum())
            rate = float((w * r).sum() / total)
            effective = total * total / float((w * w).sum())
            low, high = wilson(rate * effective, effective)
            out.append(
                CreativeRate(name, str(action), int(rows.sum()), float(r.sum()), rate, low, high, effective)
            )
    return out


def choose_segment_column(log: BanditLog, given: str | None = None, max_values: int = 12) -> str | None:
    """The log's column to split by: ``given``, else ``segment``, else the text column with
    2..``max_values`` values whose commonest value covers under 80% of rows (fewest values first)."""
    if given is not None:
        return given
    if "segment" in log.context:
        return "segment"
    best: tuple[int, str] | None = None
    for name in log.categorical_context():
        counts = Counter(log.context[name].tolist())
        usable = 2 <= len(counts) <= max_values and counts.most_common(1)[0][1] < 0.8 * len(log)
        if usable and (best is None or len(counts) < best[0]):
            best = (len(counts), name)
    return None if best is None else best[1]


@dataclass(slots=True)
class Shares:
    """Each value's share of the events of each period."""

    periods: list[datetime]
    period: str
    """``week``, ``month`` or ``quarter``."""
    values: list[str]
    """The commonest values, then ``other`` when there are more."""
    shares: np.ndarray
    """``(len(values), len(periods))``; each column sums to 1."""
    counts: np.ndarray
    """Events with a value, per period."""


def _period_start(stamp: float, period: str) -> datetime:
    day = datetime.fromtimestamp(stamp, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    return day.replace(day=1)


def shares_over_time(
    times: Sequence[float], values: Sequence[str], *, top: int = 6, min_per_period: int = 20
) -> Shares:
    """Weekly shares of the ``top`` commonest values (the rest as ``other``); monthly when a week
    averages fewer than ``min_per_period`` events, quarterly when a month does too. Periods without
    events are left out."""
    if not len(times):
        return Shares([], "week", [], np.zeros((0, 0)), np.zeros(0))
    span_weeks = max((max(times) - min(times)) / (7 * 86_400), 1.0)
    per_week = len(times) / span_weeks
    period = (
        "week" if per_week >= min_per_period else "month" if per_week * 4.35 >= min_per_period else "quarter"
    )
    counts = Counter(values)
    kept = [v for v, _ in counts.most_common(top)]
    names = kept + (["other"] if len(counts) > len(kept) else [])
    place = {v: i for i, v in enumerate(kept)}
    starts = [_period_start(t, period) for t in times]
    periods = sorted(set(starts))
    column = {p: i for i, p in enumerate(periods)}
    matrix = np.zeros((len(names), len(periods)))
    for start, value in zip(starts, values, strict=True):
        matrix[place.get(value, len(kept)), column[start]] += 1
    totals = matrix.sum(0)
    return Shares(periods, period, names, matrix / np.maximum(totals, 1), totals)


@dataclass(frozen=True, slots=True)
class Gap:
    """A value bought (or searched) more than the catalogue stocks it."""

    group: str
    value: str
    demand: float
    """Share of purchases (or queries)."""
    supply: float
    """Share of catalogue items."""
    purchases: int
    items: int

    @property
    def ratio(self) -> float:
        """``demand / supply``: 3 means bought three times as often as it is stocked."""
        return self.demand / self.supply if self.supply > 0 else math.inf


def catalogue_gaps(
    group: str, bought: Sequence[str], stocked: Sequence[str], *, min_purchases: int = 5, top: int = 10
) -> list[Gap]:
    """Values whose share of purchases exceeds their share of the catalogue, biggest ratio first."""
    demand, supply = Counter(bought), Counter(stocked)
    n_bought, n_stocked = max(len(bought), 1), max(len(stocked), 1)
    gaps = [
        Gap(group, value, count / n_bought, supply[value] / n_stocked, count, supply[value])
        for value, count in demand.items()
        if count >= min_purchases
    ]
    return sorted((g for g in gaps if g.ratio > 1.0), key=lambda g: (-g.ratio, -g.demand, g.value))[:top]
