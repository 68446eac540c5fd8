"""The simulator (real catalogue products, hidden preferences) and the estimators' coverage on it."""

from __future__ import annotations

import numpy as np
import pytest

from shopfuse.creative.ope import RewardModel, evaluate
from shopfuse.creative.policy import TablePolicy, UniformPolicy
from shopfuse.creative.simulate import ATTRIBUTES, Simulator
from shopfuse.errors import ConfigError


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator.from_catalogue(n_actions=8, seed=0)


def target_policy(sim: Simulator) -> TablePolicy:
    """Half on each segment's best product (at age 30), half uniform."""
    n = len(sim.actions)
    best = sim.best_actions()
    table = {}
    for s in sim.segments:
        row = {a: 0.5 / n for a in sim.actions}
        row[best[(s, 30.0)]] += 0.5
        table[s] = row
    return TablePolicy(sim.actions, table, context="segment")


def test_real_products_and_determinism(sim: Simulator) -> None:
    again = Simulator.from_catalogue(n_actions=8, seed=0)
    assert again.actions == sim.actions
    assert len(set(p["articleType"] for p in sim.products)) == 8  # one product per article type
    assert all(p["id"].isdigit() for p in sim.products)
    log1 = sim.log(UniformPolicy(sim.actions), 500, np.random.default_rng(5))
    log2 = again.log(UniformPolicy(sim.actions), 500, np.random.default_rng(5))
    assert (log1.action == log2.action).all() and (log1.reward == log2.reward).all()
    other = Simulator.from_catalogue(n_actions=8, seed=1)
    assert other.actions != sim.actions


def test_base_rate_and_exact_values(sim: Simulator) -> None:
    uniform = UniformPolicy(sim.actions)
    assert sim.true_value(uniform) == pytest.approx(0.03, abs=1e-9)  # calibrated like a real CTR
    assert sim.best_value() > sim.true_value(target_policy(sim)) > sim.true_value(uniform)
    p = sim.click_probability(sim.contexts(100, np.random.default_rng(0)))
    assert p.shape == (100, 8) and (p > 0).all() and (p < 1).all()
    # a log's click rate agrees with the exact value (within 4 standard errors)
    log = sim.log(target_policy(sim), 40_000, np.random.default_rng(1))
    truth = sim.true_value(target_policy(sim))
    assert abs(log.reward.mean() - truth) < 4 * np.sqrt(truth * (1 - truth) / len(log))


def test_log_has_exact_propensities(sim: Simulator) -> None:
    target = target_policy(sim)
    log = sim.log(target, 2000, np.random.default_rng(2))
    probs = target.probabilities(log)
    chosen = [target.actions.index(a) for a in log.action]
    np.testing.assert_allclose(log.propensity, probs[np.arange(len(log)), chosen])
    assert log.timestamp is not None and (np.diff(log.timestamp.astype(np.int64)) >= 0).all()
    assert set(log.context) == {"segment", "age"}
    vector = sim.log(np.full(8, 1 / 8), 100, np.random.default_rng(0))
    np.testing.assert_allclose(vector.propensity, 1 / 8)
    with pytest.raises(ConfigError, match="8 numbers"):
        sim.log(np.ones(3) / 3, 10, np.random.default_rng(0))


def test_action_table_shows_attributes_not_preferences(sim: Simulator) -> None:
    table = sim.action_table()
    assert table.ids == sim.actions
    assert {name.split("=")[0] for name in table.feature_names} == set(ATTRIBUTES)
    assert table.features.shape == (8, len(table.feature_names))
    assert (table.features.sum(axis=1) == len(ATTRIBUTES)).all()


def test_estimators_cover_the_truth(sim: Simulator) -> None:
    """100 logs of 2,000 rows from a uniform logger: the 95% intervals of IPW, SNIPW and DR hold the
    exact value of a different target about 95% of the time (0.88 is 3 binomial standard deviations
    below 0.95); the naive logged mean (which ignores the change of policy) almost never does, so
    this test can fail."""
    target = target_policy(sim)
    truth = sim.true_value(target)
    logger = UniformPolicy(sim.actions)
    hits = {"ipw": 0, "snipw": 0, "dr": 0, "naive": 0}
    errors = {"ipw": [], "snipw": [], "dr": []}  # type: dict[str, list[float]]
    logs = 100
    for k in range(logs):
        log = sim.log(logger, 2000, np.random.default_rng(100 + k))
        report = evaluate(
            log,
            target,
            estimators=("ipw", "snipw", "dr"),
            bootstrap=200,
            seed=k,
            folds=3,
            reward_model=lambda actions: RewardModel(actions, c=1.0),
        )
        for name, est in report.estimates.items():
            hits[name] += est.low <= truth <= est.high
            errors[name].append(est.value - truth)
        mean = log.reward.mean()
        half = 1.96 * np.sqrt(mean * (1 - mean) / len(log))
        hits["naive"] += mean - half <= truth <= mean + half
    for name in ("ipw", "snipw", "dr"):
        assert 0.88 <= hits[name] / logs <= 1.0, (name, hits)
        # unbiased: the mean error is within 3 standard errors of 0
        err = np.asarray(errors[name])
        assert abs(err.mean()) < 3 * err.std() / np.sqrt(logs), (name, err.mean())
    assert hits["naive"] / logs < 0.88, hits
