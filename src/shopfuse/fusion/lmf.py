"""Low-rank Multimodal Fusion (Liu et al., 2018): the TFN weight tensor as rank-r CP factors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, Weights
from shopfuse.registry import registry

__all__ = ["LowRankFusion"]


class LowRankNet(nn.Module):
    """``z = Σ w_m x_m + W_o Σ_r ∏_m (F_m^r [x_m; 1])``, never forming the outer product."""

    def __init__(self, n_modalities: int, dim: int, rank: int, hidden: int) -> None:
        super().__init__()
        self.rank, self.hidden = rank, hidden
        self.mean = Weights(n_modalities)
        self.factors = nn.ParameterList(
            nn.Parameter(torch.randn(dim + 1, rank * hidden) / dim**0.5) for _ in range(n_modalities)
        )
        # The bias row (the appended 1) starts at 1 so each product starts near a sum of unimodal terms.
        with torch.no_grad():
            for factor in self.factors:
                factor[-1] = 1.0
        self.out = nn.Linear(hidden, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        """Fused rows; contributions come from leave-one-out."""
        average, _ = self.mean(x, mask)
        ones = torch.ones(x.shape[0], 1, dtype=x.dtype)
        product = torch.ones(x.shape[0], self.rank * self.hidden, dtype=x.dtype)
        for m, factor in enumerate(self.factors):
            product = product * (torch.cat([x[:, m], ones], dim=1) @ factor)
        return average + self.out(product.view(-1, self.rank, self.hidden).sum(1)), None


@registry.register("fusion", "lmf")
class LowRankFusion(TorchFusion):
    """LMF: a rank-``rank`` CP decomposition of the tensor-fusion weights into ``hidden`` dims, an
    output map to the joint space, plus the residual learned average (as in ``tensor``).

    Contributions: leave-one-modality-out similarity drop, normalised over present modalities.
    """

    name = "lmf"

    def __init__(
        self,
        *,
        rank: int = 4,
        hidden: int = 128,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(training=training)
        self.rank = rank
        self.hidden = hidden

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return LowRankNet(n_modalities, dim, self.rank, self.hidden)
