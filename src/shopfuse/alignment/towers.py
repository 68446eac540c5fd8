"""The torch modules of the contrastive aligner: an image tower, a text tower and a temperature.

Imported only by :mod:`shopfuse.alignment.contrastive` once torch is known to be installed.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from shopfuse.training.losses import info_nce

__all__ = ["ResidualLinear", "Towers"]


class ResidualLinear(nn.Module):
    """``t + A t + b`` with ``A`` and ``b`` starting at zero, so training starts from the identity."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.correction = nn.Linear(width, width)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The input plus its learned correction."""
        return inputs + self.correction(inputs)


class Towers(nn.Module):
    """An MLP image tower, a frozen / residual / linear text tower and a learned ``log(1/T)``."""

    def __init__(self, params: dict[str, Any], image_dim: int, text_dim: int) -> None:
        super().__init__()
        self.image_dim, self.text_dim = image_dim, text_dim
        kind = params["text_tower"]
        self.text: nn.Module
        if kind == "frozen":
            self.text, self.joint_dim = nn.Identity(), text_dim
        elif kind == "residual":
            self.text, self.joint_dim = ResidualLinear(text_dim), text_dim
        elif kind == "linear":
            self.text, self.joint_dim = nn.Linear(text_dim, params["dim"]), int(params["dim"])
        else:
            raise ValueError(f"unknown text_tower {kind!r}; choose frozen, residual or linear")
        self.image = nn.Sequential(
            nn.Dropout(params["input_dropout"]),
            nn.Linear(image_dim, params["hidden"]),
            nn.GELU(),
            nn.Dropout(params["dropout"]),
            nn.Linear(params["hidden"], self.joint_dim),
        )
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / params["temperature"])))
        self.max_log_scale = math.log(params["max_logit_scale"])

    def loss(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE over the batch: row ``i``'s photo and title are the positives."""
        return info_nce(self.image(image), self.text(text), self.log_scale.exp())

    def clamp_scale(self) -> None:
        """Keep ``1/T`` within ``[1, max_logit_scale]`` (CLIP clamps at 100)."""
        with torch.no_grad():
            self.log_scale.clamp_(0.0, self.max_log_scale)
