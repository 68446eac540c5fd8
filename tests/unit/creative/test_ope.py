"""Off-policy estimators against hand-computed values on tiny logs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from shopfuse.creative.logs import BanditLog
from shopfuse.creative.ope import (
    RewardModel,
    effective_sample_size,
    estimator_names,
    evaluate,
    get_estimator,
)
from shopfuse.creative.policy import TablePolicy, UniformPolicy
from shopfuse.errors import ConfigError


def tiny_log() -> BanditLog:
    """Five rows, actions a/b; the target below plays a with 0.8 and b with 0.2 everywhere.

    row action reward propensity  w = pi(action) / propensity
    1   a      1      0.5         0.8 / 0.5  = 1.6
    2   b      0      0.5         0.2 / 0.5  = 0.4
    3   a      0      0.25        0.8 / 0.25 = 3.2
    4   b      1      0.75        0.2 / 0.75 = 4/15 (0.26667)
    5   a      1      0.8         0.8 / 0.8  = 1.0
    """
    return BanditLog(
        action=np.asarray(["a", "b", "a", "b", "a"], dtype=object),
        reward=np.asarray([1.0, 0.0, 0.0, 1.0, 1.0]),
        propensity=np.asarray([0.5, 0.5, 0.25, 0.75, 0.8]),
    )


TARGET = TablePolicy(["a", "b"], {"*": {"a": 0.8, "b": 0.2}})
WEIGHTS = np.asarray([1.6, 0.4, 3.2, 4 / 15, 1.0])


class FixedQ(RewardModel):
    """A reward model that knows ``q`` per action (whatever the context)."""

    def __init__(self, actions: Sequence[str], q: dict[str, float]) -> None:
        super().__init__(actions)
        self.q = np.asarray([q[a] for a in self.actions])

    def fit(self, log: BanditLog) -> FixedQ:
        return self

    def predict_all(self, log: BanditLog) -> np.ndarray:
        return np.tile(self.q, (len(log), 1))


def fixed(q: dict[str, float]) -> object:
    return lambda actions: FixedQ(actions, q)


def test_ipw_snipw_ess_by_hand() -> None:
    report = evaluate(tiny_log(), TARGET, estimators=("ipw", "snipw"), bootstrap=0)
    # sum w r = 1.6 + 0 + 0 + 4/15 + 1.0 = 2.866667 ; IPW = 2.866667 / 5
    assert report.estimates["ipw"].value == pytest.approx((1.6 + 4 / 15 + 1.0) / 5)
    assert report.estimates["ipw"].value == pytest.approx(0.5733333, abs=1e-6)
    # sum w = 1.6 + 0.4 + 3.2 + 4/15 + 1.0 = 6.466667 ; SNIPW = 2.866667 / 6.466667 = 0.443299
    assert report.estimates["snipw"].value == pytest.approx(0.4432990, abs=1e-6)
    # ESS = (sum w)^2 / sum w^2 = 6.466667^2 / (2.56 + 0.16 + 10.24 + 16/225 + 1) = 41.81778 / 14.03111
    assert report.ess == pytest.approx(2.980363, abs=1e-5)
    assert effective_sample_size(WEIGHTS) == pytest.approx(report.ess)
    assert effective_sample_size(np.ones(7)) == pytest.approx(7.0)
    assert report.logged_value == pytest.approx(0.6)  # 3 clicks in 5 rows
    assert report.support["weight_mean"] == pytest.approx(WEIGHTS.mean())


def test_clipped_weights_by_hand() -> None:
    report = evaluate(tiny_log(), TARGET, estimators=("ipw", "snipw"), bootstrap=0, clip=2.0)
    # weights 1.6, 0.4, min(3.2, 2) = 2, 4/15, 1.0; row 3 has no click, so IPW is unchanged
    assert report.estimates["ipw"].value == pytest.approx(0.5733333, abs=1e-6)
    # SNIPW = 2.866667 / (1.6 + 0.4 + 2 + 4/15 + 1.0 = 5.266667) = 0.544304
    assert report.estimates["snipw"].value == pytest.approx(0.5443038, abs=1e-6)
    assert report.support["clipped_rows"] == 1
    assert report.support["weight_max"] == pytest.approx(3.2)  # the largest weight before clipping
    with pytest.raises(ConfigError, match="clip must be > 0"):
        evaluate(tiny_log(), TARGET, clip=0.0)


def test_dm_and_dr_by_hand() -> None:
    q = {"a": 0.6, "b": 0.3}
    report = evaluate(tiny_log(), TARGET, estimators=("dm", "dr"), bootstrap=0, reward_model=fixed(q))
    # DM: every row sum_a pi(a) q(a) = 0.8 * 0.6 + 0.2 * 0.3 = 0.54
    assert report.estimates["dm"].value == pytest.approx(0.54)
    # DR = 0.54 + mean(w (r - q(logged))):
    #   1.6 (1 - 0.6) = 0.64; 0.4 (0 - 0.3) = -0.12; 3.2 (0 - 0.6) = -1.92; 4/15 (1 - 0.3) = 0.186667;
    #   1.0 (1 - 0.6) = 0.4; sum = -0.813333, mean = -0.162667; DR = 0.377333
    assert report.estimates["dr"].value == pytest.approx(0.3773333, abs=1e-6)


def test_dr_equals_ipw_when_q_is_zero() -> None:
    report = evaluate(
        tiny_log(), TARGET, estimators=("ipw", "dr"), bootstrap=50, reward_model=fixed({"a": 0.0, "b": 0.0})
    )
    assert report.estimates["dr"].value == pytest.approx(report.estimates["ipw"].value)
    # same resamples (same seed): the intervals agree too
    assert report.estimates["dr"].low == pytest.approx(report.estimates["ipw"].low)
    assert report.estimates["dr"].high == pytest.approx(report.estimates["ipw"].high)


def test_snipw_equals_ipw_when_weights_average_one() -> None:
    # logger: a/b with 0.5 each; target per segment: x -> (0.25, 0.75), y -> (0.75, 0.25)
    # weights: (x,a) 0.5, (y,a) 1.5, (x,b) 1.5, (y,b) 0.5 -> mean 1
    log = BanditLog(
        action=np.asarray(["a", "a", "b", "b"], dtype=object),
        reward=np.asarray([1.0, 0.0, 1.0, 1.0]),
        propensity=np.full(4, 0.5),
        context={"seg": np.asarray(["x", "y", "x", "y"], dtype=object)},
    )
    target = TablePolicy(["a", "b"], {"x": {"a": 0.25, "b": 0.75}, "y": {"a": 0.75, "b": 0.25}}, "seg")
    report = evaluate(log, target, estimators=("ipw", "snipw"), bootstrap=0)
    # IPW = (0.5 + 0 + 1.5 + 0.5) / 4 = 0.625 = SNIPW (sum w = 4)
    assert report.estimates["ipw"].value == pytest.approx(0.625)
    assert report.estimates["snipw"].value == pytest.approx(0.625)
    assert report.support["weight_mean"] == pytest.approx(1.0)


def test_dm_exact_when_q_is_the_truth() -> None:
    """With the true click probabilities as q, DM does not look at the rewards at all and only the
    sampling of contexts separates it from the exact value."""
    from shopfuse.creative.simulate import Simulator

    sim = Simulator.from_catalogue(n_actions=6, seed=3)

    class TrueQ(RewardModel):
        def fit(self, log: BanditLog) -> TrueQ:
            return self

        def predict_all(self, log: BanditLog) -> np.ndarray:
            return sim.click_probability(log.context)[:, [sim.actions.index(a) for a in self.actions]]

    target = TablePolicy(sim.actions, {"*": dict.fromkeys(sim.actions[:3], 1 / 3)})
    log = sim.log(UniformPolicy(sim.actions), 20_000, np.random.default_rng(0))
    # the DM value by hand: mean over rows of sum_a pi(a|x) p(x, a)
    by_hand = (sim.click_probability(log.context)[:, :3] / 3).sum(axis=1).mean()
    report = evaluate(log, target, estimators=("dm",), bootstrap=0, reward_model=TrueQ)
    assert report.estimates["dm"].value == pytest.approx(by_hand)
    assert report.estimates["dm"].value == pytest.approx(sim.true_value(target), rel=0.02)
    flipped = log.take(np.arange(len(log)))
    flipped.reward = 1.0 - flipped.reward
    again = evaluate(flipped, target, estimators=("dm",), bootstrap=0, reward_model=TrueQ)
    assert again.estimates["dm"].value == pytest.approx(report.estimates["dm"].value)


def test_bootstrap_interval_brackets_the_value() -> None:
    report = evaluate(tiny_log(), TARGET, estimators=("ipw", "snipw"), bootstrap=200, seed=1)
    for est in report.estimates.values():
        assert est.low <= est.value <= est.high
        assert est.low < est.high
    data = report.to_dict()
    assert set(data["estimates"]) == {"ipw", "snipw"}
    assert data["estimates"]["ipw"]["value"] == pytest.approx(report.estimates["ipw"].value)


def test_refuses_weight_on_an_action_never_logged() -> None:
    target = TablePolicy(["a", "b", "c"], {"*": {"a": 0.5, "b": 0.2, "c": 0.3}})
    with pytest.raises(ConfigError, match=r"0\.300 of its mass.*never logged: c \(0\.300\)"):
        evaluate(tiny_log(), target, bootstrap=0)
    report = evaluate(
        tiny_log(),
        target,
        bootstrap=0,
        allow_unsupported_dm=True,
        reward_model=fixed({"a": 0.6, "b": 0.3, "c": 0.1}),
    )
    assert set(report.estimates) == {"dm"}
    assert set(report.skipped) == {"ipw", "snipw", "dr"}
    # DM = 0.5 * 0.6 + 0.2 * 0.3 + 0.3 * 0.1 = 0.39
    assert report.estimates["dm"].value == pytest.approx(0.39)
    assert report.support["unlogged_actions"] == {"c": pytest.approx(0.3)}
    with pytest.raises(ConfigError, match="direct method"):
        evaluate(tiny_log(), target, estimators=("ipw",), allow_unsupported_dm=True)


def test_refuses_an_action_never_logged_at_that_position() -> None:
    log = tiny_log()
    log.position = np.asarray([1, 1, 2, 1, 2])  # b is never shown at position 2
    with pytest.raises(ConfigError, match=r"action@position never logged: b@2"):
        evaluate(log, TARGET, bootstrap=0)


def test_estimator_names_and_errors() -> None:
    assert {"ipw", "snipw", "dm", "dr"} <= set(estimator_names())
    assert get_estimator("IPS").name == "ipw"
    assert get_estimator("snips").name == "snipw"
    with pytest.raises(ConfigError, match=r"unknown estimator 'magic'; choose from: dm, dr, ipw, snipw"):
        evaluate(tiny_log(), TARGET, estimators=("ipw", "magic"))


def test_an_estimator_registered_elsewhere_is_found_by_name() -> None:
    from shopfuse.creative.ope import Estimator
    from shopfuse.registry import registry

    def terms(t: object) -> tuple[np.ndarray, None]:
        return t.reward, None  # type: ignore[attr-defined]

    logged = Estimator("logged_mean", terms, uses_weights=False)
    registry.register("ope_estimator", "logged_mean")(lambda: logged)
    try:
        assert "logged_mean" in estimator_names()
        report = evaluate(tiny_log(), TARGET, estimators=("logged_mean", "ipw"), bootstrap=0)
        assert report.estimates["logged_mean"].value == pytest.approx(0.6)  # 3 clicks / 5 rows
    finally:
        registry.unregister("ope_estimator", "logged_mean")
    with pytest.raises(ConfigError, match="unknown estimator"):
        get_estimator("logged_mean")


def test_bad_policy_probabilities_are_named() -> None:
    class Broken(UniformPolicy):
        def probabilities(self, log: BanditLog) -> np.ndarray:
            probs = super().probabilities(log)
            probs[3] = [0.9, 0.9]
            return probs

    with pytest.raises(ConfigError, match="log row 4 are not a distribution"):
        evaluate(tiny_log(), Broken(["a", "b"]))


def test_reward_model_predict_all_matches_predict() -> None:
    """The fast all-actions scoring equals scoring each row's action through the design matrix."""
    from shopfuse.creative.simulate import Simulator

    sim = Simulator.from_catalogue(n_actions=5, seed=1)
    log = sim.log(UniformPolicy(sim.actions), 3000, np.random.default_rng(2))
    log.position = np.random.default_rng(3).integers(1, 4, size=len(log))
    model = RewardModel(sim.actions, action_table=sim.action_table(), c=1.0).fit(log)
    q_all = model.predict_all(log)
    rows = np.arange(len(log))
    for j, action in enumerate(sim.actions):
        each = model.predict(log, np.full(len(log), action, dtype=object))
        np.testing.assert_allclose(each, q_all[rows, j])
    # it learns something: the predicted click rates follow the hidden ones
    truth = sim.click_probability(log.context)
    assert np.corrcoef(q_all.ravel(), truth.ravel())[0, 1] > 0.5
