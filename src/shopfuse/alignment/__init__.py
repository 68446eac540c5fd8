"""Learned cross-modal spaces: each module registers one aligner under the kind ``alignment``."""

from shopfuse.alignment import cca, contrastive, procrustes, ridge
from shopfuse.alignment.base import Aligner
from shopfuse.alignment.metrics import mean_reciprocal_rank, recall_at_k

__all__ = ["Aligner", "cca", "contrastive", "mean_reciprocal_rank", "procrustes", "recall_at_k", "ridge"]
