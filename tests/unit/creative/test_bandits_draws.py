"""Thompson sampling's cached Monte Carlo: updates redraw one action, and agree with a fresh policy."""

from __future__ import annotations

import numpy as np

from shopfuse.creative._online import argmax_share
from shopfuse.creative.bandits import SAMPLED_SEGMENTS, ThompsonPolicy
from shopfuse.creative.serving import one_row_log

ACTIONS = ["a", "b", "c", "d"]


def test_argmax_share_splits_ties_and_skips_masked_actions() -> None:
    samples = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0], [3.0, -np.inf, 0.0], [0.0, 5.0, 0.0]])
    assert argmax_share(samples).tolist() == [0.375, 0.625, 0.0]
    assert argmax_share(samples[1:]).tolist() == [1 / 3, 2 / 3, 0.0]


def test_updates_give_what_a_fresh_policy_computes() -> None:
    policy = ThompsonPolicy(ACTIONS, segment="s", draws=500, seed=3)
    rng = np.random.default_rng(0)
    for i in range(200):
        context = {"s": i % 3}
        action, propensity = policy.choose(context, rng)
        log = one_row_log(context, action)
        assert propensity == policy.probabilities(log)[0, ACTIONS.index(action)]
        policy.update(context, action, float(action == "c" and i % 2 == 0))
    fresh = ThompsonPolicy.from_dict(policy.to_dict())
    for key in ("0", "1", "2", "*", "unseen"):
        assert np.array_equal(policy.segment_probabilities(key), fresh.segment_probabilities(key))
    mask = np.array([True, True, False, True])
    assert np.array_equal(policy.segment_probabilities("1", mask), fresh.segment_probabilities("1", mask))
    assert policy.segment_probabilities("1", mask)[2] == 0.0
    assert policy.segment_probabilities("0").argmax() == ACTIONS.index("c")


def test_draws_are_kept_for_the_segments_used_last() -> None:
    policy = ThompsonPolicy(ACTIONS, segment="s", draws=10)
    for i in range(SAMPLED_SEGMENTS + 5):
        policy.update({"s": i}, "a", 1.0)
        policy.segment_probabilities(str(i))
    assert len(policy._samples) == SAMPLED_SEGMENTS
    assert str(SAMPLED_SEGMENTS + 4) in policy._samples and "0" not in policy._samples
