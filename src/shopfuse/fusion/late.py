"""Late (decision-level) fusion: average the per-modality cosine scores with weights fitted on validation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the usual torch spelling)
from torch import Tensor

from shopfuse.fusion._training import (
    TrainingConfig,
    modality_dropout,
    normalise_contributions,
    split_rows,
    stack_inputs,
)
from shopfuse.fusion.base import LEGACY, FusionOutput, Masks, Modalities
from shopfuse.persist import load_config, save_component
from shopfuse.registry import registry

__all__ = ["LateFusion"]

MAX_CANDIDATES = 500


def simplex_grid(n_modalities: int, steps: int) -> np.ndarray:
    """Every weight vector on the simplex with entries in multiples of ``1 / steps``."""
    cuts = itertools.combinations(range(steps + n_modalities - 1), n_modalities - 1)
    rows = []
    for cut in cuts:
        bounds = (-1, *cut, steps + n_modalities - 1)
        rows.append([bounds[i + 1] - bounds[i] - 1 for i in range(n_modalities)])
    return np.asarray(rows, dtype=np.float32) / steps


def mean_reciprocal_rank(fused: Tensor, target: Tensor) -> float:
    """MRR of each product among all, queried by its own target (title → product)."""
    scores = F.normalize(target, dim=1) @ fused.T
    own = scores.diagonal()[:, None]
    ranks = (scores > own).sum(1) + 1
    return float((1.0 / ranks).mean())


@registry.register("fusion", "late")
class LateFusion:
    """Score-level fusion: ``z = Σ_m w_m x̂_m`` over present modalities (``x̂`` unit rows, weights
    renormalised over what a product has), so ``q · z`` is the weighted average of the per-modality
    cosines; the final unit scaling required of fused vectors rescales each product's scores.

    ``fit`` picks the weights from a simplex grid (finest step ``1 / steps``, coarser with many
    modalities) that maximise title→product MRR on a held-out slice under modality dropout; ties
    go to the most even weights. No gradient training. Contributions are the renormalised weights.
    """

    name = "late"

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        steps: int = 20,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        self.weights = dict(weights) if weights is not None else None
        self.steps = steps
        self.training = TrainingConfig.of(training)

    def fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Choose the weights on a held-out slice (all rows when there are too few)."""
        names, x, mask = stack_inputs(modalities, masks)
        goal = torch.from_numpy(np.asarray(target, dtype=np.float32))
        rng = np.random.default_rng(seed)
        _, valid = split_rows(len(x), self.training.valid_fraction, rng)
        rows = torch.from_numpy(valid) if valid.size else torch.arange(len(x))
        valid_mask = modality_dropout(mask, self.training, names, rng)[rows]
        unit = F.normalize(x[rows], dim=2)
        steps = self.steps
        while math.comb(steps + len(names) - 1, len(names) - 1) > MAX_CANDIDATES:
            steps -= 1
        best: tuple[float, float] = (-1.0, -1.0)
        for candidate in simplex_grid(len(names), steps):
            weights = torch.from_numpy(candidate)
            share = normalise_contributions(weights.expand(valid_mask.shape), valid_mask)
            score = mean_reciprocal_rank(F.normalize((share[..., None] * unit).sum(1), dim=1), goal[rows])
            evenness = -float(np.abs(candidate - 1 / len(names)).sum())
            if (score, evenness) > best:
                best, chosen = (score, evenness), candidate
        if progress:
            print(
                f"fusion late: weights {dict(zip(names, chosen.round(3).tolist(), strict=True))}, "
                f"valid MRR {best[0]:.3f}"
            )
        self.weights_ = {name: float(w) for name, w in zip(names, chosen, strict=True)}
        return self

    def fuse(self, modalities: Modalities, masks: Masks) -> FusionOutput:
        """Weighted average of the present modalities' unit vectors, as unit rows."""
        weights = self.weights_ if hasattr(self, "weights_") else self.weights
        if weights is None:
            raise ValueError("late fusion needs fit() or given weights before fuse()")
        names, x, mask = stack_inputs(modalities, masks, list(weights))
        share = normalise_contributions(torch.tensor([weights[n] for n in names]).expand(mask.shape), mask)
        vectors = F.normalize((share[..., None] * F.normalize(x, dim=2)).sum(1), dim=1)
        contributions = share.numpy().astype(np.float32)
        return FusionOutput(
            vectors.numpy().astype(np.float32), {n: contributions[:, i] for i, n in enumerate(names)}
        )

    def save(self, folder: Path) -> None:
        """Everything in ``component.json``: parameters and the fitted weights."""
        params = {"weights": self.weights, "steps": self.steps, "training": asdict(self.training)}
        save_component(
            folder, "fusion", self.name, {"params": params, "weights": getattr(self, "weights_", None)}
        )

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        data = load_config(folder, "fusion", cls.name, LEGACY)
        fusion = cls(**data["params"])
        if data["weights"] is not None:
            fusion.weights_ = {k: float(v) for k, v in data["weights"].items()}
        return fusion
