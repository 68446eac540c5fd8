"""Filtered approximate search: the allowed rows only, and as good as unfiltered search."""

import numpy as np
import pytest

from shopfuse.config import AnnSettings
from shopfuse.encoders.base import l2_normalize
from shopfuse.store.ann import AnnIndex

pytest.importorskip("faiss")


def clustered(rows: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(clusters, dim)))
    label = rng.integers(0, clusters, rows)
    return l2_normalize(centres[label] + rng.normal(size=(rows, dim)) / 8).astype(np.float32), label


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_a_selective_filter_far_from_the_query_still_finds_the_exact_top_k(kind: str) -> None:
    # the hard case for filtered IVF: the allowed rows (3 of 40 clusters, ~7%) lie far from
    # the query, so the query's own nprobe clusters hold none of them
    data, label = clustered(8000, 32, 40, seed=1)
    allowed = np.isin(label, [3, 17, 29])
    index = AnnIndex(data, AnnSettings(kind=kind, nlist=64, nprobe=4, ef_search=16))
    found = total = 0
    for q in np.flatnonzero(~allowed)[:30]:
        scores, rows = index.search(data[q], 10, allowed=allowed)
        got = rows[0][rows[0] >= 0]
        assert allowed[got].all()
        assert list(scores[0][: len(got)]) == sorted(scores[0][: len(got)], reverse=True)
        candidates = np.flatnonzero(allowed)
        exact = set(candidates[np.argsort(-(data[candidates] @ data[q]))[:10]].tolist())
        found += len(exact & set(got.tolist()))
        total += 10
    assert found / total >= 0.95


def test_ivf_widens_until_the_allowed_rows_fill_k() -> None:
    data, _ = clustered(3000, 16, 20, seed=2)
    allowed = np.zeros(len(data), dtype=bool)
    allowed[np.random.default_rng(0).choice(len(data), 12, replace=False)] = True  # 12 scattered rows
    index = AnnIndex(data, AnnSettings(kind="ivf", nlist=40, nprobe=1))
    _, rows = index.search(data[0], 10, allowed=allowed)
    assert sorted(rows[0].tolist()) == sorted(
        np.flatnonzero(allowed)[np.argsort(-(data[allowed] @ data[0]))[:10]].tolist()
    )


def test_nothing_allowed_finds_nothing_and_a_wrong_mask_is_refused() -> None:
    data, _ = clustered(500, 8, 5, seed=3)
    index = AnnIndex(data, AnnSettings(kind="ivf", nlist=8))
    _, rows = index.search(data[0], 5, allowed=np.zeros(len(data), dtype=bool))
    assert (rows == -1).all()
    with pytest.raises(ValueError, match="shape"):
        index.search(data[0], 5, allowed=np.ones(3, dtype=bool))


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_a_broad_filter_unlike_the_query_keeps_its_recall(kind: str) -> None:
    data, label = clustered(8000, 32, 40, seed=4)
    allowed = label < 12  # 30% of the rows, in clusters the queries are not in
    index = AnnIndex(data, AnnSettings(kind=kind, ef_search=32, nlist=64, nprobe=4))
    found = 0
    for q in np.flatnonzero(~allowed)[:30]:
        _, rows = index.search(data[q], 10, allowed=allowed)
        assert allowed[rows[0]].all()
        candidates = np.flatnonzero(allowed)
        exact = set(candidates[np.argsort(-(data[candidates] @ data[q]))[:10]].tolist())
        found += len(exact & set(rows[0].tolist()))
    assert found / 300 >= 0.95
