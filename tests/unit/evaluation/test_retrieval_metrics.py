import math
from pathlib import Path

import pytest

from shopfuse.errors import CatalogError
from shopfuse.evaluation import attribute_metrics, read_qrels, read_queries, retrieval_metrics


def test_read_queries_and_qrels(tmp_path: Path) -> None:
    (tmp_path / "q.tsv").write_text("q1\tred dress\nq2\t红色连衣裙\n\n", encoding="utf-8")
    (tmp_path / "qrels").write_text("q1 0 a 2\nq1 0 b 1\nq2 0 a 1\n")
    assert read_queries(tmp_path / "q.tsv") == {"q1": "red dress", "q2": "红色连衣裙"}
    assert read_qrels(tmp_path / "qrels") == {"q1": {"a": 2, "b": 1}, "q2": {"a": 1}}


@pytest.mark.parametrize(
    ("content", "message"),
    [("q1 red dress\n", "qid<TAB>"), ("q1\tx\nq1\ty\n", "duplicate"), ("", "no queries")],
)
def test_bad_queries(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "q.tsv").write_text(content)
    with pytest.raises(CatalogError, match=message):
        read_queries(tmp_path / "q.tsv")


def test_bad_qrels(tmp_path: Path) -> None:
    (tmp_path / "qrels").write_text("q1 0 a\n")
    with pytest.raises(CatalogError, match=r"qrels:1"):
        read_qrels(tmp_path / "qrels")


def test_metrics_by_hand() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"c": 1}, "q3": {"z": 0}}
    run = {"q1": {"a": 0.9, "x": 0.5}, "q2": {"y": 0.9, "c": 0.3}}
    scores = retrieval_metrics(qrels, run, k=10)
    assert scores["queries"] == 2  # q3 has no relevant document
    assert scores["MRR@10"] == pytest.approx((1 + 0.5) / 2)
    assert scores["Recall@10"] == pytest.approx(1.0)
    assert scores["P@10"] == pytest.approx(0.1)
    assert scores["nDCG@10"] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    empty = retrieval_metrics(qrels, {"q1": {"a": 1.0}, "q2": {}}, k=10)
    assert empty["MRR@10"] == pytest.approx(0.5)  # asked, retrieved nothing: a zero
    nothing = retrieval_metrics(qrels, {"q1": {}, "q2": {}}, k=10)
    assert nothing == {
        "nDCG@10": 0.0,
        "Recall@10": 0.0,
        "MRR@10": 0.0,
        "P@10": 0.0,
        "MAP": 0.0,
        "queries": 2,
        "qrels_without_query": 0,
        "queries_without_judgement": 0,
    }


def test_metrics_average_over_the_queries_asked_not_the_qrels() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}, "q4": {"d": 1}, "q5": {"e": 0}}
    # a query file covering half the qrels, plus one query judged only irrelevant and one not judged
    run = {"q1": {"a": 0.9}, "q2": {"x": 0.9, "b": 0.5}, "q5": {"e": 0.9}, "q6": {"f": 0.9}}
    scores = retrieval_metrics(qrels, run, k=10)
    assert scores["queries"] == 2
    assert scores["qrels_without_query"] == 2  # q3, q4: not asked, so not scored as zero
    assert scores["queries_without_judgement"] == 2  # q5, q6
    assert scores["MRR@10"] == pytest.approx((1 + 1 / 2) / 2)
    assert scores["Recall@10"] == pytest.approx(1.0)


def test_metrics_refuse_queries_that_match_no_judgement() -> None:
    with pytest.raises(CatalogError, match="none of the 1 queries asked"):
        retrieval_metrics({"q1": {"a": 1}}, {"other": {"a": 1.0}}, k=10)


def test_attribute_metrics() -> None:
    scores = attribute_metrics(["a", "a", "b", None], ["a", "b", "b", "a"])
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["n"] == 3
    assert 0 < scores["macro_f1"] < 1
    assert attribute_metrics(["a"], [None])["accuracy"] == 0
