"""The one InfoNCE loss of shopfuse (CLIP's contrastive objective over a mini-batch).

Used by the contrastive aligner's towers (photo vs title), every trainable fusion strategy
(fused product vs title) and the backbone tuning (pooled photo features vs title, and two
augmented views of the same photo).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812  (the usual torch spelling)

__all__ = ["info_nce"]


def info_nce(
    a: torch.Tensor, b: torch.Tensor, scale: float | torch.Tensor, *, symmetric: bool = True
) -> torch.Tensor:
    """In-batch InfoNCE between row-aligned ``a`` ``(n, d)`` and ``b`` ``(n, d)``.

    Rows are L2-normalised, the logits are ``scale * cos(a_i, b_j)`` (``scale`` is ``1 / T``, the
    inverse temperature: a float, or a learned tensor such as ``log_scale.exp()``), and row ``i``
    of ``a`` must pick row ``i`` of ``b`` among the batch's rows (cross-entropy, mean over rows).

    ``symmetric`` (CLIP): the mean of both directions, ``a -> b`` and ``b -> a``, so neither side
    can be captured by a few hub rows of the other; ``False``: only ``a -> b``.
    """
    logits = scale * F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    target = torch.arange(len(a))
    forward = F.cross_entropy(logits, target)
    if not symmetric:
        return forward
    return 0.5 * (forward + F.cross_entropy(logits.T, target))
