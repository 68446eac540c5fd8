"""Recommenders on a small synthetic space whose right answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from shopfuse.encoders.base import l2_normalize
from shopfuse.recommend import (
    ComplementModel,
    ContentRecommender,
    Event,
    HybridRecommender,
    Interactions,
    ItemKNNRecommender,
    ItemSpace,
    PopularityRecommender,
    Recommendations,
)
from shopfuse.recommend.evaluate import recommendation_metrics
from shopfuse.recommend.methods import top_k

DAY = 86_400.0


def space(seed: int = 0) -> ItemSpace:
    """Three content clusters (tops, trousers, shoes) of 10 items each; two items per product code."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(3, 16)))
    vectors = l2_normalize(np.repeat(centres, 10, axis=0) + 0.15 * rng.normal(size=(30, 16)))
    kinds = ["top", "trousers", "shoes"]
    attributes = [{"type": kinds[i // 10], "product_code": f"c{i // 2}"} for i in range(30)]
    result = ItemSpace(
        ids=[f"i{i}" for i in range(30)],
        vectors=vectors.astype(np.float32),
        column="image",
        attributes=attributes,
        titles=[None] * 30,
        images=[None] * 30,
    )
    result.learn_categories(3)
    return result


def shoppers() -> Interactions:
    """Users buy a top and, the same day, trousers; everyone buys i0 a lot (popular)."""
    events = []
    for u in range(12):
        events.append(Event(f"u{u}", f"i{u % 5}", u * DAY))
        events.append(Event(f"u{u}", f"i{10 + u % 5}", u * DAY + 60))
        events.append(Event(f"u{u}", "i0", u * DAY + 120))
    return Interactions(events)


def test_popularity_itemknn_and_content_score_what_they_should() -> None:
    items, log = space(), shoppers()
    pop = PopularityRecommender(window_days=1000)
    pop.fit(log, items)
    assert top_k(pop.scores({}), 1) == [0]
    knn = ItemKNNRecommender()
    knn.fit(log, items)
    bought_with_i1 = top_k(knn.scores({1: 1.0}), 3, exclude={1})
    assert 11 in bought_with_i1  # i1 and i11 were bought by the same users
    content = ContentRecommender()
    content.fit(log, items)
    near = top_k(content.scores({25: 1.0}), 5, exclude={25})
    assert all(20 <= r < 30 for r in near)  # a shoe lover gets shoes, none bought by anyone (cold)


def test_hybrid_tunes_weights_and_serves_new_users_and_cold_items() -> None:
    items, log = space(), shoppers()
    hybrid = HybridRecommender(k=5)
    hybrid.fit(log, items)
    assert set(hybrid.chosen) == {"itemknn", "content", "popularity"} and any(hybrid.chosen.values())
    scores = hybrid.scores({22: 1.0})  # one event on an item nobody else bought
    assert np.isfinite(scores).all() and scores.max() > 0


def test_recommendations_similar_excludes_variants_and_complements_cross_category() -> None:
    items, log = space(), shoppers()
    recs = Recommendations.fit(items, log, k=5)
    plain = [h["id"] for h in recs.similar("i2", k=5)]
    assert "i3" in plain  # i2 and i3 share product code c1 and a cluster
    without = [h["id"] for h in recs.similar("i2", k=5, exclude_variants=True)]
    assert "i3" not in without and "i2" not in without
    looks = recs.complements("i1", k=5)
    seed_category = items.categories[1]
    assert looks and all(items.categories[items.index[h["id"]]] != seed_category for h in looks)
    assert any(10 <= items.index[h["id"]] < 20 for h in looks)  # trousers go with tops
    new_user = recs.for_user("nobody", k=3)
    assert new_user[0]["id"] == "i0"  # no history: popular first
    assert recs.for_user("u1", k=3, extra=[Event("u1", "i25", 20 * DAY)])


def test_profile_and_segments() -> None:
    items, log = space(), shoppers()
    recs = Recommendations.fit(items, log)
    profile = recs.profile("u3")
    assert profile.interests["type"]["top"] == pytest.approx(2 / 3, abs=0.05)
    assert profile.vector is not None and np.isclose(np.linalg.norm(profile.vector), 1.0)
    _, segments, labels = recs.segments(2)
    assert len(segments) == 2 and sum(len(s.users) for s in segments) == 12 and len(labels) == 12


def test_metrics_match_hand_computed_values() -> None:
    relevant = {"a": {"x", "y"}, "b": {"z"}}
    ranked = {"a": ["x", "q", "y"], "b": ["q", "w", "e"]}
    metrics = recommendation_metrics(relevant, ranked, 3)
    assert metrics["recall@3"] == pytest.approx(0.5)  # a: 2/2, b: 0
    assert metrics["hit_rate@3"] == pytest.approx(0.5)
    assert metrics["map@3"] == pytest.approx((1 + 2 / 3) / 2 / 2)


def test_complement_model_needs_fitting() -> None:
    with pytest.raises(Exception, match="not fitted"):
        ComplementModel().scores(0)
