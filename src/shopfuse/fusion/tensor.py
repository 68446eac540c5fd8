"""Tensor Fusion Network (Zadeh et al., 2017) on small per-modality reductions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, Weights, outer_with_ones
from shopfuse.registry import registry

__all__ = ["TensorFusion"]


class TensorNet(nn.Module):
    """``z = Σ w_m x_m + W vec(⊗_m [R_m x_m; 1])``: a learned average plus all interaction terms."""

    def __init__(self, n_modalities: int, dim: int, reduced: int) -> None:
        super().__init__()
        self.mean = Weights(n_modalities)
        self.reduce = nn.ModuleList(nn.Linear(dim, reduced, bias=False) for _ in range(n_modalities))
        self.project = nn.Linear((reduced + 1) ** n_modalities, dim)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        """Fused rows; contributions come from leave-one-out."""
        average, _ = self.mean(x, mask)
        # A missing modality is zero, so its [0; 1] keeps the other modalities' terms only.
        outer = outer_with_ones([layer(x[:, m]) for m, layer in enumerate(self.reduce)])
        return average + self.project(outer), None


@registry.register("fusion", "tensor")
class TensorFusion(TorchFusion):
    """TFN: every modality is reduced to ``reduced`` dims, ``[h_m; 1]`` vectors are combined by outer
    product ((reduced+1)^M features: unimodal, bimodal and trimodal terms) and projected to the
    joint space. A residual learned average of the inputs carries the bulk of the vector (the
    projection starts at zero), so the interaction terms learn a correction.

    Contributions: leave-one-modality-out similarity drop, normalised over present modalities.
    """

    name = "tensor"

    def __init__(
        self, *, reduced: int = 16, training: TrainingConfig | Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(training=training)
        self.reduced = reduced

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return TensorNet(n_modalities, dim, self.reduced)
