"""A click simulator with a hidden preference model built from real catalogue products.

The actions are real products of the fashion catalogue (``metadata.csv``: gender, masterCategory,
subCategory, usage, baseColour, season). A context is an audience ``segment`` (categorical) and an
``age`` (one of a few values, a number). Each segment has a hidden affinity for every attribute value,
and age a hidden slope per attribute value; the click probability is logistic::

    logit p(x, a) = b + sum_attr affinity[segment, attr, value(a)] + age_z * sum_attr slope[attr, value(a)]

with the intercept ``b`` set so that showing actions at random gets ``base_rate`` (a few %, like real
CTRs). The contexts take finitely many values, so :meth:`Simulator.true_value` is exact (a weighted
sum over every context, no sampling), and :meth:`Simulator.log` writes logs with exact propensities.
Everything is deterministic given the seed::

    sim = Simulator.from_catalogue(n_actions=10, seed=0)
    log = sim.log(UniformPolicy(sim.actions), 5000, np.random.default_rng(1))
    sim.true_value(some_policy)       # what OPE should recover
    sim.action_table()                # the features a learner may see (not the affinities)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.creative.logs import ActionTable, BanditLog
from shopfuse.creative.policy import Policy
from shopfuse.errors import CatalogError, ConfigError

__all__ = ["ATTRIBUTES", "CATALOGUE", "Simulator"]

CATALOGUE = "fashion-products/metadata.csv"
"""The shared fashion catalogue, inside the shared data folder (``$SHOPFUSE_DATA`` or ``../shared/data``)."""
ATTRIBUTES = ("gender", "masterCategory", "subCategory", "usage", "baseColour", "season")
"""Catalogue attributes the hidden preferences are defined on."""
AGES = (22.0, 30.0, 40.0, 55.0)
"""The values of the ``age`` context column."""
START = np.datetime64("2026-01-05T00:00:00", "ns")
"""First timestamp of a simulated log."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


class Simulator:
    """Hidden segment x attribute preferences over real products; see the module docstring."""

    def __init__(
        self,
        products: Sequence[Mapping[str, str]],
        *,
        n_segments: int = 4,
        base_rate: float = 0.03,
        strength: float = 0.8,
        seed: int = 0,
    ) -> None:
        """``products``: dicts with ``id`` and the :data:`ATTRIBUTES`; ``strength``: the spread (sd)
        of the hidden affinities on the logit scale."""
        if len(products) < 2:
            raise ConfigError("the simulator needs at least two products")
        if not 0 < base_rate < 0.5:
            raise ConfigError("base_rate must be in (0, 0.5)")
        if n_segments < 1:
            raise ConfigError("n_segments must be >= 1")
        rng = np.random.default_rng(seed)
        self.products = [dict(p) for p in products]
        self.actions = [str(p["id"]) for p in products]
        if len(set(self.actions)) != len(self.actions):
            raise ConfigError("product ids must be unique")
        self.segments = [f"s{k + 1}" for k in range(n_segments)]
        self.segment_share = rng.dirichlet(np.full(n_segments, 4.0))
        self.ages = np.asarray(AGES)
        age_z = (self.ages - self.ages.mean()) / self.ages.std()
        logit = np.zeros((n_segments, len(AGES), len(self.actions)))
        for attr in ATTRIBUTES:
            values = sorted({str(p.get(attr, "")) for p in self.products})
            which = np.asarray([values.index(str(p.get(attr, ""))) for p in self.products])
            affinity = rng.normal(0.0, strength, size=(n_segments, len(values)))
            slope = rng.normal(0.0, strength / 2, size=len(values))
            logit += affinity[:, None, which] + age_z[None, :, None] * slope[None, None, which]
        self._cell_share = (
            self.segment_share[:, None] * np.full(len(AGES), 1.0 / len(AGES))[None, :]
        ).ravel()
        self._logit = logit.reshape(n_segments * len(AGES), len(self.actions))
        self.intercept = self._calibrate(base_rate)
        self._p = _sigmoid(self._logit + self.intercept)
        """``(cells, actions)``: the click probabilities."""

    def _calibrate(self, base_rate: float) -> float:
        low, high = -20.0, 20.0
        for _ in range(80):
            mid = (low + high) / 2
            value = float(self._cell_share @ _sigmoid(self._logit + mid).mean(axis=1))
            low, high = (mid, high) if value < base_rate else (low, mid)
        return (low + high) / 2

    @classmethod
    def from_catalogue(
        cls, path: str | Path | None = None, *, n_actions: int = 10, seed: int = 0, **options: Any
    ) -> Simulator:
        """``n_actions`` products of the catalogue CSV (default: the shared fashion catalogue), one per
        article type as far as they go, drawn with ``seed``; ``options`` go to the constructor."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if path is None:
            from shopfuse.demo import find_data

            path = find_data() / CATALOGUE
        file = Path(path)
        if not file.is_file():
            raise CatalogError(f"{file}: no such file (the simulator's catalogue)")
        try:
            table = pacsv.read_csv(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CatalogError(f"{file}: cannot be read ({exc})") from None
        missing = [c for c in ("id", *ATTRIBUTES) if c not in table.column_names]
        if missing:
            raise CatalogError(f"{file}: no column(s) {', '.join(missing)}")
        extra = ["articleType"] if "articleType" in table.column_names else []
        rows = table.select(["id", *extra, *ATTRIBUTES]).to_pylist()
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(rows))
        chosen: list[dict[str, str]] = []
        seen: set[str] = set()
        for i in order:  # first one product per article type, then any
            kind = str(rows[i].get("articleType", i))
            if kind not in seen:
                seen.add(kind)
                chosen.append({k: str(v) for k, v in rows[i].items()})
            if len(chosen) == n_actions:
                break
        if len(chosen) < n_actions:
            taken = {c["id"] for c in chosen}
            chosen += [
                {k: str(v) for k, v in rows[i].items()} for i in order if str(rows[i]["id"]) not in taken
            ][: n_actions - len(chosen)]
        return cls(chosen, seed=seed, **options)

    # contexts --------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """How many distinct contexts there are (segments x ages)."""
        return len(self.segments) * len(self.ages)

    def _cells_of(self, contexts: Mapping[str, np.ndarray]) -> np.ndarray:
        seg_index = {s: k for k, s in enumerate(self.segments)}
        age_index = {float(a): j for j, a in enumerate(self.ages)}
        try:
            seg = np.asarray([seg_index[str(s)] for s in contexts["segment"]])
            age = np.asarray([age_index[float(a)] for a in contexts["age"]])
        except KeyError as exc:
            raise ConfigError(f"not a context of this simulator: {exc.args[0]!r}") from None
        return seg * len(self.ages) + age

    def contexts(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` contexts drawn from the audience: ``segment`` (strings) and ``age`` (floats)."""
        cell = rng.choice(self.n_cells, size=n, p=self._cell_share)
        return {
            "segment": np.asarray([self.segments[c // len(self.ages)] for c in cell], dtype=object),
            "age": self.ages[cell % len(self.ages)].astype(np.float64),
        }

    def all_contexts(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every distinct context once, with its probability."""
        cell = np.arange(self.n_cells)
        contexts = {
            "segment": np.asarray([self.segments[c // len(self.ages)] for c in cell], dtype=object),
            "age": self.ages[cell % len(self.ages)].astype(np.float64),
        }
        return contexts, self._cell_share.copy()

    def click_probability(
        self, contexts: Mapping[str, np.ndarray], actions: Sequence[str] | np.ndarray | None = None
    ) -> np.ndarray:
        """The hidden click probability of each context's action (``(n,)``), or of every action
        (``(n, len(self.actions))``) when ``actions`` is ``None``."""
        cells = self._cells_of(contexts)
        if actions is None:
            return np.asarray(self._p[cells])
        index = {a: j for j, a in enumerate(self.actions)}
        try:
            cols = np.asarray([index[str(a)] for a in actions])
        except KeyError as exc:
            raise ConfigError(f"not an action of this simulator: {exc.args[0]!r}") from None
        return np.asarray(self._p[cells, cols])

    # policies --------------------------------------------------------------------------------
    def _probabilities(self, policy: Policy | np.ndarray | Sequence[float], log: BanditLog) -> np.ndarray:
        """``(len(log), len(self.actions))`` in this simulator's action order."""
        if isinstance(policy, Policy):
            probs = np.asarray(policy.probabilities(log), dtype=np.float64)
            unknown = sorted(set(policy.actions) - set(self.actions))
            if unknown:
                raise ConfigError(f"the policy has actions the simulator lacks: {', '.join(unknown[:10])}")
            out = np.zeros((len(log), len(self.actions)))
            index = {a: j for j, a in enumerate(self.actions)}
            out[:, [index[a] for a in policy.actions]] = probs
        else:
            vector = np.asarray(policy, dtype=np.float64)
            if vector.shape != (len(self.actions),) or (vector < 0).any():
                raise ConfigError(f"logging probabilities must be {len(self.actions)} numbers >= 0")
            out = np.tile(vector, (len(log), 1))
        total = out.sum(axis=1, keepdims=True)
        if (np.abs(total - 1.0) > 1e-6).any():
            raise ConfigError("the policy's probabilities do not sum to 1 over the simulator's actions")
        return out / total

    def _context_log(self, contexts: dict[str, np.ndarray]) -> BanditLog:
        n = len(contexts["segment"])
        return BanditLog(
            action=np.full(n, self.actions[0], dtype=object),
            reward=np.zeros(n),
            propensity=np.ones(n),
            context=contexts,
            source="simulator",
        )

    def log(
        self,
        policy: Policy | np.ndarray | Sequence[float],
        n: int,
        rng: np.random.Generator,
        *,
        days: int = 14,
    ) -> BanditLog:
        """``n`` impressions chosen by ``policy`` (a Policy, or one probability per action in
        :attr:`actions` order) with exact propensities and Bernoulli clicks; timestamps spread over
        ``days`` days from :data:`START`, in order."""
        if n < 1:
            raise ConfigError("a log needs at least one row")
        contexts = self.contexts(n, rng)
        probs = self._probabilities(policy, self._context_log(contexts))
        cumulative = probs.cumsum(axis=1)
        draw = rng.random(n)[:, None] * cumulative[:, -1:]
        chosen = np.minimum((cumulative <= draw).sum(axis=1), len(self.actions) - 1)
        propensity = probs[np.arange(n), chosen]
        click = rng.random(n) < self._p[self._cells_of(contexts), chosen]
        seconds = np.sort(rng.uniform(0, days * 86_400, size=n))
        return BanditLog(
            action=np.asarray([self.actions[j] for j in chosen], dtype=object),
            reward=click.astype(np.float64),
            propensity=propensity,
            timestamp=START + (seconds * 1e9).astype("timedelta64[ns]"),
            context=contexts,
            source="simulator",
        )

    def true_value(self, policy: Policy | np.ndarray | Sequence[float]) -> float:
        """The policy's exact expected click rate (summed over every context, no sampling)."""
        contexts, share = self.all_contexts()
        probs = self._probabilities(policy, self._context_log(contexts))
        return float(share @ (probs * self._p).sum(axis=1))

    def best_value(self) -> float:
        """The click rate of the best action in every context (what a perfect learner reaches)."""
        return float(self._cell_share @ self._p.max(axis=1))

    def best_actions(self) -> dict[tuple[str, float], str]:
        """The best action of every context ``(segment, age)``."""
        contexts, _ = self.all_contexts()
        best = self._p.argmax(axis=1)
        return {
            (str(s), float(a)): self.actions[b]
            for s, a, b in zip(contexts["segment"], contexts["age"], best, strict=True)
        }

    def action_table(self) -> ActionTable:
        """The products' visible features (attributes one-hot), not the hidden affinities."""
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for attr in ATTRIBUTES:
            values = sorted({p.get(attr, "") for p in self.products})
            onehot = np.asarray([[float(p.get(attr, "") == v) for v in values] for p in self.products])
            blocks.append(onehot)
            names += [f"{attr}={v}" for v in values]
        return ActionTable(
            ids=list(self.actions),
            features=np.hstack(blocks),
            feature_names=names,
            product_ids=list(self.actions),
        )
