"""``RankingSettings.glossary`` turns the hand-written word list off; the shop's own values still match."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

from shopfuse.encoders.base import TextEncoder
from shopfuse.model.shop_model import RankingSettings
from shopfuse.query.glossary import translations, value_aliases
from shopfuse.query.ranking import AttributeRanker, query_understanding
from shopfuse.registry import registry

VOCABULARY = {
    "colour": ["Black", "White", "Dark Blue", "Blue"],
    "type": ["Trousers", "Jeans", "Cardigan", "Shirt", "Leggings/Tights", "Dress"],
}


@cache
def encoder() -> TextEncoder:
    import shopfuse.encoders  # noqa: F401

    return registry.create("text_encoder", "use-multilingual")


def read(query: str, *, glossary: bool) -> dict[str, str]:
    qu = query_understanding(encoder(), VOCABULARY, RankingSettings(glossary=glossary))
    return {c.label: c.value for c in qu.parse(query).constraints}


def test_off_a_glossary_only_word_no_longer_maps_through_the_hand_list() -> None:
    # 打底裤 and 开衫 reach their values only as glossary aliases: the encoder alone puts them elsewhere
    assert "打底裤" in value_aliases(encoder(), VOCABULARY)["type"]["Leggings/Tights"]
    assert read("打底裤", glossary=True) == {"type": "Leggings/Tights"}
    assert read("打底裤", glossary=False).get("type") != "Leggings/Tights"
    assert read("开衫", glossary=True) == {"type": "Cardigan"}
    assert read("开衫", glossary=False).get("type") != "Cardigan"
    off = query_understanding(encoder(), VOCABULARY, RankingSettings(glossary=False))
    assert off.translations == {} and off.narrower == {}
    assert all(text in {v.replace("/", " ") for v in off.values} for text in off.texts), "only value names"
    assert "开衫" in translations()


def test_off_the_shops_own_values_still_match() -> None:
    assert read("black cardigan", glossary=False) == {"colour": "Black", "type": "Cardigan"}
    assert read("Leggings/Tights", glossary=False) == {"type": "Leggings/Tights"}
    # through the multilingual encoder, no word list: common words still land on the shop's value
    assert read("黑色连衣裙", glossary=False) == {"colour": "Black", "type": "Dress"}


def test_the_ranker_follows_the_setting_at_query_time() -> None:
    settings = RankingSettings()
    model: Any = SimpleNamespace(
        config=SimpleNamespace(ranking=settings), heads=SimpleNamespace(classes_=VOCABULARY)
    )
    ranker = AttributeRanker(store=None, model=model, text=encoder())  # type: ignore[arg-type]
    assert {c.value for c in ranker.parse("开衫").constraints} == {"Cardigan"}
    settings.glossary = False
    assert "Cardigan" not in {c.value for c in ranker.parse("开衫").constraints}
    settings.glossary = True
    assert {c.value for c in ranker.parse("开衫").constraints} == {"Cardigan"}
