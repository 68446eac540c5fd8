"""Fusion strategies: many modality embeddings of a product in, one joint-space vector out.

Importing this package registers every built-in strategy under the registry kind ``"fusion"``.
"""

from shopfuse.fusion import (
    attention,
    concat,
    cross_attention,
    gated,
    graph,
    late,
    lmf,
    tensor,
    tucker,
    weighted,
)
from shopfuse.fusion._training import TrainingConfig
from shopfuse.fusion.base import Fusion, FusionOutput

__all__ = [
    "Fusion",
    "FusionOutput",
    "TrainingConfig",
    "attention",
    "concat",
    "cross_attention",
    "gated",
    "graph",
    "late",
    "lmf",
    "tensor",
    "tucker",
    "weighted",
]
