"""Cross-category ("complete the look", 跨界) suggestions learned from co-purchases and content.

No category table is written by hand: categories are the item space's learned content clusters,
and what goes with what comes from baskets (items a user took within ``basket_days``):

1. item evidence: items co-bought with the seed or with its nearest content neighbours;
2. spread by content to look-alikes, so items nobody bought yet can be suggested too;
3. a category prior: how much more often than chance each other category was co-bought with the
   seed's category (lift), times the item's popularity.

Items of the seed's own category are never suggested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError
from shopfuse.recommend.interactions import Interactions
from shopfuse.recommend.methods import normalise
from shopfuse.recommend.space import ItemSpace

__all__ = ["ComplementModel", "baskets"]


def baskets(interactions: Interactions, index: dict[str, int], basket_days: float) -> list[list[int]]:
    """Per user, runs of events no more than ``basket_days`` apart, as item rows (2+ distinct)."""
    out: list[list[int]] = []
    gap = basket_days * 86_400.0
    for events in interactions.by_user().values():
        current: list[int] = []
        last = None
        for event in events:
            row = index.get(event.item_id)
            if row is None:
                continue
            if last is not None and event.timestamp - last > gap:
                if len(set(current)) > 1:
                    out.append(sorted(set(current)))
                current = []
            current.append(row)
            last = event.timestamp
        if len(set(current)) > 1:
            out.append(sorted(set(current)))
    return out


@dataclass(slots=True)
class ComplementModel:
    """Fitted co-purchase evidence over an item space with learned categories."""

    basket_days: float = 1.0
    neighbours: int = 20
    spread: int = 30
    prior_weight: float = 0.3
    _space: ItemSpace | None = None
    _co: Any = None
    _lift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    _popularity: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(self, interactions: Interactions, space: ItemSpace) -> None:
        """Co-purchase counts between items and lift between categories."""
        from scipy import sparse

        if space.categories is None:
            space.learn_categories()
        assert space.categories is not None
        n = len(space)
        rows: list[int] = []
        cols: list[int] = []
        for basket in baskets(interactions, space.index, self.basket_days):
            for a in basket:
                for b in basket:
                    if a != b:
                        rows.append(a)
                        cols.append(b)
        self._co = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))
        self._co.sum_duplicates()
        count = int(space.categories.max()) + 1 if n else 0
        pairs = np.zeros((count, count), dtype=np.float64)
        coo = self._co.tocoo()
        np.add.at(pairs, (space.categories[coo.row], space.categories[coo.col]), coo.data)
        expected = np.outer(pairs.sum(1), pairs.sum(0)) / max(pairs.sum(), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(expected > 0, pairs / expected, 0.0)
        np.fill_diagonal(lift, 0.0)
        self._lift = lift
        popularity = np.zeros(n, dtype=np.float32)
        for event in interactions.events:
            row = space.index.get(event.item_id)
            if row is not None:
                popularity[row] += 1.0
        self._popularity = np.log1p(popularity)
        self._space = space

    def scores(self, seed: int) -> np.ndarray:
        """Scores of every item as a complement of item row ``seed`` (own category: ``-inf``)."""
        space = self._space
        if space is None or space.categories is None:
            raise ConfigError("the complement model is not fitted")
        vectors = space.vectors
        sims = vectors @ vectors[seed]
        near = np.argsort(-sims)[: self.neighbours]
        weights = np.clip(sims[near], 0.0, None).astype(np.float32)
        evidence = np.asarray(self._co[near].T @ weights).ravel()
        # spread the strongest evidence to look-alikes (reaches items never bought)
        spread = np.zeros_like(evidence)
        strongest = np.argsort(-evidence)[: self.spread]
        strongest = strongest[evidence[strongest] > 0]
        if strongest.size:
            kernel = np.exp((vectors @ vectors[strongest].T - 1.0) / 0.05)
            spread = kernel @ evidence[strongest]
        prior = self._lift[space.categories[seed], space.categories] * (0.5 + normalise(self._popularity))
        total = normalise(evidence + 0.5 * spread) + self.prior_weight * normalise(prior.astype(np.float32))
        total = total.astype(np.float64)
        total[space.categories == space.categories[seed]] = -np.inf
        return total
