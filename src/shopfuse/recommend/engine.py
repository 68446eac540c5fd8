"""Recommendations over one store: similar items, personalised, complements, profiles, segments.

Interactions live next to the store in ``interactions/`` as append-only CSV parts; appending
refits only the cheap behavioural parts (item-kNN counts, popularity, co-purchases) on next use,
and a user's newest events count at once because every method scores from the history given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shopfuse.errors import ConfigError, StoreError
from shopfuse.recommend.complements import ComplementModel
from shopfuse.recommend.interactions import Event, Interactions, read_interactions, write_interactions
from shopfuse.recommend.methods import Recommender, top_k
from shopfuse.recommend.profiles import Profile, Segment, build_profile, interest_attributes, segment_users
from shopfuse.recommend.space import ItemSpace
from shopfuse.registry import registry

if TYPE_CHECKING:
    from shopfuse.context import Context

__all__ = ["METHODS", "InteractionLog", "Recommendations"]

METHODS = ("hybrid", "content", "itemknn", "popularity")
HALF_LIFE_DAYS = 60.0


class InteractionLog:
    """Append-only interaction parts under ``folder`` (each part written whole, then renamed)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def parts(self) -> list[Path]:
        """Stored parts, oldest first."""
        return sorted(self.folder.glob("part-*.csv")) if self.folder.is_dir() else []

    def load(self) -> Interactions:
        """Every stored event."""
        events = Interactions()
        for part in self.parts():
            events.extend(read_interactions(part).events)
        return events

    def append(self, events: Interactions) -> Path:
        """Store ``events`` as a new part; a crash leaves the old parts and no half part."""
        if not len(events):
            raise ConfigError("no interactions to append")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.folder / f"part-{stamp}-{len(self.parts()):06d}.csv"
        temporary = target.with_suffix(".tmp")
        write_interactions(temporary, events.events)
        temporary.replace(target)
        return target


@dataclass(slots=True)
class Recommendations:
    """Fitted recommenders over an item space and the interactions seen so far."""

    space: ItemSpace
    interactions: Interactions
    methods: dict[str, Recommender] = field(default_factory=dict)
    complements_model: ComplementModel | None = None
    histories: dict[str, list[Event]] = field(default_factory=dict)
    bought: set[int] = field(default_factory=set)
    """Item rows with any interaction; the others are cold."""

    @classmethod
    def fit(
        cls,
        space: ItemSpace,
        interactions: Interactions,
        *,
        methods: tuple[str, ...] = METHODS,
        k: int = 12,
    ) -> Recommendations:
        """Fit ``methods`` (registry ``recommender`` names) and the complement model."""
        if space.categories is None:
            space.learn_categories()
        fitted: dict[str, Recommender] = {}
        for name in methods:
            factory = registry.get("recommender", name)
            method = factory(k=k) if name == "hybrid" else factory()
            method.fit(interactions, space)
            fitted[name] = method
        complements = ComplementModel()
        complements.fit(interactions, space)
        bought = {space.index[e.item_id] for e in interactions.events if e.item_id in space.index}
        return cls(space, interactions, fitted, complements, interactions.by_user(), bought)

    @classmethod
    def from_context(cls, context: Context, *, k: int = 12) -> Recommendations:
        """Items of the context's store (model-predicted attributes filling gaps) and its log."""
        space = ItemSpace.from_store(context.store)
        fill_predicted_attributes(context, space)
        return cls.fit(space, InteractionLog(context.path / "interactions").load(), k=k)

    def _row(self, item_id: str) -> int:
        row = self.space.index.get(item_id)
        if row is None:
            raise StoreError(f"unknown item {item_id!r}: it is not in the store (or has no content vector)")
        return row

    def _hits(self, rows: list[int], scores: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            hit: dict[str, Any] = {
                "id": self.space.ids[row],
                "score": round(float(scores[row]), 6),
                "title": self.space.titles[row] if self.space.titles else None,
                "image": self.space.images[row] if self.space.images else None,
                "cold": row not in self.bought,
            }
            if self.space.categories is not None and self.space.category_names:
                hit["category"] = self.space.category_names[int(self.space.categories[row])]
            out.append(hit)
        return out

    def similar(
        self, item_id: str, *, k: int = 10, exclude_variants: bool = False, duplicate_above: float = 0.97
    ) -> list[dict[str, Any]]:
        """Nearest items in content; ``exclude_variants`` drops near-duplicates and the item's variants.

        Variants share a group attribute (``product_code`` and the like) when the catalogue has
        one; near-duplicates are items whose content cosine with the seed is ``duplicate_above``+.
        """
        row = self._row(item_id)
        scores = (self.space.vectors @ self.space.vectors[row]).astype(np.float64)
        exclude = {row}
        if exclude_variants:
            group = self.space.group_of(row)
            exclude |= {int(r) for r in np.flatnonzero(scores >= duplicate_above)}
            if group is not None:
                exclude |= {r for r in range(len(self.space)) if self.space.group_of(r) == group}
        return self._hits(top_k(scores, k, exclude=exclude), scores)

    def history_of(
        self, user_id: str, extra: list[Event] | None = None, now: float | None = None
    ) -> dict[int, float]:
        """A user's weighted history at ``now`` (default: latest event) from the log plus ``extra``."""
        events = [*self.histories.get(user_id, []), *(extra or [])]
        if now is None:
            now = max(self.interactions.last_time, max((e.timestamp for e in events), default=0.0))
        else:
            events = [e for e in events if e.timestamp < now]
        return self.interactions.history(events, self.space.index, now=now, half_life_days=HALF_LIFE_DAYS)

    def for_user(
        self,
        user_id: str,
        *,
        k: int = 12,
        method: str = "hybrid",
        extra: list[Event] | None = None,
        exclude_seen: bool = True,
        now: float | None = None,
    ) -> list[dict[str, Any]]:
        """The ``k`` items ``user_id`` is most likely to take at ``now`` (default: after the latest event).

        Only events before ``now`` count. A user without history gets what was popular then.
        """
        if method not in self.methods:
            raise ConfigError(f"unknown method {method!r}; fitted: {', '.join(self.methods)}")
        history = self.history_of(user_id, extra, now)
        scores = self.methods[method].scores(history, now)
        if not history and method != "popularity" and "popularity" in self.methods:
            scores = self.methods["popularity"].scores(history, now)
        rows = top_k(scores, k, exclude=set(history) if exclude_seen else None)
        return self._hits(rows, scores)

    def complements(self, item_id: str, *, k: int = 10) -> list[dict[str, Any]]:
        """Items from other categories that go with ``item_id``."""
        if self.complements_model is None:
            raise ConfigError("no complement model fitted")
        scores = self.complements_model.scores(self._row(item_id))
        return self._hits(top_k(scores, k), scores)

    def price_bands(self) -> list[float] | None:
        """Terciles of the prices seen in interactions (None when there are none)."""
        prices = [e.price for e in self.interactions.events if e.price is not None]
        return [float(np.quantile(prices, 1 / 3)), float(np.quantile(prices, 2 / 3))] if prices else None

    def profile(self, user_id: str) -> Profile:
        """The user's interpretable interests and profile vector."""
        events = self.histories.get(user_id)
        if not events:
            raise StoreError(f"unknown user {user_id!r}: no interactions stored")
        return build_profile(user_id, events, self.space, self.interactions, price_bands=self.price_bands())

    def profiles(self) -> list[Profile]:
        """Every user's profile."""
        bands = self.price_bands()
        names = interest_attributes(self.space)
        return [
            build_profile(user, events, self.space, self.interactions, price_bands=bands, attributes=names)
            for user, events in self.histories.items()
        ]

    def segments(self, n: int | None = None) -> tuple[list[Profile], list[Segment], np.ndarray]:
        """Profiles, segments and each usable profile's label."""
        profiles = self.profiles()
        segments, labels = segment_users(profiles, n=n)
        return profiles, segments, labels


def fill_predicted_attributes(context: Context, space: ItemSpace, min_confidence: float = 0.5) -> int:
    """Give photo-only items the model's confident attribute predictions; returns values filled."""
    from shopfuse.tasks.attributes import predict_attributes

    if context.model is None or context.model.heads is None:
        return 0
    filled = 0
    for row in predict_attributes(context.store, context.model, min_confidence=min_confidence):
        index = space.index.get(row.id)
        if index is None:
            continue
        attributes = dict(space.attributes[index])
        for name, prediction in row.predicted.items():
            if attributes.get(name) in (None, "") and prediction.confidence >= min_confidence:
                attributes[name] = prediction.value
                filled += 1
        space.attributes[index] = attributes
    return filled
