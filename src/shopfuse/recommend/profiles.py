"""User profiles (interpretable interests and a vector in the product space) and user segments."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.encoders.base import l2_normalize
from shopfuse.recommend.interactions import Event, Interactions
from shopfuse.recommend.space import ItemSpace

__all__ = ["Profile", "Segment", "build_profile", "interest_attributes", "plot_segments", "segment_users"]

MAX_VALUES = 60
"""Attributes with more distinct values than this (names, codes, descriptions) are not interests."""


@dataclass(slots=True)
class Profile:
    """What a user is into: weighted attribute values, learned categories, price band, a vector."""

    user_id: str
    events: int
    items: int
    interests: dict[str, dict[str, float]] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    price: dict[str, Any] | None = None
    vector: np.ndarray | None = None

    def to_dict(self, *, with_vector: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (the vector only when asked)."""
        out: dict[str, Any] = {
            "user_id": self.user_id,
            "events": self.events,
            "items": self.items,
            "categories": self.categories,
            "interests": self.interests,
            "price": self.price,
        }
        if with_vector and self.vector is not None:
            out["vector"] = [round(float(x), 6) for x in self.vector]
        return out


def interest_attributes(space: ItemSpace) -> list[str]:
    """String attributes with few enough values to describe taste (colour, type, pattern ...)."""
    values: dict[str, set[str]] = defaultdict(set)
    for attrs in space.attributes:
        for name, value in attrs.items():
            if isinstance(value, str) and value:
                values[name].add(value)
    return sorted(n for n, v in values.items() if 1 < len(v) <= MAX_VALUES)


def _top(counter: Counter[str], total: float, n: int) -> dict[str, float]:
    return {k: round(v / total, 4) for k, v in counter.most_common(n)} if total > 0 else {}


def build_profile(
    user_id: str,
    events: Sequence[Event],
    space: ItemSpace,
    interactions: Interactions,
    *,
    price_bands: Sequence[float] | None = None,
    half_life_days: float = 60.0,
    top: int = 5,
    attributes: Sequence[str] | None = None,
) -> Profile:
    """The profile of ``user_id`` from ``events``; weights sum to 1 within each attribute.

    Items without a value for an attribute (photo-only products) do not dilute it; categories,
    learned from content, cover every item. ``price_bands`` are the catalogue's price terciles;
    ``attributes`` the interest attributes (default: :func:`interest_attributes`, pass them when
    profiling many users).
    """
    now = interactions.last_time
    history = interactions.history(events, space.index, now=now, half_life_days=half_life_days)
    profile = Profile(user_id=user_id, events=len(events), items=len(history))
    if not history:
        return profile
    names = interest_attributes(space) if attributes is None else attributes
    per_attribute: dict[str, Counter[str]] = defaultdict(Counter)
    weight_of: dict[str, float] = defaultdict(float)
    for row, weight in history.items():
        for name in names:
            value = space.attributes[row].get(name)
            if isinstance(value, str) and value:
                per_attribute[name][value] += weight  # type: ignore[assignment]
                weight_of[name] += weight
    profile.interests = {
        name: _top(counts, weight_of[name], top) for name, counts in sorted(per_attribute.items())
    }
    if space.categories is not None and space.category_names:
        cats: Counter[str] = Counter()
        for row, weight in history.items():
            cats[space.category_names[int(space.categories[row])]] += weight  # type: ignore[assignment]
        profile.categories = _top(cats, sum(history.values()), top)
    prices = [e.price for e in events if e.price is not None]
    if prices:
        mean = float(np.mean(prices))
        band = "mid"
        if price_bands is not None and len(price_bands) == 2:
            band = "low" if mean < price_bands[0] else "high" if mean > price_bands[1] else "mid"
        profile.price = {"mean": round(mean, 6), "band": band, "purchases_with_price": len(prices)}
    rows = np.fromiter(history.keys(), dtype=np.int64)
    weights = np.fromiter(history.values(), dtype=np.float32)
    profile.vector = l2_normalize((weights[:, None] * space.vectors[rows]).sum(0))[0]
    return profile


@dataclass(slots=True)
class Segment:
    """A cluster of users and what sets it apart."""

    id: int
    users: list[str]
    description: str
    traits: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "size": len(self.users),
            "description": self.description,
            "traits": self.traits,
            "users": self.users,
        }


def segment_users(
    profiles: Sequence[Profile], *, n: int | None = None, seed: int = 0
) -> tuple[list[Segment], np.ndarray]:
    """K-means over profile vectors (``n`` by silhouette in 2..8 when not given).

    Each segment is described by the attribute values and categories it over-indexes on
    relative to all users (lift). Returns the segments and each profile's segment label.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    usable = [p for p in profiles if p.vector is not None]
    if len(usable) < 3:
        raise ValueError(f"segmenting needs at least 3 users with known items, got {len(usable)}")
    matrix = np.stack([p.vector for p in usable if p.vector is not None])
    if n is None:
        best = (-2.0, 2)
        for count in range(2, min(8, len(usable) - 1) + 1):
            labels = KMeans(n_clusters=count, n_init=4, random_state=seed).fit_predict(matrix)
            score = float(silhouette_score(matrix, labels))
            if score > best[0]:
                best = (score, count)
        n = best[1]
    labels = KMeans(n_clusters=n, n_init=4, random_state=seed).fit_predict(matrix)
    overall = _traits(usable)
    segments = []
    for label in range(n):
        members = [p for p, lab in zip(usable, labels, strict=True) if lab == label]
        traits = _traits(members)
        lifted = sorted(
            (
                (value / max(overall.get(group, {}).get(key, 0.0), 1e-6), group, key, value)
                for group, values in traits.items()
                for key, value in values.items()
                if value >= 0.15
            ),
            reverse=True,
        )
        words = [f"{key} ({group})" for _, group, key, _ in lifted[:3]]
        segments.append(
            Segment(
                id=label,
                users=[p.user_id for p in members],
                description=", ".join(words) or "mixed",
                traits={g: dict(sorted(v.items(), key=lambda kv: -kv[1])[:5]) for g, v in traits.items()},
            )
        )
    return segments, labels


def _traits(profiles: Sequence[Profile]) -> dict[str, dict[str, float]]:
    """Mean interest weights over ``profiles``, categories included."""
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for profile in profiles:
        groups = {**profile.interests, "category": profile.categories}
        for group, values in groups.items():
            for key, weight in values.items():
                sums[group][key] += weight  # type: ignore[assignment]
    return {g: {k: round(v / len(profiles), 4) for k, v in c.items()} for g, c in sums.items()}


def plot_segments(
    profiles: Sequence[Profile], labels: np.ndarray, segments: Sequence[Segment], out: Path
) -> Path:
    """A 2-D PCA map of the users' profile vectors coloured by segment, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    usable = [p for p in profiles if p.vector is not None]
    matrix = np.stack([p.vector for p in usable if p.vector is not None])
    points = PCA(n_components=2, random_state=0).fit_transform(matrix)
    fig, ax = plt.subplots(figsize=(9, 7))
    for segment in segments:
        mask = labels == segment.id
        ax.scatter(
            points[mask, 0], points[mask, 1], s=14, alpha=0.7, label=f"{segment.id}: {segment.description}"
        )
        centre = points[mask].mean(0)
        ax.annotate(str(segment.id), centre, fontsize=13, weight="bold")
    ax.set_title(f"{len(usable)} users in {len(segments)} segments (PCA of profile vectors)")
    ax.legend(fontsize=7, loc="best")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
