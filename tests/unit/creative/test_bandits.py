"""Bandit policies: saving, probabilities, choosing, learning (on the simulator), warm starts, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse.creative.bandits import LinearTSPolicy, LinUCBPolicy, ThompsonPolicy, fit
from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.creative.policy import UniformPolicy, load_policy, save_policy
from shopfuse.creative.simulate import Simulator
from shopfuse.errors import ConfigError

KINDS: list[tuple[str, dict[str, Any]]] = [
    ("thompson", {"segment": "segment"}),
    ("linucb", {"context": ["segment", "age"]}),
    ("lin_ts", {"context": ["segment", "age"]}),
    ("lin_ts", {"context": ["segment", "age"], "mode": "disjoint", "draws": 200}),
]


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator.from_catalogue(n_actions=10, seed=0)


@pytest.fixture(scope="module")
def uniform_log(sim: Simulator) -> BanditLog:
    return sim.log(UniformPolicy(sim.actions), 20_000, np.random.default_rng(1))


def first_context(log: BanditLog, row: int = 0) -> dict[str, Any]:
    return {k: v[row] for k, v in log.context.items()}


@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_round_trip_probabilities_and_choose(
    kind: str, options: dict[str, Any], sim: Simulator, uniform_log: BanditLog, tmp_path: Path
) -> None:
    policy = fit(uniform_log.take(np.arange(4000)), sim.action_table(), kind=kind, **options)
    sample = uniform_log.take(np.arange(4000, 4300))
    probs = policy.probabilities(sample)
    assert probs.shape == (300, len(sim.actions))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert (probs >= 0).all()
    save_policy(policy, tmp_path / "p.json")
    loaded = load_policy(tmp_path / "p.json")
    assert type(loaded) is type(policy) and loaded.actions == policy.actions
    np.testing.assert_allclose(loaded.probabilities(sample), probs, atol=1e-12)
    # the propensity choose returns is the probability of that action in that context
    rng = np.random.default_rng(3)
    for row in range(5):
        context = first_context(sample, row)
        action, propensity = policy.choose(context, rng)
        assert propensity == pytest.approx(probs[row, policy.actions.index(action)], abs=1e-12)
        assert propensity > 0
    # restricted to candidates: the draw is among them, with the restricted distribution's probability
    candidates = policy.actions[:3]
    for _ in range(5):
        action, propensity = policy.choose(first_context(sample), rng, candidates=candidates)
        assert action in candidates and 0 < propensity <= 1


@pytest.mark.parametrize(("kind", "options"), KINDS[:3])
def test_learners_recover_the_hidden_preference(
    kind: str, options: dict[str, Any], sim: Simulator, uniform_log: BanditLog
) -> None:
    uniform, best = sim.true_value(UniformPolicy(sim.actions)), sim.best_value()
    assert best > 2 * uniform  # the simulator leaves something to learn
    learned = sim.true_value(fit(uniform_log, sim.action_table(), kind=kind, **options))
    assert learned > uniform + 0.8 * (best - uniform), (learned, uniform, best)


def test_thompson_online_converges(sim: Simulator) -> None:
    rng = np.random.default_rng(2)
    policy = ThompsonPolicy(sim.actions, segment="segment", prior_mean=0.03)
    contexts = sim.contexts(4000, rng)
    shown = []
    for i in range(4000):
        context = {"segment": contexts["segment"][i], "age": contexts["age"][i]}
        action, _ = policy.choose(context, rng)
        p = sim.click_probability({k: np.asarray([v]) for k, v in context.items()}, [action])[0]
        shown.append(p)
        policy.update(context, action, float(rng.random() < p))
    uniform, best = sim.true_value(UniformPolicy(sim.actions)), sim.best_value()
    assert np.mean(shown[-1000:]) > np.mean(shown[:500])
    assert sim.true_value(policy) > uniform + 0.7 * (best - uniform)


def test_update_changes_the_posterior(uniform_log: BanditLog, sim: Simulator) -> None:
    context = first_context(uniform_log)
    ts = ThompsonPolicy(sim.actions, segment="segment")
    alpha, beta = ts.posterior(str(context["segment"]))
    ts.update(context, sim.actions[0], 1.0)
    after_alpha, after_beta = ts.posterior(str(context["segment"]))
    assert after_alpha[0] == alpha[0] + 1 and after_beta[0] == beta[0]
    assert ts.shows["*"][0] == 1 and ts.clicks["*"][0] == 1
    lin = fit(uniform_log.take(np.arange(500)), sim.action_table(), kind="linucb", context=["segment", "age"])
    assert isinstance(lin, LinUCBPolicy)
    before = lin.scores(context)[sim.actions[0]]
    for _ in range(20):
        lin.update(context, sim.actions[0], 1.0)
    after = lin.scores(context)[sim.actions[0]]
    assert after["mean"] > before["mean"] and after["std"] < before["std"]
    # the rank-one updates agree with refitting from scratch
    np.testing.assert_allclose(lin.A_inv, np.linalg.inv(lin.A), rtol=1e-6, atol=1e-9)


def similar_actions() -> tuple[ActionTable, BanditLog]:
    """a and b look alike and get clicked 20% of the time; c looks different and gets 1%."""
    features = np.array([[1.0, 0.0, 0.1], [0.95, 0.05, 0.0], [0.0, 1.0, 0.0], [0.97, 0.02, 0.05]])
    table = ActionTable(["a", "b", "c", "new"], features, ["f0", "f1", "f2"], [None] * 4)
    rng = np.random.default_rng(0)
    action = np.asarray(["a", "b", "c"] * 1000, dtype=object)
    rate = {"a": 0.2, "b": 0.2, "c": 0.01}
    reward = np.asarray([float(rng.random() < rate[a]) for a in action])
    log = BanditLog(action=action, reward=reward, propensity=np.full(3000, 1 / 3))
    return table, log


def test_a_new_creative_starts_from_similar_ones() -> None:
    table, log = similar_actions()
    policy = fit(log, table, kind="thompson", warm_strength=50.0)
    assert isinstance(policy, ThompsonPolicy)
    estimates = policy.estimates()
    assert estimates["new"]["impressions"] == 0 and "new" in policy.warm
    near = (estimates["a"]["mean"] + estimates["b"]["mean"]) / 2
    assert abs(estimates["new"]["mean"] - near) < 0.02
    assert abs(estimates["new"]["mean"] - estimates["c"]["mean"]) > 0.1
    assert policy.alpha0[3] + policy.beta0[3] == pytest.approx(50.0)  # capped prior strength
    # one added online, like c, starts near c
    policy.add_action("new_c", [0.0, 0.98, 0.01])
    assert abs(policy.estimates()["new_c"]["mean"] - estimates["c"]["mean"]) < 0.01
    # without features there is nothing to warm-start from: the base prior (the log's mean click)
    plain = fit(log, ["a", "b", "c", "new"], kind="thompson")
    assert plain.estimates()["new"]["mean"] == pytest.approx(float(log.reward.mean()), abs=1e-3)


def test_bad_input_is_named(uniform_log: BanditLog, sim: Simulator) -> None:
    ts = fit(uniform_log.take(np.arange(500)), None, kind="thompson", segment="segment")
    with pytest.raises(ConfigError, match="unknown action 'nope'"):
        ts.update(first_context(uniform_log), "nope", 1.0)
    with pytest.raises(ConfigError, match="reward must be a number in"):
        ts.update(first_context(uniform_log), sim.actions[0], 2.0)
    with pytest.raises(ConfigError, match="context lacks column 'segment'"):
        ts.choose({"age": 30.0}, np.random.default_rng(0))
    lin = fit(uniform_log.take(np.arange(500)), sim.action_table(), kind="lin_ts", context=["segment", "age"])
    assert isinstance(lin, LinearTSPolicy)
    with pytest.raises(ConfigError, match=r"context lacks column.*age"):
        lin.choose({"segment": "s1"}, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="'age' must be a number"):
        lin.choose({"segment": "s1", "age": "old"}, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown candidate"):
        lin.choose(first_context(uniform_log), np.random.default_rng(0), candidates=["zzz"])
    with pytest.raises(ConfigError, match="missing from the action table: zzz"):
        fit(BanditLog(np.asarray(["zzz"], dtype=object), np.zeros(1), np.ones(1)), sim.action_table())
    with pytest.raises(ConfigError, match="unknown policy kind"):
        fit(uniform_log, None, kind="greedy")
    no_segment = uniform_log.take(np.arange(10))
    no_segment.context = {"age": no_segment.context["age"]}
    with pytest.raises(ConfigError, match="reads context column 'segment'"):
        ts.probabilities(no_segment)
