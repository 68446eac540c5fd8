"""Claims in copy checked against a product's facts, in English and Chinese."""

from __future__ import annotations

import pytest

from shopfuse.content.claims import Lexicon, check, keep_supported
from shopfuse.content.facts import ProductFacts, parse_key_values


@pytest.fixture(scope="module")
def skirt() -> ProductFacts:
    return ProductFacts.from_record(
        {
            "id": "1",
            "title": "Palm Tree Girls White Skirts",
            "attributes": {
                "gender": "Women",
                "articleType": "Skirts",
                "baseColour": "Navy Blue",
                "season": "Summer",
            },
        }
    )


def statuses(text: str, facts: ProductFacts, lexicon: Lexicon | None = None) -> dict[str, str]:
    return {c.text: c.status for c in check(text, facts, lexicon).claims}


def test_a_broader_word_is_supported_and_the_fact_is_cited(skirt: ProductFacts) -> None:
    result = check("A blue skirt for summer.", skirt)
    assert {c.text: c.status for c in result.claims} == {
        "blue": "supported",
        "skirt": "supported",
        "summer": "supported",
    }
    assert result.claims[0].fact is not None and result.claims[0].fact.ref == "attribute:baseColour"


def test_contradictions_in_colour_category_and_audience_are_caught(skirt: ProductFacts) -> None:
    found = statuses("A red shirt for men.", skirt)
    assert found == {"red": "contradicted", "shirt": "contradicted", "men": "contradicted"}


def test_a_material_nothing_states_is_unsupported_not_contradicted(skirt: ProductFacts) -> None:
    assert statuses("Made of silk.", skirt) == {"silk": "unsupported"}


def test_other_items_in_styling_advice_are_not_claims(skirt: ProductFacts) -> None:
    assert statuses("A navy skirt, pair it with white sneakers.", skirt) == {
        "navy": "supported",
        "skirt": "supported",
    }
    zh = ProductFacts.from_record({"id": "2", "attributes": parse_key_values("类型#裙*颜色#白色")})
    assert statuses("白色的裙子，搭配牛仔裤。", zh) == {"白色": "supported", "裙子": "supported"}


def test_chinese_claims_against_english_facts(skirt: ProductFacts) -> None:
    assert statuses("这款蓝色半身裙", skirt) == {"蓝色": "supported", "半身裙": "supported"}
    assert statuses("红色连衣裙", skirt)["红色"] == "contradicted"


def test_single_characters_count_only_as_whole_words() -> None:
    top = ProductFacts.from_record({"id": "3", "attributes": parse_key_values("类型#上衣*颜色#白色")})
    assert "包" not in statuses("包裹身材的白色上衣", top)  # 包 (bag) inside 包裹 (wrap)
    assert statuses("配一个包", top) == {}  # after a pairing cue: about another item


def test_numbers_and_sizes_need_the_same_figure() -> None:
    facts = ProductFacts.from_record(
        {"id": "4", "description": "Chain length 45 cm.", "attributes": {"size": "M"}}
    )
    found = statuses("A 45 cm chain, also 50 cm. Size M, size L.", facts)
    assert found["45 cm"] == "supported"
    assert found["50 cm"] == "contradicted"
    assert found["Size M"] == "supported"
    assert found["size L"] == "contradicted"


def test_plural_only_kinds_are_not_read_in_adjectives() -> None:
    socks = ProductFacts.from_record({"id": "5", "attributes": {"type": "Socks"}})
    assert statuses("Short, fine-knit socks.", socks) == {"socks": "supported"}


def test_the_shop_vocabulary_makes_its_own_values_checkable() -> None:
    products = [
        ProductFacts.from_record({"id": "a", "attributes": parse_key_values("类型#裙*裙型#a字")}),
        ProductFacts.from_record({"id": "b", "attributes": parse_key_values("类型#裙*裙型#百褶")}),
    ]
    lexicon = Lexicon.build(products)
    assert statuses("百褶裙", products[0], lexicon)["百褶"] == "unsupported"
    assert statuses("a字裙", products[0], lexicon)["a字"] == "supported"


def test_keep_supported_drops_only_the_failing_clauses(skirt: ProductFacts) -> None:
    text, dropped = keep_supported("A blue skirt for summer, in red silk. Lovely.", skirt)
    assert text == "A blue skirt for summer. Lovely."
    assert dropped == ["in red silk."]
    assert keep_supported("白色上衣，红色领口，很好看。", skirt)[0] == "很好看。"  # claims nothing


def test_coverage_counts_the_key_facts_stated(skirt: ProductFacts) -> None:
    result = check("A navy skirt for women.", skirt)
    assert {f.key for f in result.stated()} == {"baseColour", "articleType", "gender"}
    assert result.coverage == pytest.approx(3 / 4)


def test_a_compound_is_true_when_its_parts_are() -> None:
    hoodie = ProductFacts.from_record(
        {"id": "6", "attributes": parse_key_values("类型#上衣*衣样式#卫衣*衣款式#连帽")}
    )
    assert statuses("连帽卫衣", hoodie) == {"连帽卫衣": "supported"}
    plain = ProductFacts.from_record({"id": "7", "attributes": parse_key_values("类型#上衣*衣样式#卫衣")})
    assert statuses("连帽卫衣", plain)["连帽卫衣"] != "supported"  # hooded is not stated


def test_functional_filler_is_a_claim_to_back() -> None:
    jacket = ProductFacts.from_record({"id": "8", "attributes": {"type": "Jacket", "features": "Waterproof"}})
    found = statuses("A waterproof, breathable jacket, perfect for all seasons.", jacket)
    assert found == {
        "waterproof": "supported",
        "breathable": "unsupported",
        "jacket": "supported",
        "all seasons": "unsupported",
    }
    assert statuses("轻薄透气，适合夏日穿用", jacket) == {
        "轻薄": "unsupported",
        "透气": "unsupported",
        "夏日": "unsupported",
    }
