"""Q&A metrics against values computed by hand, the Q&A file reader, and scoring of results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from shopfuse.errors import CatalogError
from shopfuse.evaluation.qa import (
    QAItem,
    QAResult,
    abstention,
    bleu,
    ndcg_at_k,
    precision_at_1,
    read_qa,
    rouge_l,
    score_results,
)


def test_ndcg_by_hand() -> None:
    labels = {"a": 2, "b": 0, "c": 1}
    # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4); ideal = 2/log2(2) + 1/log2(3)
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a", "c"], labels, 5) == pytest.approx(expected)
    assert ndcg_at_k(["a", "c", "b"], labels, 5) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a", "c"], labels, 1) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}, 5) == 0.0


def test_ndcg_agrees_with_ranx() -> None:
    ranx = pytest.importorskip("ranx")
    qrels = {"q": {"a": 2, "c": 1, "d": 1}}
    ranking = ["b", "c", "a", "e", "d"]
    run = {"q": {doc: float(len(ranking) - i) for i, doc in enumerate(ranking)}}
    theirs = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), "ndcg@3")
    assert ndcg_at_k(ranking, qrels["q"], 3) == pytest.approx(float(theirs), abs=1e-6)


def test_precision_at_1() -> None:
    assert precision_at_1(["a", "b"], {"a": 1}) == 1.0
    assert precision_at_1(["b", "a"], {"a": 1}) == 0.0
    assert precision_at_1([], {"a": 1}) == 0.0


def test_rouge_l_by_hand() -> None:
    # hypothesis 4 words, reference 5, LCS "the cat on mat" = 4 -> P 1, R 0.8, F1 8/9
    assert rouge_l("the cat on mat", "the cat sat on mat") == pytest.approx(8 / 9)
    assert rouge_l("nothing shared", "the cat") == 0.0
    assert rouge_l("", "the cat") == 0.0
    # Chinese is segmented into words: 可以 / 机洗 against 可以 / 机洗 / 不 / 可以 / 漂白
    assert rouge_l("可以机洗", "可以机洗，不可以漂白") == pytest.approx(2 * 1 * 0.4 / 1.4)


def test_bleu_identical_and_disjoint() -> None:
    assert bleu(["the cat sat on the mat today"], ["the cat sat on the mat today"]) == pytest.approx(100.0)
    assert bleu(["completely different words here now"], ["the cat sat on the mat today"]) < 1.0
    assert bleu([], []) == 0.0


def test_abstention_by_hand() -> None:
    # said "not stated" on q1, q2; truly unanswerable q2, q3 -> P 1/2, R 1/2
    result = abstention([True, True, False, False], [False, True, True, False])
    assert result["precision"] == 0.5 and result["recall"] == 0.5 and result["f1"] == 0.5
    assert abstention([False], [False])["precision"] == 0.0


def _line(qid: str, **extra: object) -> str:
    base = {
        "qid": qid,
        "question": "is it washable?",
        "product": {"id": "p1", "title": "Shirt"},
        "evidence": [{"id": "e1", "text": "Machine wash.", "source": "description"}],
    }
    return json.dumps({**base, **extra})


def test_read_qa(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(_line("1", labels={"e1": 2}, answer="yes") + "\n\n" + _line("2") + "\n", encoding="utf-8")
    items = read_qa(path)
    assert [i.qid for i in items] == ["1", "2"]
    assert items[0].labels == {"e1": 2} and items[0].answer == "yes" and items[0].answerable
    assert items[1].labels is None and items[1].answerable is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"qa.jsonl:1: not valid JSON"),
        ('{"qid": "1", "question": "x"}', "missing 'product'"),
        (json.dumps({"qid": "1", "question": " ", "product": {"id": "p"}}), "empty 'question'"),
        (_line("1") + "\n" + _line("1"), r"qa.jsonl:2: duplicate qid"),
        (_line("1", labels={"e1": "high"}), "integers"),
        ("", "no questions"),
    ],
)
def test_bad_qa_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        read_qa(path)


def test_score_results_by_hand() -> None:
    items = [
        QAItem("1", "q", {"id": "p"}, [], {"a": 1, "b": 0}, "machine wash only"),
        QAItem("2", "q", {"id": "p"}, [], {"a": 0, "b": 0}, None),
        QAItem("3", "q", {"id": "p"}, [], {"a": 0, "b": 2}, "no"),
    ]
    results = [
        QAResult("1", ["a", "b"], "machine wash only", False, 0.01),
        QAResult("2", ["a", "b"], "not stated", True, 0.03),
        QAResult("3", ["a", "b"], "yes", False, 0.02),
    ]
    report = score_results(items, results, k=5)
    # q1: nDCG 1, P@1 1; q3: relevant at rank 2 -> nDCG (2/log2 3)/2, P@1 0
    assert report["ranking"]["questions"] == 2
    assert report["ranking"]["nDCG@5"] == pytest.approx(round((1 + 1 / math.log2(3)) / 2, 4))
    assert report["ranking"]["P@1"] == 0.5
    assert report["answers"]["ROUGE-L"] == 0.5  # 1 for q1, 0 for q3
    assert report["abstention"]["precision"] == 1.0 and report["abstention"]["recall"] == 1.0
    assert report["latency_ms"]["mean"] == pytest.approx(20.0)
