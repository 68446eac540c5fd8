"""Gated Multimodal Unit (Arevalo et al., 2017), generalised to any number of modalities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, masked_softmax
from shopfuse.registry import registry

__all__ = ["GatedFusion"]


class GatedNet(nn.Module):
    """``h_m = x_m + V_m tanh(W_m x_m)``; per-dimension gates ``g = softmax_m(G tanh(W_g [x; mask]))``
    over present modalities; ``z = Σ_m g_m ⊙ h_m``.

    With two modalities the softmax gate is the GMU's ``σ`` gate ``z`` and ``1 - z``. Unlike the
    original ``h_m = tanh(W_m x_m)``, each candidate keeps its input (a residual correction), so
    the fused vector stays in the joint space; the maps are low-rank (``hidden``) to stay fast.
    """

    def __init__(self, n_modalities: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.n_modalities, self.dim = n_modalities, dim
        self.down = nn.ModuleList(nn.Linear(dim, hidden) for _ in range(n_modalities))
        ups = [nn.Linear(hidden, dim) for _ in range(n_modalities)]
        for layer in ups:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.up = nn.ModuleList(ups)
        self.gate = nn.Sequential(
            nn.Linear(n_modalities * dim + n_modalities, hidden),
            nn.Tanh(),
            nn.Linear(hidden, n_modalities * dim),
        )

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Gated sum; contributions are each modality's gate averaged over dimensions."""
        h = torch.stack(
            [
                x[:, m] + up(torch.tanh(down(x[:, m])))
                for m, (down, up) in enumerate(zip(self.down, self.up, strict=True))
            ],
            dim=1,
        )
        logits = self.gate(torch.cat([x.flatten(1), mask.to(x.dtype)], dim=1)).view(
            -1, self.n_modalities, self.dim
        )
        gates = masked_softmax(logits, mask[..., None].expand_as(logits), dim=1)
        return (gates * h).sum(1), gates.mean(2)


@registry.register("fusion", "gated")
class GatedFusion(TorchFusion):
    """GMU: each output dimension chooses, per product, how much of each modality to let through.

    Contributions are the gate values averaged over dimensions (they sum to 1 in every dimension,
    and the fused vector is exactly the per-dimension gated mix of the modality candidates).
    """

    name = "gated"

    def __init__(
        self, *, hidden: int = 64, training: TrainingConfig | Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(training=training)
        self.hidden = hidden

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return GatedNet(n_modalities, dim, self.hidden)
