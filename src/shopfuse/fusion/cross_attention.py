"""Cross-modal attention: modalities as tokens attend to each other, then attention pooling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from shopfuse.fusion._training import TorchFusion, TrainingConfig, masked_softmax
from shopfuse.registry import registry

__all__ = ["CrossAttentionFusion"]


class CrossAttentionNet(nn.Module):
    """Tokens ``t_m = x_m + e_m``; per head ``A_h = softmax(Q_h t · K_h t / √d_k)`` over present keys;
    ``y = t + W_o mean_h(A_h t)``; ``z = Σ p_m y_m`` with pooling weights ``p = softmax(P y)``.

    Values are the tokens themselves and ``W_o`` is low-rank (``head_dim`` per head in total), so the
    layer is cheap at d = 512 and the residual stream stays in the joint space.
    """

    def __init__(self, n_modalities: int, dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.modality = nn.Parameter(torch.zeros(n_modalities, dim))
        self.query = nn.Linear(dim, heads * head_dim, bias=False)
        self.key = nn.Linear(dim, heads * head_dim, bias=False)
        self.value = nn.Linear(dim, heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.pool = nn.Linear(dim, 1, bias=False)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Pooled tokens and attention-rollout contributions."""
        batch, n_tokens, _ = x.shape
        tokens = x + self.modality * mask[..., None]
        q = self.query(tokens).view(batch, n_tokens, self.heads, self.head_dim).transpose(1, 2)
        k = self.key(tokens).view(batch, n_tokens, self.heads, self.head_dim).transpose(1, 2)
        keys = mask[:, None, None, :].expand(batch, self.heads, n_tokens, n_tokens)
        attn = masked_softmax(q @ k.transpose(-1, -2) / self.head_dim**0.5, keys).mean(1)
        y = tokens + self.out(self.value(attn @ tokens))
        pool = masked_softmax(self.pool(y).squeeze(-1), mask)
        # Attention rollout (Abnar & Zuidema, 2020): with the residual, token j holds half of
        # itself and half of A[j, k] of each token k.
        flow = 0.5 * torch.eye(n_tokens, dtype=x.dtype) + 0.5 * attn
        return (pool[..., None] * y).sum(1), (pool[:, None, :] @ flow).squeeze(1) * mask


@registry.register("fusion", "cross-attention")
class CrossAttentionFusion(TorchFusion):
    """Multi-head attention across a product's modalities (missing ones masked out as keys), a
    residual connection, then attention pooling.

    Contributions: attention rollout, ``p · (0.5 I + 0.5 A)`` with ``A`` the head-averaged attention
    and ``p`` the pooling weights; it is zero for missing modalities and sums to 1 over present ones.
    """

    name = "cross-attention"

    def __init__(
        self,
        *,
        heads: int = 4,
        head_dim: int = 16,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(training=training)
        self.heads = heads
        self.head_dim = head_dim

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return CrossAttentionNet(n_modalities, dim, self.heads, self.head_dim)
