"""Off-policy estimators on the real Open Bandit logs, where the on-policy truth is known.

Forward direction: estimate the uniform-random policy's click rate from the Bernoulli Thompson-sampling
(bts) log with every estimator, and compare it with the random log's own mean click (the on-policy
truth: the same shop, the same days, the other arm of the A/B test), per campaign (men, women) and
per position (1, 2, 3, and all). The truth is itself noisy (about 46 clicks in 10,000 impressions,
~15 per position): it comes with its exact (Clopper-Pearson) binomial 95% interval, and each estimate
is also checked for overlapping it. The forward direction also runs clipped IPW/SNIPW/DR (weights
capped at 100): the women's bts log has rows with propensity 1e-6 (weight 21,739), which alone decide
the unclipped estimates.

Reverse direction (random log -> the bts policy): only the propensity of the *logged* action is in the
bts log, not the whole distribution per row, so the bts policy cannot be evaluated row by row. But
Bernoulli Thompson sampling ignores the user context, so its time-averaged probability of item ``a``
at position ``p`` is estimated by the share of bts impressions at ``p`` that showed ``a``; with the
click rates stable over the week (the A/B arms ran side by side), that averaged policy has the same
expected click rate as the bts log. It is evaluated on the random log (a table policy per position)
and compared with the bts log's mean click. An approximation, reported apart.

Mapping of the Open Bandit columns to the shopfuse log format (read as they are, no mapping needed):

==========================  ==================================================================
Open Bandit column          shopfuse log field
==========================  ==================================================================
(unnamed first column)      the row index; dropped
``timestamp``               ``timestamp`` (``2019-11-24 00:01:03.979311+00:00``, UTC)
``item_id``                 ``action`` (0-33 men, 0-45 women)
``position``                ``position`` (1 left, 2 centre, 3 right)
``click``                   ``reward`` (0/1)
``propensity_score``        ``propensity``: the logger's probability of that item *at that position*
``user_feature_0..3``       context, categorical (hashed strings)
``user-item_affinity_k``    context, numeric (past clicks of this user on item ``k``)
``item_context.csv``        the action table: ``item_id`` -> action, ``item_feature_0`` numeric
                            (standardised), ``item_feature_1..3`` hashed categories (one-hot)
==========================  ==================================================================

    nice -n 10 python benchmarks/ope_open_bandit.py [--bootstrap 500]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table, write_results
from scipy.stats import beta

from shopfuse.creative.logs import BanditLog, read_actions, read_log
from shopfuse.creative.ope import evaluate
from shopfuse.creative.policy import TablePolicy, UniformPolicy
from shopfuse.demo import find_data

ESTIMATORS = ("ipw", "snipw", "dm", "dr")
CLIP = 100.0
"""Weight cap of the clipped variants (fixed before looking at the results: a round number)."""
POSITIONS: tuple[int | str, ...] = (1, 2, 3, "all")


def clopper_pearson(clicks: int, n: int) -> tuple[float, float]:
    """Exact binomial 95% interval of a click rate."""
    low = float(beta.ppf(0.025, clicks, n - clicks + 1)) if clicks > 0 else 0.0
    high = float(beta.ppf(0.975, clicks + 1, n - clicks)) if clicks < n else 1.0
    return low, high


def subset(log: BanditLog, position: int | str) -> BanditLog:
    """The rows at ``position`` (all rows for ``"all"``)."""
    assert log.position is not None
    return log if position == "all" else log.take(log.position == position)


def with_slot(log: BanditLog) -> BanditLog:
    """The log with its position also as a context column ``slot`` (for a per-position table policy)."""
    assert log.position is not None
    copy = log.take(np.arange(len(log)))
    copy.context = {**copy.context, "slot": np.asarray([str(p) for p in log.position], dtype=object)}
    return copy


def bts_average_policy(bts: BanditLog, actions: list[str]) -> TablePolicy:
    """The bts policy averaged over time: per position, the share of impressions of each item."""
    assert bts.position is not None
    table: dict[str, dict[str, float]] = {}
    for p in np.unique(bts.position):
        shown = bts.action[bts.position == p]
        values, counts = np.unique(shown, return_counts=True)
        table[str(int(p))] = {str(a): float(c) / len(shown) for a, c in zip(values, counts, strict=True)}
    return TablePolicy(actions, table, context="slot")


def compare(report_estimates: dict[str, Any], truth: float, truth_ci: tuple[float, float]) -> dict[str, Any]:
    """Per estimator: value, interval, relative error, overlap with the truth's interval."""
    out = {}
    for name, est in report_estimates.items():
        out[name] = {
            "value": est.value,
            "low": est.low,
            "high": est.high,
            "relative_error": abs(est.value - truth) / truth if truth > 0 else float("nan"),
            "signed_relative_error": (est.value - truth) / truth if truth > 0 else float("nan"),
            "within_10pct": bool(abs(est.value - truth) <= 0.1 * truth),
            "truth_in_interval": bool(est.low <= truth <= est.high),
            "intervals_overlap": bool(est.low <= truth_ci[1] and truth_ci[0] <= est.high),
        }
    return out


def run(data: Path, campaign: str, bootstrap: int, rows: list[list[Any]]) -> dict[str, Any]:
    """Both directions for one campaign."""
    base = data / "open-bandit"
    bts = read_log(base / "bts" / campaign / f"{campaign}.csv")
    rnd = read_log(base / "random" / campaign / f"{campaign}.csv")
    items = read_actions(base / "bts" / campaign / "item_context.csv")
    actions = sorted(set(rnd.actions) | set(bts.actions), key=int)
    result: dict[str, Any] = {"forward": {}, "reverse": {}}
    for position in POSITIONS:
        log, truth_log = subset(bts, position), subset(rnd, position)
        clicks = int(truth_log.reward.sum())
        truth = clicks / len(truth_log)
        truth_ci = clopper_pearson(clicks, len(truth_log))
        started = time.perf_counter()
        report = evaluate(
            log, UniformPolicy(actions), estimators=ESTIMATORS, bootstrap=bootstrap, actions=items
        )
        clipped = evaluate(
            log,
            UniformPolicy(actions),
            estimators=("ipw", "snipw", "dr"),
            bootstrap=bootstrap,
            actions=items,
            clip=CLIP,
        )
        estimates = {**report.estimates, **{f"{k}_clip": v for k, v in clipped.estimates.items()}}
        entry = {
            "rows": len(log),
            "truth": truth,
            "truth_clicks": clicks,
            "truth_rows": len(truth_log),
            "truth_interval": list(truth_ci),
            "logged_value": report.logged_value,
            "ess": report.ess,
            "weight_mean": report.support["weight_mean"],
            "weight_max": report.support["weight_max"],
            "rows_with_weight_over_clip": clipped.support["clipped_rows"],
            "ess_clipped": clipped.ess,
            "seconds": time.perf_counter() - started,
            "estimators": compare(estimates, truth, truth_ci),
        }
        result["forward"][str(position)] = entry
        for name, e in entry["estimators"].items():
            rows.append(
                [campaign, "bts->random", position, name, truth, e["value"], e["signed_relative_error"],
                 e["intervals_overlap"], round(report.ess)]
            )  # fmt: skip
        # reverse: the time-averaged bts policy on the random log
        rlog, rtruth_log = with_slot(subset(rnd, position)), subset(bts, position)
        rclicks = int(rtruth_log.reward.sum())
        rtruth = rclicks / len(rtruth_log)
        rtruth_ci = clopper_pearson(rclicks, len(rtruth_log))
        target = bts_average_policy(subset(bts, position), actions)
        rreport = evaluate(rlog, target, estimators=ESTIMATORS, bootstrap=bootstrap, actions=items)
        result["reverse"][str(position)] = {
            "rows": len(rlog),
            "truth": rtruth,
            "truth_clicks": rclicks,
            "truth_interval": list(rtruth_ci),
            "logged_value": rreport.logged_value,
            "ess": rreport.ess,
            "estimators": compare(rreport.estimates, rtruth, rtruth_ci),
        }
        for name, e in result["reverse"][str(position)]["estimators"].items():
            rows.append(
                [campaign, "random->bts", position, name, rtruth, e["value"], e["signed_relative_error"],
                 e["intervals_overlap"], round(rreport.ess)]
            )  # fmt: skip
        print(f"{campaign} position {position}: {time.perf_counter() - started:.0f} s", flush=True)
    return result


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """Mean absolute relative error per estimator and direction over the campaigns' 'all' rows and
    over every position row."""
    out: dict[str, Any] = {}
    for direction in ("forward", "reverse"):
        for scope in ("all", "per_position"):
            names = (
                [*ESTIMATORS, "ipw_clip", "snipw_clip", "dr_clip"] if direction == "forward" else ESTIMATORS
            )
            for name in names:
                errors = [
                    results[c][direction][p]["estimators"][name]["relative_error"]
                    for c in results
                    for p in (["all"] if scope == "all" else ["1", "2", "3"])
                ]
                overlaps = [
                    results[c][direction][p]["estimators"][name]["intervals_overlap"]
                    for c in results
                    for p in (["all"] if scope == "all" else ["1", "2", "3"])
                ]
                out.setdefault(direction, {}).setdefault(scope, {})[name] = {
                    "mean_relative_error": float(np.mean(errors)),
                    "overlap_share": float(np.mean(overlaps)),
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    data = find_data(args.data)
    rows: list[list[Any]] = []
    results = {c: run(data, c, args.bootstrap, rows) for c in ("men", "women")}
    print_table(
        "Open Bandit: estimate vs on-policy truth (relative error = (estimate - truth) / truth)",
        ["campaign", "direction", "pos", "estimator", "truth", "estimate", "rel. err", "CIs overlap", "ESS"],
        rows,
    )
    write_results(
        "ope_open_bandit",
        {
            "bootstrap": args.bootstrap,
            "estimators": list(ESTIMATORS),
            "clip": CLIP,
            "data": "open-bandit small sample: {random,bts}/{men,women}, 10,000 rows each",
            "reverse_note": "target: the bts policy averaged over time (per-position item shares)",
        },
        {"campaigns": results, "summary": summary(results)},
    )


if __name__ == "__main__":
    main()
