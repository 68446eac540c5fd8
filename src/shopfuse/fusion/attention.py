"""Attention fusion: one learned relevance score per present modality, softmax, weighted sum."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, masked_softmax
from shopfuse.registry import registry

__all__ = ["AttentionFusion"]


class AttentionNet(nn.Module):
    """``h_m = tanh(W_m x_m + b_m)``, ``a = softmax_m(w_m·h_m)`` over present m, ``z = Σ a_m x_m``."""

    def __init__(self, n_modalities: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(dim, hidden) for _ in range(n_modalities))
        self.score = nn.Parameter(torch.randn(n_modalities, hidden) / hidden**0.5)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Attention-weighted sum; the attention weights are the contributions."""
        h = torch.stack([torch.tanh(layer(x[:, m])) for m, layer in enumerate(self.hidden)], dim=1)
        weights = masked_softmax((h * self.score).sum(-1), mask)
        return (weights[..., None] * x).sum(1), weights


@registry.register("fusion", "attention")
class AttentionFusion(TorchFusion):
    """Per-product modality attention: the weights depend on the content (a blurry photo can weigh less).

    Contributions are the attention weights ``a_m``.
    """

    name = "attention"

    def __init__(
        self, *, hidden: int = 64, training: TrainingConfig | Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(training=training)
        self.hidden = hidden

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return AttentionNet(n_modalities, dim, self.hidden)
