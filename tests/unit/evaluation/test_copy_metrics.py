"""Copy metrics against hand-computed values and against the reference packages themselves."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sacrebleu
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from nltk.translate.meteor_score import meteor_score
from rouge_chinese import Rouge

from shopfuse.content.text import words
from shopfuse.errors import CatalogError, ConfigError
from shopfuse.evaluation.copy import (
    CopyRules,
    evaluate_copy,
    load_rules,
    read_candidates,
    read_catalog,
    read_references,
    rule_violations,
)
from shopfuse.evaluation.copy_metrics import (
    chatglm_scores,
    cider_d,
    distinct_n,
    meteor,
    parent,
    rouge_l,
    sacre_bleu,
)

ZH_REF = "这款连衣裙采用白色雪纺面料，清新优雅，搭配收腰设计，显得身材更加修长。"
ZH_HYP = "白色雪纺连衣裙，清新又优雅，收腰的设计让身材显得修长。"
EN_REF = "Semi shiny nylon stockings with a wide, reinforced trim at the top."
EN_HYP = "Shiny nylon stockings with a reinforced trim at the top and a soft feel."


class _NoWordNet:
    """nltk's METEOR without synonyms: a WordNet that knows no word (ours has no synonym module)."""

    def synsets(self, *args: object, **kwargs: object) -> list[object]:
        return []


# --- BLEU ---------------------------------------------------------------------------------------


def test_bleu_is_sacrebleu_with_the_chinese_tokeniser() -> None:
    hyps, refs = [ZH_HYP, "牛仔外套，简约百搭。"], [[ZH_REF], ["这款牛仔外套简约百搭，帅气十足。"]]
    ours = sacre_bleu(hyps, refs, "zh")
    theirs = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs]], tokenize="zh")
    assert ours["score"] == pytest.approx(theirs.score)
    assert "tok:zh" in ours["signature"]
    assert sacre_bleu([EN_HYP], [[EN_REF]], "en")["score"] == pytest.approx(
        sacrebleu.corpus_bleu([EN_HYP], [[EN_REF]]).score
    )


def test_bleu_with_a_varying_number_of_references() -> None:
    refs = [[EN_REF, "Nylon stockings, semi shiny."], [EN_HYP]]
    ours = sacre_bleu([EN_HYP, EN_HYP], refs, "en")["score"]
    streams = [[EN_REF, EN_HYP], ["Nylon stockings, semi shiny.", None]]
    theirs = sacrebleu.corpus_bleu([EN_HYP, EN_HYP], streams)
    assert ours == pytest.approx(theirs.score)


# --- ChatGLM / AdvertiseGen style ------------------------------------------------------------------


def test_chatglm_scores_are_the_ptuning_evaluation() -> None:
    import jieba

    got = chatglm_scores(ZH_HYP, [ZH_REF])
    rouge = Rouge().get_scores(" ".join(jieba.cut(ZH_HYP)), " ".join(jieba.cut(ZH_REF)))[0]
    bleu = sentence_bleu([list(ZH_REF)], list(ZH_HYP), smoothing_function=SmoothingFunction().method3)
    assert got["bleu-4"] == round(bleu * 100, 4)
    for key in ("rouge-1", "rouge-2", "rouge-l"):
        assert got[key] == round(rouge[key]["f"] * 100, 4)
    assert 0 < got["bleu-4"] < 100


def test_chatglm_identical_is_the_maximum_and_empty_is_zero() -> None:
    assert chatglm_scores(ZH_REF, [ZH_REF]) == pytest.approx(
        {"rouge-1": 100.0, "rouge-2": 100.0, "rouge-l": 100.0, "bleu-4": 100.0}, abs=1e-3
    )
    assert set(chatglm_scores("", [ZH_REF]).values()) == {0.0}


# --- METEOR -------------------------------------------------------------------------------------


def test_meteor_by_hand() -> None:
    # a b c d vs a b x c d: 4 exact matches, 2 chunks; P=1, R=0.8
    fmean = (1 * 0.8) / (0.9 * 1 + 0.1 * 0.8)
    assert meteor(list("abcd"), [list("abxcd")]) == pytest.approx((1 - 0.5 * (2 / 4) ** 3) * fmean)
    # a stem match (running ~ runs): P=R=1, one chunk of one match
    assert meteor(["running"], [["runs"]]) == pytest.approx(0.5)
    assert meteor(["shoe"], [["dress"]]) == 0.0


def test_meteor_is_nltk_without_synonyms() -> None:
    hyp, refs = words(EN_HYP), [words(EN_REF), words("Stockings in shiny nylon with a wide trim.")]
    assert meteor(hyp, refs) == pytest.approx(meteor_score(refs, hyp, wordnet=_NoWordNet()))
    zh_hyp, zh_ref = words(ZH_HYP), words(ZH_REF)
    assert meteor(zh_hyp, [zh_ref]) == pytest.approx(meteor_score([zh_ref], zh_hyp, wordnet=_NoWordNet()))


# --- ROUGE-L, distinct ----------------------------------------------------------------------------


def test_rouge_l_by_hand() -> None:
    # LCS(a b c d, a x c d e) = a c d: P = 3/4, R = 3/5
    assert rouge_l(list("abcd"), [list("axcde")]) == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert rouge_l(list("abcd"), [list("zz"), list("abcd")]) == 1.0
    assert rouge_l([], [list("ab")]) == 0.0


def test_distinct_counts_across_products() -> None:
    cands = [["a", "b", "a"], ["a", "b"]]
    assert distinct_n(cands, 1) == pytest.approx(2 / 5)
    assert distinct_n(cands, 2) == pytest.approx(2 / 3)  # (a b) twice, (b a) once
    same = [words(ZH_REF)] * 3
    assert distinct_n(same, 2) == pytest.approx(1 / 3)
    assert distinct_n([words(ZH_REF), words(EN_REF)], 2) == 1.0


# --- CIDEr-D ------------------------------------------------------------------------------------


def test_cider_d_by_hand() -> None:
    # unigrams only: IDF = ln 2 for every n-gram; item 1 identical (cosine 1, x10), item 2 disjoint
    score, items = cider_d([["a", "b"], ["c"]], [[["a", "b"]], [["d"]]], n=1)
    assert items == pytest.approx([10.0, 0.0])
    assert score == pytest.approx(5.0)
    # uni+bigrams, hyp a b c vs ref a b: unigram cosine 2/sqrt(6), bigram 1/sqrt(2),
    # length (bigram counts) 2 vs 1 -> penalty exp(-1/72)
    _, items = cider_d([["a", "b", "c"], ["x"]], [[["a", "b"]], [["y"]]], n=2)
    expected = (2 / math.sqrt(6) + 1 / math.sqrt(2)) / 2 * math.exp(-1 / 72) * 10
    assert items[0] == pytest.approx(expected)


def test_cider_d_identical_is_the_maximum() -> None:
    refs = [[words(ZH_REF)], [words(EN_REF)], [words(EN_HYP)]]
    score, items = cider_d([r[0] for r in refs], refs)
    assert items == pytest.approx([10.0, 10.0, 10.0])
    worse, _ = cider_d([words(ZH_HYP), words(EN_HYP), words(EN_REF)], refs)
    assert worse < score


# --- PARENT -------------------------------------------------------------------------------------


def test_parent_by_hand() -> None:
    table = [("colour", ["red"]), ("type", ["dress"])]
    hyp, ref = ["red", "silk", "dress"], ["a", "red", "dress"]
    p, r, f = parent(hyp, [ref], table, max_order=2)
    # order 1: red, dress in the reference (1 each), silk neither (0) -> 2/3; order 2: (red silk)
    # and (silk dress) half entailed -> 1/2.  Reference recall: order 1 = 2/2 (a has weight 0);
    # order 2 = 0/1.5 -> smoothed to 1e-5.  Table recall = 1 (both values in the text).
    precision = math.sqrt(2 / 3 * 1 / 2)
    recall = math.sqrt(math.sqrt(1 * 1e-5) * 1.0)
    assert p == pytest.approx(precision)
    assert r == pytest.approx(recall)
    assert f == pytest.approx(2 * precision * recall / (precision + recall + 1e-8))


def test_parent_rewards_the_table_and_identical_text() -> None:
    table = [("colour", ["red"]), ("type", ["dress"])]
    ref = ["a", "red", "dress", "for", "summer"]
    _, _, same = parent(ref, [ref], table)
    _, _, other = parent(["a", "blue", "shirt", "for", "summer"], [ref], table)
    assert same == pytest.approx(1.0, abs=1e-6)
    assert other < same


# --- evaluate_copy ------------------------------------------------------------------------------

CATALOG = {
    "a": {"id": "a", "attributes": {"类型": "连衣裙", "颜色": "白色", "材质": "雪纺"}},
    "b": {"id": "b", "attributes": {"类型": "外套", "材质": "牛仔布"}},
}
REFS = {"a": [ZH_REF], "b": ["这款牛仔外套简约百搭，帅气十足，春秋都能穿。"]}


def test_identical_candidates_score_the_maximum() -> None:
    best = evaluate_copy({k: v[0] for k, v in REFS.items()}, REFS)
    worse = evaluate_copy({"a": ZH_HYP, "b": "牛仔外套，简约百搭。"}, REFS)
    assert best["lang"] == "zh"
    assert best["metrics"]["bleu4"] == pytest.approx(100.0)
    assert best["metrics"]["rouge_l"] == 1.0
    assert best["metrics"]["cider_d"] == pytest.approx(10.0)
    assert best["chatglm"]["bleu-4"] == pytest.approx(100.0)
    for key in ("bleu4", "meteor", "rouge_l", "cider_d"):
        assert worse["metrics"][key] < best["metrics"][key]
    assert worse["chatglm"]["rouge-l"] < best["chatglm"]["rouge-l"]


def test_a_contradiction_is_counted() -> None:
    report = evaluate_copy(
        {"a": "这款红色连衣裙采用雪纺面料，显瘦。", "b": "牛仔外套，简约百搭。"}, REFS, CATALOG
    )
    facts = report["facts"]
    assert facts["contradictions"] == 1
    assert facts["items_with_contradiction"] == 1
    item = report["items"][0]["facts"]
    assert item["contradictions"][0]["text"] == "红色"
    assert item["coverage"] == pytest.approx(2 / 3, abs=1e-4)  # dress and chiffon stated, white not
    assert 0 < facts["parent"]["f"] <= 1
    clean = evaluate_copy({"a": ZH_REF}, REFS, CATALOG)
    assert clean["facts"]["contradictions"] == 0 and clean["facts"]["contradiction_rate"] == 0.0


def test_an_unsupported_claim_is_counted_in_english() -> None:
    catalog = {"x": {"id": "x", "attributes": {"type": "Dress", "colour": "White"}}}
    report = evaluate_copy({"x": "A white dress in cotton."}, {"x": ["A white dress."]}, catalog)
    assert report["lang"] == "en" and "chatglm" not in report
    assert report["facts"]["unsupported"] == 1 and report["facts"]["contradictions"] == 0


def test_candidates_without_reference_are_reported() -> None:
    report = evaluate_copy({"a": ZH_HYP, "zz": "多出来的文案"}, REFS)
    assert report["scored"] == 1
    assert report["candidates_without_reference"] == ["zz"]
    assert report["references_without_candidate"] == ["b"]
    with pytest.raises(CatalogError, match="no candidate has a reference"):
        evaluate_copy({"zz": "x"}, REFS)


def test_rule_violations() -> None:
    rules = CopyRules(banned=("最", "best"), min_chars=5, max_chars=12)
    assert rule_violations("the best dress, bestseller", rules) == [
        {"rule": "banned", "word": "best", "count": 1},
        {"rule": "max_chars", "chars": 26, "limit": 12},
    ]
    assert rule_violations("最美", rules) == [
        {"rule": "banned", "word": "最", "count": 1},
        {"rule": "min_chars", "chars": 2, "limit": 5},
    ]
    ruleset = load_rules({"banned": ["best"], "max_chars": 100, "zh": {"banned": ["最"], "max_chars": 10}})
    assert ruleset.for_lang("zh") == CopyRules(("best", "最"), None, 10)
    assert ruleset.for_lang("en") == CopyRules(("best",), None, 100)
    report = evaluate_copy({"a": "最美的白色雪纺连衣裙，清新优雅", "b": "牛仔外套"}, REFS, rules=ruleset)
    assert report["rules"]["violations"] == 2  # a: banned + too long
    assert report["rules"]["items_with_violations"] == 1
    assert report["items"][1]["violations"] == []
    with pytest.raises(ConfigError, match="max_chars"):
        load_rules({"min_chars": 10, "max_chars": 5})
    with pytest.raises(ConfigError, match="unknown"):
        load_rules({"banned_words": ["x"]})


# --- readers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "a", "text": "x"}\n{"text": "y"}\n', r"c\.jsonl:2: no 'id'"),
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', r"c\.jsonl:2: id 'a' already on line 1"),
        ('{"id": "a", "text": "  "}\n', r"c\.jsonl:1: 'text' is empty"),
        ('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', r"c\.jsonl:2: not valid JSON"),
        ('["a", "x"]\n', r"c\.jsonl:1: a line must be a JSON object"),
    ],
)
def test_readers_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        read_candidates(path)


def test_readers(tmp_path: Path) -> None:
    refs = tmp_path / "r.jsonl"
    refs.write_text('{"id": 1, "text": "x"}\n\n{"id": "2", "texts": ["y", "z"]}\n', encoding="utf-8")
    assert read_references(refs) == {"1": ["x"], "2": ["y", "z"]}
    refs.write_text('{"id": 1, "texts": []}\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"r\.jsonl:1: 'texts'"):
        read_references(refs)
    cat = tmp_path / "cat.jsonl"
    cat.write_text('{"id": "a", "attributes": {"颜色": ["白色", "红色"]}}\n{"id": "b", "attributes": 3}\n')
    with pytest.raises(CatalogError, match=r"cat\.jsonl:2: .*'attributes' must be an object"):
        read_catalog(cat)
