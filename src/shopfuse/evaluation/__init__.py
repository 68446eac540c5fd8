"""The one evaluation harness: retrieval against TREC qrels, attribute recognition per label."""

from shopfuse.evaluation.attributes import attribute_metrics
from shopfuse.evaluation.retrieval import (
    RETRIEVAL_METRICS,
    read_qrels,
    read_queries,
    retrieval_metrics,
)

__all__ = ["RETRIEVAL_METRICS", "attribute_metrics", "read_qrels", "read_queries", "retrieval_metrics"]
