"""Query understanding with the real multilingual encoder: constraints, aliases, rewrites."""

from __future__ import annotations

from functools import cache

import pytest

from shopfuse.encoders.base import TextEncoder
from shopfuse.errors import ConfigError
from shopfuse.query import QueryUnderstanding, tokenize
from shopfuse.query.glossary import concepts, narrower_values, translations, value_aliases
from shopfuse.registry import registry

VOCABULARY = {
    "colour": ["Black", "White", "Beige", "Light Beige", "Dark Blue", "Blue", "Red"],
    "type": ["Trousers", "Dress", "Cardigan", "Shirt", "T-shirt", "Socks", "Leggings/Tights"],
    "season": ["Summer", "Winter"],
}


@cache
def encoder() -> TextEncoder:
    import shopfuse.encoders  # noqa: F401

    return registry.create("text_encoder", "use-multilingual")


def understanding(**kwargs: object) -> QueryUnderstanding:
    aliases = value_aliases(encoder(), VOCABULARY)
    return QueryUnderstanding(encoder(), VOCABULARY, aliases=aliases, **kwargs)  # type: ignore[arg-type]


def as_dict(query: str, qu: QueryUnderstanding | None = None) -> dict[str, str]:
    return {c.label: c.value for c in (qu or understanding()).parse(query).constraints}


def test_tokenize_words_and_chinese() -> None:
    assert tokenize("Black  Leggings/Tights, size-M") == ["Black", "Leggings/Tights", "size-M"]
    assert tokenize("黑色裤子") == ["黑色", "裤子"]
    assert "T恤" in tokenize("白色T恤")
    assert tokenize("   ") == []


def test_english_and_chinese_queries_give_the_same_constraints() -> None:
    qu = understanding()
    for english, chinese in [
        ("black trousers", "黑色裤子"),
        ("dark blue dress", "深蓝色连衣裙"),
        ("beige cardigan", "米色开衫"),
        ("white t-shirt", "白色T恤"),
    ]:
        assert as_dict(english, qu) == as_dict(chinese, qu), (english, chinese)
    assert as_dict("black trousers", qu) == {"colour": "Black", "type": "Trousers"}


def test_rewrite_is_in_the_catalogues_words_and_free_words_stay() -> None:
    parsed = understanding().parse("红色 碎花 连衣裙 夏天")
    assert {c.label for c in parsed.constraints} == {"colour", "type", "season"}
    assert parsed.rewrite.split() == ["Red", "碎花", "Dress", "Summer"]
    assert parsed.free == ["碎花"]


def test_longer_exact_phrase_wins_and_the_best_value_counts_fully() -> None:
    qu = understanding()
    assert as_dict("light beige trousers", qu)["colour"] == "Light Beige"
    constraint = next(c for c in qu.parse("深蓝色").constraints if c.label == "colour")
    assert constraint.value == "Dark Blue"
    assert constraint.values["Dark Blue"] == 1.0 and all(0 < w <= 1 for w in constraint.values.values())


def test_unrelated_words_give_no_constraint() -> None:
    assert understanding().parse("something for my grandmother").constraints == []
    assert understanding().parse("").constraints == []


def test_without_glossary_chinese_words_are_weaker() -> None:
    plain = QueryUnderstanding(encoder(), VOCABULARY)
    assert as_dict("black trousers", plain) == {"colour": "Black", "type": "Trousers"}
    # USE puts 开衫 nearer to "Shirt" than to "Cardigan": the glossary is what fixes it
    assert as_dict("开衫", plain).get("type") != "Cardigan"
    assert as_dict("开衫") == {"type": "Cardigan"}


def test_glossary_links_values_by_their_english_words() -> None:
    aliases = value_aliases(encoder(), VOCABULARY)
    assert "黑色" in aliases["colour"]["Black"]
    assert "打底裤" in aliases["type"]["Leggings/Tights"]
    assert all(english and other for english, other in concepts())


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        QueryUnderstanding(encoder(), VOCABULARY, threshold=0.0)
    with pytest.raises(ConfigError, match="narrower_weight"):
        QueryUnderstanding(encoder(), VOCABULARY, narrower_weight=2.0)


SHOP_B = {"type": ["Trousers", "Jeans", "Track Pants", "Shorts", "Tshirts", "Tops", "Briefs", "Dresses"]}


def test_a_broad_kind_accepts_the_shops_narrower_kinds() -> None:
    kinds = narrower_values(encoder(), SHOP_B)["type"]
    assert set(kinds["Trousers"]) == {"Jeans", "Track Pants"}  # not Shorts: they are not trousers
    assert "Tshirts" in kinds["Tops"] and "Shorts" not in kinds and "Jeans" not in kinds
    qu = QueryUnderstanding(
        encoder(),
        SHOP_B,
        aliases=value_aliases(encoder(), SHOP_B),
        narrower=narrower_values(encoder(), SHOP_B),
    )
    for query in ("black trousers", "黑色长裤"):
        (constraint,) = qu.parse(query).constraints
        assert constraint.values == {"Trousers": 1.0, "Jeans": 0.5, "Track Pants": 0.5}, query
    # the English words of a concept are aliases too: another shop's name for the same kind
    (underwear,) = qu.parse("underwear bottom").constraints
    assert underwear.value == "Briefs"
    # without a narrower map nothing is added
    plain = QueryUnderstanding(encoder(), SHOP_B, aliases=value_aliases(encoder(), SHOP_B))
    assert plain.parse("trousers").constraints[0].values == {"Trousers": 1.0}


def test_a_known_word_for_a_kind_the_shop_lacks_falls_back_like_its_english() -> None:
    vocabulary = {"type": ["Shirts", "Sweatshirts", "Trousers", "Backpacks", "Tops"]}
    kwargs = {"aliases": value_aliases(encoder(), vocabulary), "translations": translations()}
    qu = QueryUnderstanding(encoder(), vocabulary, **kwargs)  # type: ignore[arg-type]
    assert translations()["开衫"] == "cardigan"
    for english, chinese in [("cardigan", "开衫"), ("vest top", "背心"), ("hoodie", "连帽衫")]:
        assert as_dict(english, qu) == as_dict(chinese, qu), (english, chinese)
    assert as_dict("背心", qu).get("type") != "Backpacks"
