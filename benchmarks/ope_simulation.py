"""Off-policy estimators on the simulator: interval coverage, bias and RMSE against the exact truth.

The simulator (:mod:`shopfuse.creative.simulate`) hides segment x attribute click preferences over real
fashion-catalogue products; its true values are exact. A logging policy (per segment: a random
distribution mixed 70/30 with uniform) writes ``--logs`` logs of ``--rows`` impressions; a different
target policy (per segment: half on the segment's best product, half uniform) is evaluated on each
with every estimator, exactly as ``shopfuse creative evaluate`` does (reward-model regularisation
chosen per log, 5-fold cross-fitting for DR, bootstrap intervals). Reported per estimator: coverage
of the 95% interval (goal ~95%; with 200 logs the coverage itself is +-3 points), bias, RMSE, mean
interval width; and the naive logged mean for contrast.

    nice -n 10 python benchmarks/ope_simulation.py [--logs 200] [--rows 3000] [--bootstrap 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, write_results

from shopfuse.creative.ope import evaluate
from shopfuse.creative.policy import TablePolicy
from shopfuse.creative.simulate import Simulator

ESTIMATORS = ("ipw", "snipw", "dm", "dr")


def policies(sim: Simulator, seed: int) -> tuple[TablePolicy, TablePolicy]:
    """The logging and the target policy (both per segment)."""
    rng = np.random.default_rng(seed)
    n = len(sim.actions)
    logger = {
        s: dict(zip(sim.actions, 0.7 * rng.dirichlet(np.ones(n)) + 0.3 / n, strict=True))
        for s in sim.segments
    }
    best = sim.best_actions()
    target = {}
    for s in sim.segments:
        row = {a: 0.5 / n for a in sim.actions}
        row[best[(s, 30.0)]] += 0.5
        target[s] = row
    return (
        TablePolicy(sim.actions, logger, context="segment"),
        TablePolicy(sim.actions, target, context="segment"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sim = Simulator.from_catalogue(n_actions=args.actions, seed=args.seed)
    logger, target = policies(sim, args.seed + 1)
    truth = sim.true_value(target)
    logger_value = sim.true_value(logger)
    print(f"true value: target {truth:.5f}, logger {logger_value:.5f}, best {sim.best_value():.5f}")
    values: dict[str, list[float]] = {e: [] for e in (*ESTIMATORS, "naive")}
    covered: dict[str, list[bool]] = {e: [] for e in values}
    widths: dict[str, list[float]] = {e: [] for e in values}
    ess: list[float] = []
    started = time.perf_counter()
    for k in range(args.logs):
        log = sim.log(logger, args.rows, np.random.default_rng(10_000 + k))
        report = evaluate(log, target, estimators=ESTIMATORS, bootstrap=args.bootstrap, seed=k)
        ess.append(report.ess)
        for name, est in report.estimates.items():
            values[name].append(est.value)
            covered[name].append(est.low <= truth <= est.high)
            widths[name].append(est.high - est.low)
        mean = float(log.reward.mean())
        half = 1.96 * float(np.sqrt(mean * (1 - mean) / len(log)))
        values["naive"].append(mean)
        covered["naive"].append(mean - half <= truth <= mean + half)
        widths["naive"].append(2 * half)
        if (k + 1) % 20 == 0:
            print(f"{k + 1} logs, {time.perf_counter() - started:.0f} s")
    results: dict[str, object] = {
        "true_value": truth,
        "logger_true_value": logger_value,
        "best_value": sim.best_value(),
        "ess_mean": float(np.mean(ess)),
        "seconds_per_log": (time.perf_counter() - started) / args.logs,
        "estimators": {},
    }
    rows = []
    for name in values:
        v = np.asarray(values[name])
        cov = float(np.mean(covered[name]))
        # binomial 95% interval of the coverage itself (normal approximation)
        se = float(np.sqrt(cov * (1 - cov) / len(v)))
        entry = {
            "coverage": cov,
            "coverage_interval": [max(0.0, cov - 1.96 * se), min(1.0, cov + 1.96 * se)],
            "bias": float(v.mean() - truth),
            "relative_bias": float((v.mean() - truth) / truth),
            "rmse": float(np.sqrt(((v - truth) ** 2).mean())),
            "mean_interval_width": float(np.mean(widths[name])),
        }
        results["estimators"][name] = entry  # type: ignore[index]
        rows.append(
            [
                name,
                entry["coverage"],
                entry["bias"],
                entry["relative_bias"],
                entry["rmse"],
                entry["mean_interval_width"],
            ]
        )
    print_table(
        f"{args.logs} simulated logs of {args.rows} rows; target true value {truth:.4f}",
        ["estimator", "coverage", "bias", "rel. bias", "RMSE", "CI width"],
        rows,
    )
    write_results(
        "ope_simulation",
        {
            "logs": args.logs,
            "rows": args.rows,
            "actions": args.actions,
            "bootstrap": args.bootstrap,
            "seed": args.seed,
            "catalogue_products": sim.actions,
            "naive": "the logged mean with a normal 95% interval (ignores the policy change)",
        },
        results,
    )


if __name__ == "__main__":
    main()
