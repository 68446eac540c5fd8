"""Weighted average of the present modalities, with learned or given weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, Weights
from shopfuse.fusion.base import Masks, Modalities
from shopfuse.registry import registry

__all__ = ["WeightedFusion"]


@registry.register("fusion", "weighted")
class WeightedFusion(TorchFusion):
    """``z = Σ w_m x_m`` over present modalities, ``w = softmax(logits)`` renormalised over them.

    The logits are learned (InfoNCE towards the title) unless ``weights`` are given, in which case
    ``fit`` only records the modalities and ``fuse`` works without it. Contributions are the weights.
    """

    name = "weighted"

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(training=training)
        self.weights = dict(weights) if weights is not None else None
        if self.weights is not None:
            if not self.weights or min(self.weights.values()) <= 0:
                raise ValueError(f"given weights must be positive, got {self.weights}")
            self.modalities_ = list(self.weights)
            self.dim_ = 0
            self.module_ = self._build(len(self.modalities_), 0)

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        module = Weights(n_modalities)
        if self.weights is not None:
            with torch.no_grad():
                module.logits.copy_(torch.log(torch.tensor(list(self.weights.values()))))
        return module

    def fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Learn the weights, or with given ``weights`` just check the inputs."""
        if self.weights is None:
            return super().fit(modalities, masks, target, seed=seed, progress=progress)
        self.fuse(modalities, masks)
        return self
