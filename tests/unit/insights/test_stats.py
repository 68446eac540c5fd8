"""The report's numbers against hand-computed values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from shopfuse.creative.logs import BanditLog
from shopfuse.insights.stats import (
    ALL_USERS,
    catalogue_gaps,
    choose_segment_column,
    creative_rates,
    is_uniform,
    over_index,
    shares_over_time,
    wilson,
)


def test_wilson_matches_hand_computed_intervals() -> None:
    # 10 of 100, z = 1.96: centre (0.1 + 0.019208) / 1.038416, half 1.96 * sqrt(0.00099604) / 1.038416
    low, high = wilson(10, 100, z=1.96)
    assert low == pytest.approx(0.055230, abs=1e-5) and high == pytest.approx(0.174366, abs=1e-5)
    # no clicks in 50: [0, (z^2/n) / (1 + z^2/n)]
    low, high = wilson(0, 50, z=1.96)
    assert low == 0.0 and high == pytest.approx(0.076832 / 1.076832, abs=1e-6)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(5, 5)
    assert high == 1.0 and 0.5 < low < 1.0


def test_over_index_is_the_ratio_of_shares() -> None:
    segment = {"colour": {"black": 0.6, "white": 0.35, "red": 0.05}, "category": {"dress": 0.5}}
    overall = {"colour": {"black": 0.3, "white": 0.5, "red": 0.01}, "category": {"dress": 0.4}}
    found = over_index(segment, overall, min_share=0.1)
    assert [(f.group, f.value) for f in found] == [("colour", "black"), ("category", "dress")]
    assert found[0].lift == pytest.approx(2.0) and found[1].lift == pytest.approx(1.25)
    # red has a lift of 5 but only 5% of the segment's interest: below min_share
    assert over_index(segment, overall, min_share=0.01)[0].value == "red"


def log_of(actions: list[str], rewards: list[float], propensities: list[float], seg: list[str]) -> BanditLog:
    return BanditLog(
        action=np.asarray(actions, dtype=object),
        reward=np.asarray(rewards, dtype=float),
        propensity=np.asarray(propensities, dtype=float),
        context={"segment": np.asarray(seg, dtype=object)},
    )


def test_uniform_log_rates_are_plain_click_rates() -> None:
    log = log_of(["a", "a", "a", "b", "b"], [1, 0, 0, 1, 1], [0.5] * 5, ["x", "x", "y", "x", "y"])
    assert is_uniform(log)
    rates = {(r.segment, r.action): r for r in creative_rates(log, log.context["segment"])}
    everyone = rates[(ALL_USERS, "a")]
    assert everyone.impressions == 3 and everyone.rate == pytest.approx(1 / 3) and everyone.effective == 3
    assert (everyone.low, everyone.high) == pytest.approx(wilson(1, 3))
    assert rates[("x", "a")].rate == 0.5 and rates[("y", "b")].rate == 1.0 and rates[("y", "a")].rate == 0.0


def test_weighted_rates_are_self_normalised_ipw_at_the_effective_size() -> None:
    # action a shown with p = 0.5 (clicked) and p = 0.25 (not): weights 2 and 4
    log = log_of(["a", "a", "b"], [1, 0, 0], [0.5, 0.25, 0.75], ["x", "x", "x"])
    assert not is_uniform(log)
    rate = next(r for r in creative_rates(log, None) if r.action == "a")
    assert rate.rate == pytest.approx(2 / 6) and rate.effective == pytest.approx(36 / 20)
    assert (rate.low, rate.high) == pytest.approx(wilson(2 / 6 * 1.8, 1.8))
    assert rate.impressions == 2 and rate.clicks == 1


def test_segment_column_choice() -> None:
    rng = np.random.default_rng(0)
    n = 200
    log = BanditLog(
        action=np.asarray(["a"] * n, dtype=object),
        reward=np.zeros(n),
        propensity=np.ones(n),
        context={
            "mostly_one": np.asarray(["u"] * 190 + ["v"] * 10, dtype=object),
            "eight": np.asarray([f"e{i}" for i in rng.integers(0, 8, n)], dtype=object),
            "three": np.asarray([f"t{i}" for i in rng.integers(0, 3, n)], dtype=object),
            "affinity": rng.random(n),
        },
    )
    assert choose_segment_column(log) == "three"
    assert choose_segment_column(log, "eight") == "eight"
    log.context["segment"] = np.asarray(["s"] * n, dtype=object)
    assert choose_segment_column(log) == "segment"


def test_weekly_shares() -> None:
    day = 86_400.0
    monday = datetime(2020, 6, 1, tzinfo=UTC).timestamp()  # a Monday
    times = [monday + i * day / 10 for i in range(30)] + [monday + 7 * day + i * day / 10 for i in range(30)]
    values = ["red"] * 20 + ["blue"] * 10 + ["red"] * 15 + ["blue"] * 15
    shares = shares_over_time(times, values, min_per_period=20)
    assert shares.period == "week" and len(shares.periods) == 2 and shares.values == ["red", "blue"]
    assert shares.shares[:, 0] == pytest.approx([2 / 3, 1 / 3]) and shares.shares[:, 1] == pytest.approx(
        [0.5, 0.5]
    )
    assert shares.counts.tolist() == [30, 30]
    monthly = shares_over_time(times, values, min_per_period=100)
    assert monthly.period == "month" and len(monthly.periods) == 1
    assert monthly.periods[0] == datetime(2020, 6, 1, tzinfo=UTC)
    spread = [monday + i * 20 * day for i in range(20)]  # 20 events over a year: quarters
    quarterly = shares_over_time(spread, ["a"] * 20, min_per_period=10)
    assert quarterly.period == "quarter" and quarterly.periods[0] == datetime(2020, 4, 1, tzinfo=UTC)
    top = shares_over_time(times, values, top=1)
    assert top.values == ["red", "other"] and top.shares[:, 0] == pytest.approx([2 / 3, 1 / 3])


def test_catalogue_gaps_rank_demand_over_supply() -> None:
    bought = ["dress"] * 30 + ["shirt"] * 10 + ["sock"] * 2
    stocked = ["dress"] * 5 + ["shirt"] * 40 + ["sock"]
    gaps = catalogue_gaps("type", bought, stocked, min_purchases=1)
    assert [g.value for g in gaps] == ["dress", "sock"]
    assert gaps[0].ratio == pytest.approx((30 / 42) / (5 / 46)) and gaps[0].items == 5
    assert [g.value for g in catalogue_gaps("type", bought, stocked, min_purchases=5)] == ["dress"]
    assert math.isinf(catalogue_gaps("type", ["new"] * 5, ["old"], min_purchases=1)[0].ratio)
