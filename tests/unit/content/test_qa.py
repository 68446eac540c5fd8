"""Grounded product Q&A with the real multilingual sentence encoder: ranking, answers, abstention."""

from __future__ import annotations

import pytest

from shopfuse.content.facts import ProductFacts
from shopfuse.content.qa import (
    FITTED_WEIGHTS,
    NOT_STATED,
    Evidence,
    QARanker,
    answer,
    content_words,
    is_yes_no,
    photo_facts,
    question_slots,
    text_encoder,
)

SHIRT = {
    "id": "0706016001",
    "title": "Slim Fit Cotton Shirt",
    "description": (
        "Shirt in soft cotton poplin with a turn-down collar. Machine wash at 40 degrees. Do not tumble dry."
    ),
    "attributes": {
        "baseColour": "Blue",
        "articleType": "Shirts",
        "material": "Cotton",
        "reviews": ["Runs small, order a size up.", "Lovely shirt, I wear it to work every week."],
    },
}


@pytest.fixture(scope="module")
def ranker() -> QARanker:
    return QARanker(text_encoder(), FITTED_WEIGHTS)


@pytest.fixture(scope="module")
def shirt() -> ProductFacts:
    return ProductFacts.from_record(SHIRT)


def test_question_analysis() -> None:
    assert is_yes_no("Is this machine washable?") and is_yes_no("可以机洗吗？") and is_yes_no("是否防水")
    assert not is_yes_no("What colour is it?") and not is_yes_no("这件是什么颜色")
    assert not is_yes_no("这是什么？") and is_yes_no("能机洗么")
    assert question_slots("what colour is it?") == {"colour"} and question_slots("什么材质的") == {"material"}
    assert content_words("Is this machine washable?") == ["machine", "washable"]


def test_ranker_puts_the_answering_sentence_first(ranker: QARanker, shirt: ProductFacts) -> None:
    result = answer("Is this machine washable?", shirt, ranker=ranker)
    assert result.status == "answered"
    assert result.evidence[0].evidence.id == "description[1]"
    assert result.verdict == "yes" and result.answer == "Yes: Machine wash at 40 degrees."
    scores = [r.score for r in result.evidence]
    assert scores == sorted(scores, reverse=True)


def test_negation_cue_says_no(ranker: QARanker, shirt: ProductFacts) -> None:
    result = answer("Can I tumble dry it?", shirt, ranker=ranker)
    assert result.verdict == "no" and result.answer == "No: Do not tumble dry."
    assert result.to_dict()["citations"][0]["ref"] == "description[2]"


def test_yes_no_without_a_clear_statement_quotes_the_evidence() -> None:
    # "wash" matches but "hand" does not: the evidence neither says yes nor no, so it is quoted.
    facts = ProductFacts.from_record({"id": "x", "description": "Machine wash at 40 degrees."})
    result = answer("Is it hand wash only?", facts, ranker=QARanker(None))
    assert result.verdict is None
    assert not result.answer.startswith(("Yes", "No"))


def test_unanswered_question_is_not_stated(ranker: QARanker, shirt: ProductFacts) -> None:
    for question in ("What is the warranty period?", "有没有防水功能？"):
        result = answer(question, shirt, ranker=ranker)
        assert result.status == "not_stated" and result.answer == NOT_STATED
        assert result.citations == [] and result.to_dict()["specification"] == []
        assert result.evidence, "the ranked evidence is still shown"


def test_chinese_question_about_an_english_product(ranker: QARanker, shirt: ProductFacts) -> None:
    colour = answer("这件衬衫是什么颜色？", shirt, ranker=ranker)
    assert colour.status == "answered"
    assert colour.citations[0].evidence.id == "attribute:baseColour"
    assert colour.answer == "base colour: Blue"
    material = answer("是什么材质的？", shirt, ranker=ranker)
    assert material.citations[0].evidence.id == "attribute:material"


def test_english_question_about_a_chinese_product(ranker: QARanker) -> None:
    facts = ProductFacts.from_record(
        {
            "id": "zh1",
            "attributes": {"类型": "上衣", "颜色": "白色", "材质": "牛仔布"},
            "description": "简约的白色牛仔上衣，宽松版型。可以机洗，不可漂白。",
        }
    )
    result = answer("what colour is it?", facts, ranker=ranker)
    assert result.citations[0].evidence.id == "attribute:颜色"
    assert result.citations[0].evidence.value == "白色"


def test_specification_and_opinions_are_kept_apart(ranker: QARanker, shirt: ProductFacts) -> None:
    result = answer("Does it run small?", shirt, ranker=ranker)
    data = result.to_dict()
    assert data["status"] == "answered"
    assert data["citations"][0]["source"] == "review"
    assert data["answer"].startswith("A customer review says: Runs small")
    assert data["opinions"] and all(o["source"] == "review" for o in data["opinions"])
    assert all(s["source"] != "review" for s in data["specification"])
    # the answer to a specification question comes from the specification, not from a review
    washing = answer("Is this machine washable?", shirt, ranker=ranker).to_dict()
    assert washing["citations"][0]["source"] == "description"


def test_citations_name_the_field_and_sentence(ranker: QARanker, shirt: ProductFacts) -> None:
    cite = answer("Can I tumble dry it?", shirt, ranker=ranker).to_dict()["citations"][0]
    assert cite == {
        "ref": "description[2]",
        "source": "description",
        "field": "description",
        "text": "Do not tumble dry.",
        "score": cite["score"],
    }
    assert 0 < cite["score"] <= 1


def test_shopper_photo_facts_are_evidence(ranker: QARanker, shirt: ProductFacts) -> None:
    extra = photo_facts("MADE IN PORTUGAL\n100% COTTON", {"baseColour": ("Blue", 0.9)})
    assert [f.source for f in extra] == ["your photo"] * 3
    result = answer("Where is it made?", shirt, image_facts=extra, ranker=ranker)
    assert result.citations[0].evidence.source == "your photo"
    assert result.answer == "MADE IN PORTUGAL"


def test_given_evidence_and_attribute_parsing(ranker: QARanker) -> None:
    pool = [
        Evidence.given("1", "batteries required: true", "attribute"),
        Evidence.given("2", "Includes a carrying case and a charger.", "bullet"),
        Evidence.given("3", "yes it needs 4 AA batteries", "CQA"),
    ]
    assert pool[0].is_attribute and pool[0].value == "true" and pool[0].field == "batteries required"
    assert pool[2].kind == "opinion" and pool[1].kind == "specification"
    result = answer("Does it need batteries?", pool, ranker=ranker)
    assert result.citations[0].evidence.id == "1" and result.verdict == "yes"
