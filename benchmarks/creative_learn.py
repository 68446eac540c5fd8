"""Bandit learners: off-policy estimated lift on real Open Bandit logs, true value on the simulator.

Real data (``open-bandit/{random,bts}/{men,women}``, 10,000 impressions over 7 days each): every
learner is trained on the first 5 days and its click rate on the last 2 days is estimated
off-policy (SNIPW and DR, bootstrap 95% intervals) next to the logging policy's own held-out mean
click; lift = estimate / logged - 1 (SNIPW lift interval paired over the same resamples). The held-out
days hold ~13-20 clicks per log, so the intervals are wide: the figures say whether a learner is
clearly worse, rarely that it is better.

Simulator (:class:`shopfuse.creative.simulate.Simulator`, 10 real fashion products, hidden segment x
attribute preferences): each learner is fitted on a uniform-random log of N impressions and its exact
expected click rate is compared with uniform and with the oracle (best action per context); Thompson
sampling is also run online (choose/update) over a simulated stream.

    python benchmarks/creative_learn.py [--bootstrap 500] [--sim-rows 2000,20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, write_results

from shopfuse.creative.bandits import ThompsonPolicy, fit
from shopfuse.creative.learn import learn_and_evaluate
from shopfuse.creative.logs import read_actions, read_log
from shopfuse.creative.policy import UniformPolicy
from shopfuse.creative.simulate import Simulator
from shopfuse.demo import find_data

USER = ["user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3"]
REAL_LEARNERS: list[tuple[str, str, dict[str, Any]]] = [
    ("thompson", "thompson", {}),
    ("thompson/segment", "thompson", {"segment": "user_feature_0"}),
    ("linucb", "linucb", {"context": USER}),
    ("lin_ts", "lin_ts", {"context": USER}),
]
SIM_LEARNERS: list[tuple[str, str, dict[str, Any]]] = [
    ("thompson/segment", "thompson", {"segment": "segment"}),
    ("linucb", "linucb", {"context": ["segment", "age"]}),
    ("lin_ts", "lin_ts", {"context": ["segment", "age"]}),
    ("linucb/disjoint", "linucb", {"context": ["segment", "age"], "mode": "disjoint"}),
]


def real(data: Path, bootstrap: int) -> list[dict[str, Any]]:
    rows = []
    for behaviour in ("random", "bts"):
        for campaign in ("men", "women"):
            folder = data / "open-bandit" / behaviour / campaign
            log = read_log(folder / f"{campaign}.csv")
            table = read_actions(folder / "item_context.csv")
            for label, kind, options in REAL_LEARNERS:
                start = time.perf_counter()
                _, report = learn_and_evaluate(
                    log, table, kind=kind, holdout_days=2, bootstrap=bootstrap, **options
                )
                rows.append(
                    {
                        "log": f"{behaviour}/{campaign}",
                        "learner": label,
                        "seconds": round(time.perf_counter() - start, 2),
                        **report.to_dict(),
                    }
                )
    return rows


def simulated(sizes: list[int]) -> dict[str, Any]:
    sim = Simulator.from_catalogue(n_actions=10, seed=0)
    uniform, best = sim.true_value(UniformPolicy(sim.actions)), sim.best_value()
    out: dict[str, Any] = {"uniform": uniform, "oracle": best, "offline": [], "online": {}}
    for n in sizes:
        log = sim.log(UniformPolicy(sim.actions), n, np.random.default_rng(1))
        for label, kind, options in SIM_LEARNERS:
            value = sim.true_value(fit(log, sim.action_table(), kind=kind, **options))
            gap = (value - uniform) / (best - uniform)
            out["offline"].append({"rows": n, "learner": label, "value": value, "share_of_gap": gap})
    rng = np.random.default_rng(2)
    policy = ThompsonPolicy(sim.actions, segment="segment", prior_mean=0.03)
    contexts = sim.contexts(5000, rng)
    shown = []
    for i in range(5000):
        context = {"segment": contexts["segment"][i], "age": contexts["age"][i]}
        action, _ = policy.choose(context, rng)
        p = float(sim.click_probability({k: np.asarray([v]) for k, v in context.items()}, [action])[0])
        shown.append(p)
        policy.update(context, action, float(rng.random() < p))
    out["online"] = {
        "steps": 5000,
        "expected_ctr_first_500": float(np.mean(shown[:500])),
        "expected_ctr_last_1000": float(np.mean(shown[-1000:])),
        "final_policy_value": sim.true_value(policy),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--sim-rows", default="2000,20000")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    data = args.data or find_data()
    sizes = [int(s) for s in args.sim_rows.split(",") if s]
    rows = real(data, args.bootstrap)

    def cell(row: dict[str, Any], name: str) -> str:
        e, lift = row["learned"][name], row["lift"].get(name)
        text = f"{e['value']:.4f} [{e['low']:.4f}, {e['high']:.4f}]"
        return text + (f" {lift['value']:+.0%} [{lift['low']:+.0%}, {lift['high']:+.0%}]" if lift else "")

    print_table(
        "Open Bandit: learned on days 1-5, estimated on days 6-7",
        ["log", "learner", "logged CTR [95%]", "SNIPW [95%] lift [95%]", "DR [95%] lift [95%]", "ESS"],
        [
            [
                r["log"],
                r["learner"],
                f"{r['logging']['value']:.4f} [{r['logging']['low']:.4f}, {r['logging']['high']:.4f}]",
                cell(r, "snipw"),
                cell(r, "dr"),
                round(r["ess"]),
            ]
            for r in rows
        ],
    )
    sim = simulated(sizes)
    print_table(
        f"Simulator: true CTR (uniform {sim['uniform']:.4f}, oracle {sim['oracle']:.4f})",
        ["rows", "learner", "true CTR", "share of uniform->oracle gap"],
        [
            [r["rows"], r["learner"], round(r["value"], 4), round(r["share_of_gap"], 3)]
            for r in sim["offline"]
        ],
    )
    print("online Thompson sampling:", sim["online"])
    write_results(
        "creative_learn",
        {"bootstrap": args.bootstrap, "holdout_days": 2, "sim_rows": sizes, "estimators": ["snipw", "dr"]},
        {"open_bandit": rows, "simulator": sim},
    )


if __name__ == "__main__":
    main()
