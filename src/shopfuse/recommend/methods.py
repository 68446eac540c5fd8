"""Recommenders behind one Protocol: popularity, item-kNN collaborative filtering, content, hybrid.

Each scores every item of an :class:`ItemSpace` for a user history ``{item row: weight}``, so
new users with one or two events are served without refitting, and items nobody bought yet
(cold items) are reachable by content.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopfuse.errors import ConfigError
from shopfuse.optional import require
from shopfuse.recommend.interactions import Interactions
from shopfuse.recommend.space import ItemSpace
from shopfuse.registry import registry

__all__ = [
    "ContentRecommender",
    "HybridRecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "Recommender",
    "normalise",
]

History = dict[int, float]


@runtime_checkable
class Recommender(Protocol):
    """Scores every item of the space it was fitted on, for one user's weighted history."""

    name: str

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Learn from the interactions (items outside ``space`` are ignored)."""
        ...

    def scores(self, history: History, now: float | None = None) -> np.ndarray:
        """``(n_items,)`` scores at time ``now`` (default: the newest event); empty history allowed."""
        ...


def normalise(scores: np.ndarray, skip: Iterable[int] = ()) -> np.ndarray:
    """Scores divided by their maximum over the rows not in ``skip`` (zeros stay zeros), to be mixed.

    Recommenders pass the user's own items as ``skip``: they are never shown, and their own
    similarity (1 for item-kNN and content) would otherwise set the scale and shrink the part.
    """
    rows = np.fromiter(skip, dtype=np.int64)
    shown = np.delete(scores, rows) if rows.size else scores
    top = float(shown.max()) if shown.size else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


@registry.register("recommender", "popularity")
@dataclass(slots=True)
class PopularityRecommender:
    """Most taken in the ``window_days`` before ``now``; older counts (decayed) break ties.

    Only events before ``now`` count, so a recommendation made at some time never sees the future.
    """

    window_days: float = 7.0
    name: str = "popularity"
    _times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _size: int = 0
    _last: float = 0.0

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Keep the events' times and items, sorted by time."""
        pairs = sorted(
            (e.timestamp, space.index[e.item_id]) for e in interactions.events if e.item_id in space.index
        )
        self._times = np.array([t for t, _ in pairs], dtype=np.float64)
        self._rows = np.array([r for _, r in pairs], dtype=np.int64)
        self._size = len(space)
        self._last = interactions.last_time + 1.0

    def scores(self, history: History, now: float | None = None) -> np.ndarray:
        """The same ranking for everyone at one time."""
        at = self._last if now is None else now
        end = int(np.searchsorted(self._times, at, side="left"))
        start = int(np.searchsorted(self._times, at - self.window_days * 86_400.0, side="left"))
        recent = np.bincount(self._rows[start:end], minlength=self._size).astype(np.float32)
        older = np.bincount(self._rows[:start], minlength=self._size).astype(np.float32)
        return recent + 1e-3 * older

    def freshness(self, now: float | None, half_life_days: float, unseen: float) -> np.ndarray:
        """How recently each item was last taken before ``now``, in ``(0, 1]``; never taken: ``unseen``.

        Catalogues turn over: an item last sold a season ago is likely gone, an item never sold
        yet is likely new.
        """
        at = self._last if now is None else now
        end = int(np.searchsorted(self._times, at, side="left"))
        last = np.full(self._size, -np.inf)
        np.maximum.at(last, self._rows[:end], self._times[:end])
        age_days = (at - last) / 86_400.0
        with np.errstate(over="ignore", invalid="ignore"):
            fresh = np.where(np.isfinite(last), 0.5 ** (age_days / half_life_days), unseen)
        return fresh.astype(np.float32)


@registry.register("recommender", "itemknn")
@dataclass(slots=True)
class ItemKNNRecommender:
    """Item-to-item cosine collaborative filtering (``implicit``), over recency-weighted events."""

    neighbours: int = 100
    half_life_days: float = 60.0
    name: str = "itemknn"
    _similarity: Any = None
    _size: int = 0

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Item-item cosine similarities from who interacted with what."""
        nn = require("implicit.nearest_neighbours", "implicit", "recommend", "item-kNN recommendations")
        _, user_items = interactions.matrix(space.index, half_life_days=self.half_life_days)
        model = nn.CosineRecommender(K=self.neighbours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # implicit transposes to COO itself, then warns about it
            model.fit(user_items.tocsr(), show_progress=False)
        self._similarity = model.similarity.tocsr()
        self._size = len(space)

    def scores(self, history: History, now: float | None = None) -> np.ndarray:
        """Sum over the history of each item's similarities, weighted by the event weights."""
        out = np.zeros(self._size, dtype=np.float32)
        if self._similarity is None or not history:
            return out
        rows = np.fromiter(history.keys(), dtype=np.int64)
        weights = np.fromiter(history.values(), dtype=np.float32)
        out += np.asarray(self._similarity[rows].T @ weights).ravel()
        return out


@registry.register("recommender", "content")
@dataclass(slots=True)
class ContentRecommender:
    """Items close to the user's items in the content space (photo, text, fused), kernel-weighted.

    ``score(j) = sum_i w_i * exp((cos(v_i, v_j) - 1) / temperature)``: each past item votes for its
    near neighbours, so a user with several interests keeps all of them (a mean vector would not).
    """

    temperature: float = 0.05
    max_history: int = 200
    name: str = "content"
    _vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Keeps the content vectors; nothing to learn from behaviour."""
        self._vectors = space.vectors.astype(np.float32)

    def scores(self, history: History, now: float | None = None) -> np.ndarray:
        """Kernel votes of the ``max_history`` heaviest past items."""
        out = np.zeros(len(self._vectors), dtype=np.float32)
        if not history:
            return out
        items = sorted(history.items(), key=lambda kv: -kv[1])[: self.max_history]
        rows = np.array([r for r, _ in items], dtype=np.int64)
        weights = np.array([w for _, w in items], dtype=np.float32)
        sims = self._vectors @ self._vectors[rows].T
        out += np.exp((sims - 1.0) / self.temperature) @ weights
        return out


@registry.register("recommender", "hybrid")
@dataclass(slots=True)
class HybridRecommender:
    """Behaviour and content together: ``(a * itemknn + b * content) * freshness + c * popularity``.

    Each part is normalised per user; freshness discounts items not taken for a while (catalogues
    turn over) and gives never-taken (new) items a fixed prior.

    Weights are chosen on a validation split carved from the training interactions (each user's
    last day) unless given; new items have no behaviour, so content alone brings them in.
    """

    weights: tuple[float, float, float] | None = None
    window_days: float = 7.0
    fresh_half_life_days: float | None = 10.0
    """Behaviour and content scores are multiplied by the items' freshness (None: off)."""
    unseen_freshness: float = 0.2
    """Freshness of items never taken (new items)."""
    temperature: float = 0.05
    k: int = 12
    name: str = "hybrid"
    chosen: dict[str, float] = field(default_factory=dict)
    parts: dict[str, Recommender] = field(default_factory=dict)

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Fit the parts; pick the weights on a held-out last day when none were given."""
        weights = self.weights or self._tune(interactions, space)
        self.chosen = dict(zip(("itemknn", "content", "popularity"), weights, strict=True))
        self.parts = self._fit_parts(interactions, space)

    def scores(self, history: History, now: float | None = None) -> np.ndarray:
        """The weighted sum of the normalised parts."""
        if not self.parts:
            raise ConfigError("the hybrid recommender is not fitted")
        parts = {name: normalise(self.parts[name].scores(history, now), history) for name in self.chosen}
        return self._mix(parts, tuple(self.chosen.values()), self._freshness(now) if history else None)

    def _freshness(self, now: float | None) -> np.ndarray | None:
        popularity = self.parts.get("popularity")
        if self.fresh_half_life_days is None or not isinstance(popularity, PopularityRecommender):
            return None
        return popularity.freshness(now, self.fresh_half_life_days, self.unseen_freshness)

    @staticmethod
    def _mix(
        parts: dict[str, np.ndarray], weights: tuple[float, ...], fresh: np.ndarray | None
    ) -> np.ndarray:
        """``(a * itemknn + b * content) * freshness + c * popularity``."""
        a, b, c = weights
        personal = a * parts["itemknn"] + b * parts["content"]
        if fresh is not None:
            personal = personal * fresh
        return personal + c * parts["popularity"]

    def _fit_parts(self, interactions: Interactions, space: ItemSpace) -> dict[str, Recommender]:
        parts: dict[str, Recommender] = {
            "itemknn": ItemKNNRecommender(),
            "content": ContentRecommender(temperature=self.temperature),
            "popularity": PopularityRecommender(window_days=self.window_days),
        }
        for part in parts.values():
            part.fit(interactions, space)
        return parts

    def _tune(self, interactions: Interactions, space: ItemSpace) -> tuple[float, float, float]:
        """Grid search of the three weights by Recall@k on each user's last training day."""
        train, valid = split_last_day(interactions)
        if not valid:
            return (1.0, 1.0, 0.1)
        known = Interactions(train)
        parts = self._fit_parts(known, space)
        histories = known.by_user()
        targets: dict[str, set[int]] = {}
        when: dict[str, float] = {}
        for event in valid:
            row = space.index.get(event.item_id)
            if row is not None:
                targets.setdefault(event.user_id, set()).add(row)
                when[event.user_id] = min(when.get(event.user_id, event.timestamp), event.timestamp)
        cached = []
        for user, wanted in targets.items():
            events = histories.get(user, [])
            now = when[user]
            history = known.history(events, space.index, now=now, half_life_days=60.0)
            components = {
                n: normalise(parts[n].scores(history, now), history)
                for n in ("itemknn", "content", "popularity")
            }
            popularity = parts["popularity"]
            fresh = (
                popularity.freshness(now, self.fresh_half_life_days, self.unseen_freshness)
                if self.fresh_half_life_days is not None
                and history
                and isinstance(popularity, PopularityRecommender)
                else None
            )
            cached.append((components, fresh, set(history), wanted))
        if not cached:
            return (1.0, 1.0, 0.1)
        grid = [0.0, 0.25, 0.5, 1.0]
        best: tuple[float, tuple[float, float, float]] = (-1.0, (1.0, 1.0, 0.1))
        for a in grid:
            for b in grid:
                for c in (0.0, 0.05, 0.1, 0.25, 0.5):
                    if not (a or b or c):
                        continue
                    recall = 0.0
                    for components, fresh, seen, wanted in cached:
                        top = top_k(self._mix(components, (a, b, c), fresh), self.k, exclude=seen)
                        recall += len(wanted & set(top)) / len(wanted)
                    if recall > best[0] + 1e-9:
                        best = (recall, (a, b, c))
        return best[1]


def split_last_day(interactions: Interactions) -> tuple[list[Any], list[Any]]:
    """Each user's events of their last active day (users with older events only) vs the rest."""
    train: list[Any] = []
    valid: list[Any] = []
    for events in interactions.by_user().values():
        last_day = int(events[-1].timestamp // 86_400)
        older = [e for e in events if int(e.timestamp // 86_400) < last_day]
        if older:
            train.extend(older)
            valid.extend(e for e in events if int(e.timestamp // 86_400) == last_day)
        else:
            train.extend(events)
    return train, valid


def top_k(scores: np.ndarray, k: int, *, exclude: set[int] | None = None) -> list[int]:
    """Rows of the ``k`` best scores, best first, skipping ``exclude``; ties broken by row."""
    if k <= 0 or scores.size == 0:
        return []
    masked = scores.astype(np.float64, copy=True)
    if exclude:
        masked[list(exclude)] = -np.inf
    take = min(k, int(np.isfinite(masked).sum()))
    if take == 0:
        return []
    part = np.argpartition(-masked, take - 1)[:take] if take < masked.size else np.arange(masked.size)
    ranked = sorted(part.tolist(), key=lambda r: (-masked[r], r))
    return [r for r in ranked if np.isfinite(masked[r])][:k]
