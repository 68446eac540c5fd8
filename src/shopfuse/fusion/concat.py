"""Concatenation of the modalities (zeros and a mask indicator for missing ones), then a linear map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig
from shopfuse.registry import registry

__all__ = ["ConcatFusion"]


class ConcatNet(nn.Module):
    """``W [x_1; ...; x_M; mask] + b``, started at the plain mean of the modalities."""

    def __init__(self, n_modalities: int, dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(n_modalities * dim + n_modalities, dim)
        with torch.no_grad():
            # Starting from the average is a far better point than random for 8k products.
            self.project.weight.zero_()
            self.project.bias.zero_()
            for m in range(n_modalities):
                self.project.weight[:, m * dim : (m + 1) * dim] = torch.eye(dim) / n_modalities

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        """Projected concatenation; contributions come from leave-one-out."""
        features = torch.cat([x.flatten(1), mask.to(x.dtype)], dim=1)
        return self.project(features), None


@registry.register("fusion", "concat")
class ConcatFusion(TorchFusion):
    """Early fusion: concatenate (missing modality = zeros plus its mask bit) and project linearly.

    Contributions: leave-one-modality-out similarity drop, normalised over present modalities.
    """

    name = "concat"

    def __init__(self, *, training: TrainingConfig | Mapping[str, Any] | None = None) -> None:
        super().__init__(training=training)

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return ConcatNet(n_modalities, dim)
