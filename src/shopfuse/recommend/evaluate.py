"""The recommendation evaluation contract: every method and baseline on one time split, one run.

Each test user gets ``k`` recommendations from their training history, made at the time of
their first test event (events after it are never seen; a user without history gets what was
popular then). Relevant = the items in the user's test events.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from shopfuse.errors import ConfigError
from shopfuse.optional import require
from shopfuse.recommend.engine import METHODS, Recommendations, fill_predicted_attributes
from shopfuse.recommend.interactions import Interactions
from shopfuse.recommend.methods import top_k
from shopfuse.recommend.space import ItemSpace

if TYPE_CHECKING:
    from shopfuse.context import Context

__all__ = ["paired_interval", "recommendation_metrics", "score_recommendations"]


def recommendation_metrics(
    relevant: dict[str, set[str]], ranked: dict[str, list[str]], k: int
) -> dict[str, float]:
    """Recall@k, MAP@k, nDCG@k and HitRate@k (ranx) over users with at least one relevant item."""
    ranx = require("ranx", "ranx", "eval", "recommendation metrics")
    users = [u for u, items in relevant.items() if items]
    if not users:
        raise ConfigError("no test user has an item to predict")
    qrels = {u: dict.fromkeys(relevant[u], 1) for u in users}
    run = {
        u: {item: float(len(ranked.get(u, [])) - i) for i, item in enumerate(ranked.get(u, [])[:k])}
        for u in users
    }
    names = {"recall": f"recall@{k}", "map": f"map@{k}", "ndcg": f"ndcg@{k}", "hit_rate": f"hit_rate@{k}"}
    if not any(run.values()):
        return {f"{label}@{k}": 0.0 for label in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), list(names.values()), make_comparable=True)
    return {f"{label}@{k}": round(float(scores[metric]), 6) for label, metric in names.items()}


def paired_interval(a: np.ndarray, b: np.ndarray, *, draws: int = 2000, seed: int = 0) -> list[float]:
    """95% bootstrap interval of ``mean(a - b)`` over users resampled together (paired)."""
    if a.size == 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    diff = a - b
    means = diff[rng.integers(0, diff.size, size=(draws, diff.size))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 6), round(float(np.percentile(means, 97.5)), 6)]


def _score_methods(
    recs: Recommendations, train: Interactions, test: Interactions, k: int, progress: bool
) -> dict[str, Any]:
    space = recs.space
    relevant: dict[str, set[str]] = {}
    when: dict[str, float] = {}
    for event in test.events:
        relevant.setdefault(event.user_id, set()).add(event.item_id)
        when[event.user_id] = min(when.get(event.user_id, event.timestamp), event.timestamp)
    trained_items = {e.item_id for e in train.events}
    results: dict[str, Any] = {}
    per_method: dict[str, dict[str, list[str]]] = {}
    for name in recs.methods:
        ranked: dict[str, list[str]] = {}
        started = time.perf_counter()
        for user in tqdm(relevant, desc=name, disable=not progress, unit="user", leave=False):
            hits = recs.for_user(user, k=k, method=name, now=when[user])
            ranked[user] = [h["id"] for h in hits]
        seconds = time.perf_counter() - started
        per_method[name] = ranked
        shown = [item for items in ranked.values() for item in items]
        metrics: dict[str, Any] = recommendation_metrics(relevant, ranked, k)
        metrics["coverage"] = round(len(set(shown)) / max(len(space), 1), 6)
        metrics["cold_share"] = round(sum(i not in trained_items for i in shown) / max(len(shown), 1), 6)
        metrics["ms_per_user"] = round(1000 * seconds / max(len(relevant), 1), 3)
        results[name] = metrics
    recalls = {
        name: np.array([len(relevant[u] & set(r[u][:k])) / len(relevant[u]) for u in relevant if relevant[u]])
        for name, r in per_method.items()
    }
    if "hybrid" in recalls:
        for name in recalls:
            if name != "hybrid":
                results["hybrid"][f"recall_gain_over_{name}_ci95"] = paired_interval(
                    recalls["hybrid"], recalls[name]
                )
    hybrid = recs.methods.get("hybrid")
    if hybrid is not None and getattr(hybrid, "chosen", None):
        results["hybrid"]["weights"] = hybrid.chosen  # type: ignore[attr-defined]
    return results


def _complement_metrics(recs: Recommendations, test: Interactions, k: int) -> dict[str, Any]:
    """Held-out baskets with items of 2+ categories: is another basket item among the complements?"""
    space = recs.space
    if space.categories is None or recs.complements_model is None:
        return {}
    hits = baseline = trials = 0
    for events in test.by_user().values():
        popularity = recs.methods["popularity"].scores({}, events[0].timestamp)
        rows = sorted({space.index[e.item_id] for e in events if e.item_id in space.index})
        for seed in rows:
            others = {r for r in rows if space.categories[r] != space.categories[seed]}
            if not others:
                continue
            trials += 1
            suggested = set(top_k(recs.complements_model.scores(seed), k))
            hits += bool(suggested & others)
            masked = popularity.astype(float).copy()
            masked[space.categories == space.categories[seed]] = -float("inf")
            baseline += bool(set(top_k(masked, k)) & others)
    if not trials:
        return {"seeds": 0}
    return {
        "seeds": trials,
        f"hit_rate@{k}": round(hits / trials, 6),
        f"popular_other_category_hit_rate@{k}": round(baseline / trials, 6),
    }


def _reach(train: Interactions, test: Interactions) -> dict[str, int]:
    """Test (user, item) pairs, and how many no behavioural method can reach.

    An item the user already bought is never recommended (seen items are excluded); an item
    nobody bought in training has no co-purchases or sales, so only content can reach it.
    """
    bought: dict[str, set[str]] = {}
    for event in train.events:
        bought.setdefault(event.user_id, set()).add(event.item_id)
    sold = {e.item_id for e in train.events}
    pairs = {(e.user_id, e.item_id) for e in test.events}
    return {
        "test_pairs": len(pairs),
        "test_pairs_already_bought": sum(item in bought.get(user, ()) for user, item in pairs),
        "test_pairs_never_sold": sum(item not in sold for _, item in pairs),
    }


def score_recommendations(
    context: Context,
    train_events: Interactions,
    test_events: Interactions,
    *,
    k: int = 12,
    progress: bool = True,
) -> dict[str, Any]:
    """Fit on ``train_events`` over the items stored in ``context``, score on ``test_events``.

    Returns per method (hybrid and the baselines popularity, item-kNN and content-only)
    Recall@k, MAP@k, nDCG@k, HitRate@k, catalogue coverage and the share of recommended items
    that were cold, plus a complete-the-look check on held-out baskets. Of the test (user, item)
    pairs, ``test_pairs_already_bought`` no method can reach (seen items are excluded) and
    ``test_pairs_never_sold`` only content can: they explain a behavioural method's zero.
    """
    space = ItemSpace.from_store(context.store)
    filled = fill_predicted_attributes(context, space)
    started = time.perf_counter()
    recs = Recommendations.fit(space, train_events, methods=METHODS, k=k)
    fit_seconds = time.perf_counter() - started
    methods = _score_methods(recs, train_events, test_events, k, progress)
    complements = _complement_metrics(recs, test_events, k)
    unknown = {e.item_id for e in [*train_events.events, *test_events.events]} - set(space.index)
    return {
        "k": k,
        "items": len(space),
        "content_column": space.column,
        "predicted_attribute_values": filled,
        "train_events": len(train_events),
        "test_users": len({e.user_id for e in test_events.events}),
        "test_users_without_history": len(
            {e.user_id for e in test_events.events} - {e.user_id for e in train_events.events}
        ),
        "unknown_items": len(unknown),
        **_reach(train_events, test_events),
        "fit_seconds": round(fit_seconds, 2),
        "methods": methods,
        "complete_the_look": complements,
    }
