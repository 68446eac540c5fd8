"""Graph fusion: a GraphSAGE-style layer over a k-nearest-neighbour graph of the products."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the usual torch spelling)
from torch import Tensor, nn

from shopfuse.fusion._training import FuseFn, TorchFusion, TrainingConfig, Weights, masked_mean
from shopfuse.fusion.base import FusionOutput, Masks, Modalities
from shopfuse.registry import registry

__all__ = ["GraphFusion", "encode_attributes", "neighbours"]

Attributes = Sequence[Mapping[str, Any]]
CHUNK = 2048


def encode_attributes(attributes: Attributes | None, n: int) -> Tensor | None:
    """Attribute values one-hot, ``(n, values)``, scaled so a row's dot product with another is the
    share of attribute keys on which the two agree."""
    if attributes is None:
        return None
    if len(attributes) != n:
        raise ValueError(f"attributes must have one mapping per product ({n}), got {len(attributes)}")
    pairs = [{(k, str(v)) for k, v in row.items() if v is not None and v != ""} for row in attributes]
    keys = {k for row in pairs for k, _ in row}
    columns = {pair: j for j, pair in enumerate(sorted(set().union(*pairs)))}
    onehot = torch.zeros(n, len(columns))
    for i, row in enumerate(pairs):
        onehot[i, [columns[pair] for pair in row]] = 1.0
    return onehot / max(len(keys), 1) ** 0.5


def neighbours(x: Tensor, mask: Tensor, codes: Tensor | None, k: int, attribute_weight: float) -> Tensor:
    """The ``k`` most similar other products of each product, ``(n, k)`` row indices.

    Similarity: cosine of the products' mean available embedding, plus ``attribute_weight`` times
    the share of attribute keys on which two products agree. A lone product is its own neighbour.
    """
    n = len(x)
    k = min(k, n - 1)
    if k <= 0:
        return torch.arange(n)[:, None]
    # NumPy's BLAS keeps its own threads while training runs torch on one (see ``one_thread``).
    unit = F.normalize(masked_mean(x, mask), dim=1).numpy()
    onehot = None if codes is None else codes.numpy()
    found = []
    for start in range(0, n, CHUNK):
        rows = np.arange(start, min(start + CHUNK, n))
        similarity = unit[rows] @ unit.T
        if onehot is not None:
            similarity += attribute_weight * (onehot[rows] @ onehot.T)
        similarity[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        found.append(np.sort(top, axis=1))
    return torch.from_numpy(np.concatenate(found))


class GraphNet(nn.Module):
    """``u = Σ w_m x_m``; ``z = u + W_2 relu(W_1 [u; mean_{j ∈ N(i)} u_j])`` (one SAGE round, residual)."""

    def __init__(self, n_modalities: int, dim: int) -> None:
        super().__init__()
        self.mean = Weights(n_modalities)
        self.combine = nn.Linear(2 * dim, dim)
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(
        self, x: Tensor, mask: Tensor, neighbour_x: Tensor, neighbour_mask: Tensor
    ) -> tuple[Tensor, None]:
        """Fused rows from own ``(B, M, d)`` and neighbours' ``(B, k, M, d)`` masked inputs."""
        own, _ = self.mean(x, mask)
        batch, k = neighbour_mask.shape[:2]
        around, _ = self.mean(neighbour_x.flatten(0, 1), neighbour_mask.flatten(0, 1))
        around = F.normalize(around, dim=1).view(batch, k, -1).mean(1)
        hidden = torch.relu(self.combine(torch.cat([F.normalize(own, dim=1), around], dim=1)))
        return own + self.out(hidden), None


@registry.register("fusion", "graph")
class GraphFusion(TorchFusion):
    """Products as nodes of a k-NN graph (similar available embeddings, shared attribute values);
    each product's vector is its learned modality average refined by its neighbours'.

    Transductive: ``fit`` and ``fuse`` build the graph over the rows they are given, so fuse a
    whole catalogue (or a batch large enough to hold each product's neighbours) at once. During
    training the graph is rebuilt every epoch from the modality-dropped inputs, so it matches what
    a catalogue of photo-only products looks like. ``attributes`` (one mapping per product, e.g.
    ``{"articleType": "Skirts"}``) are optional in both.

    Contributions: leave-one-modality-out similarity drop of the product's own modalities (graph
    fixed), normalised over present modalities.
    """

    name = "graph"

    def __init__(
        self,
        *,
        k: int = 10,
        attribute_weight: float = 0.5,
        training: TrainingConfig | Mapping[str, Any] | None = None,
    ) -> None:
        # Each epoch rebuilds the k-NN graph, so fewer epochs keep 8k products well under a minute.
        super().__init__(training=training if training is not None else TrainingConfig(epochs=12))
        self.k = k
        self.attribute_weight = attribute_weight

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        return GraphNet(n_modalities, dim)

    def _fuser(self, x: Tensor, mask: Tensor, context: Any = None) -> FuseFn:
        graph = neighbours(x, mask, context, self.k, self.attribute_weight)
        module = self.module_

        def fuse(rows: Tensor, row_mask: Tensor) -> tuple[Tensor, Tensor | None]:
            around = graph[rows]
            around_mask = mask[around]
            out: tuple[Tensor, Tensor | None] = module(
                x[rows] * row_mask[..., None], row_mask, x[around] * around_mask[..., None], around_mask
            )
            return out

        return fuse

    def fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int = 0,
        progress: bool = False,
        attributes: Attributes | None = None,
    ) -> Self:
        """Train over the graph of the given products (see the class docstring)."""
        codes = encode_attributes(attributes, len(target))
        return self._fit(modalities, masks, target, seed=seed, progress=progress, context=codes)

    def fuse(
        self, modalities: Modalities, masks: Masks, *, attributes: Attributes | None = None
    ) -> FusionOutput:
        """Fuse the given products over the graph built from them (see the class docstring)."""
        n = len(next(iter(modalities.values()))) if modalities else 0
        return self._fuse(modalities, masks, context=encode_attributes(attributes, n))
