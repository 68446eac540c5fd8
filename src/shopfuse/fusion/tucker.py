"""Tucker fusion (as in MUTAN, Ben-younes et al., 2017): factor matrices around a small core tensor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, Weights, outer_with_ones
from shopfuse.registry import registry

__all__ = ["TuckerFusion"]


class TuckerNet(nn.Module):
    """``z = Σ w_m x_m + W_o (T ×_1 [U_1 x_1; 1] ×_2 ... ×_M [U_M x_M; 1])`` with a small core ``T``."""

    def __init__(self, n_modalities: int, dim: int, factor: int, core: int) -> None:
        super().__init__()
        self.mean = Weights(n_modalities)
        self.factors = nn.ModuleList(nn.Linear(dim, factor, bias=False) for _ in range(n_modalities))
        # Contracting the core with every mode's vector equals a linear map of their outer product.
        self.core = nn.Linear((factor + 1) ** n_modalities, core, bias=False)
        self.out = nn.Linear(core, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        """Fused rows; contributions come from leave-one-out."""
        average, _ = self.mean(x, mask)
        outer = outer_with_ones([layer(x[:, m]) for m, layer in enumerate(self.factors)])
        return average + self.out(torch.tanh(self.core(outer))), None


@registry.register("fusion", "tucker")
class TuckerFusion(TorchFusion):
    """Tucker: each modality through a ``factor``-dim factor matrix (with an appended 1 so missing
    modalities keep the other terms), a ``core`` tensor of shape (factor+1)^M × core, and an output
    factor to the joint space, added to the residual learned average (as in ``tensor``).

    Contributions: leave-one-modality-out similarity drop, normalised over present modalities.
    """

    name = "tucker"

    def __init__(
        self,
        *,
        factor: int = 8,
        core: int = 64,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(training=training)
        self.factor = factor
        self.core = core

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return TuckerNet(n_modalities, dim, self.factor, self.core)
