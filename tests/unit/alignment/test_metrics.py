import numpy as np
import pytest

from shopfuse.alignment.metrics import mean_reciprocal_rank, ranks, recall_at_k


def test_ranks_count_better_documents_only() -> None:
    docs = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    queries = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0.5]], dtype=np.float32)
    # Query 1 ties with a duplicate of its document (still found first); query 2's scores 0.5, below two.
    assert ranks(queries, docs).tolist() == [0, 0, 2]
    assert recall_at_k(queries, docs, 1) == pytest.approx(2 / 3)
    assert recall_at_k(queries, docs, 3) == 1.0
    assert mean_reciprocal_rank(queries, docs) == pytest.approx((1 + 1 + 1 / 3) / 3)


def test_chunks_give_the_same_ranks() -> None:
    rng = np.random.default_rng(0)
    queries, docs = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
    np.testing.assert_array_equal(ranks(queries, docs, chunk=7), ranks(queries, docs))


def test_rows_must_align() -> None:
    with pytest.raises(ValueError, match="row-aligned"):
        ranks(np.zeros((3, 4)), np.zeros((4, 4)))
