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
from tests.helpers.outfits import outfit_log

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
    # one event on a shoe; nobody ever bought shoes (rows 20-29), so only content can reach them,
    # and for a shoe lover they come before the bestseller i0
    first = top_k(hybrid.scores({22: 1.0}), 3, exclude={22})
    assert all(20 <= r < 30 for r in first), first
    recs = Recommendations.fit(items, log, k=5)
    served = recs.for_user("new", k=3, extra=[Event("new", "i22", 20 * DAY)])
    assert [h["cold"] for h in served] == [True] * 3
    assert all(items.categories[items.index[h["id"]]] == items.categories[22] for h in served)


def test_itemknn_finds_what_is_bought_next_and_never_sees_the_future() -> None:
    """Who bought an outfit's top buys the rest next: item-kNN must find it, popularity cannot."""
    ids = [f"0{706016001 + i}" for i in range(100)]  # ids with a leading zero, as H&M's
    vectors = l2_normalize(np.random.default_rng(0).normal(size=(100, 16))).astype(np.float32)
    items = ItemSpace(ids, vectors, "image", [{}] * 100, [None] * 100, [None] * 100)
    outfits = [ids[i : i + 3] for i in range(0, 60, 3)]
    train, test = outfit_log(outfits, ids[60:63], train_users=150, test_users=40)
    wanted: dict[str, set[str]] = {}
    for event in test:
        wanted.setdefault(event.user_id, set()).add(event.item_id)
    asked_at = {e.user_id: e.timestamp for e in test}

    def recall(recs: Recommendations, method: str) -> float:
        found = [
            len(targets & {h["id"] for h in recs.for_user(user, k=12, method=method, now=asked_at[user])})
            / len(targets)
            for user, targets in wanted.items()
        ]
        return float(np.mean(found))

    split = Recommendations.fit(items, Interactions(train), k=12)
    assert recall(split, "itemknn") >= 0.9
    assert recall(split, "hybrid") >= 0.9
    assert recall(split, "popularity") < 0.4
    # the log also holds the test purchases: asked at the time of the test day, they are not history
    everything = Recommendations.fit(items, Interactions([*train, *test]), k=12)
    assert recall(everything, "itemknn") >= 0.9


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
