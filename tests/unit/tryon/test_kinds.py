"""Which wearable kind a product is, from real catalogue values in English and Chinese."""

from __future__ import annotations

import pytest

from shopfuse.tryon.kinds import kind_from_text, kind_of


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Earring", "earrings"),
        ("Earrings", "earrings"),
        ("Necklace and Chains", "necklace"),
        ("Pendant", "necklace"),
        ("Ring", "ring"),
        ("Class Aligator Ring Pack", "ring"),
        ("Bracelet", "bracelet"),
        ("Watches", "watch"),
        ("Sunglasses", "sunglasses"),
        ("耳环", "earrings"),
        ("耳钉", "earrings"),
        ("项链", "necklace"),
        ("戒指", "ring"),
        ("Ring Ring Triangle Top", None),  # an H&M bikini top
        ("Ringo hipbelt", None),
        ("Trousers", None),
        ("", None),
    ],
)
def test_kind_from_text(text: str, kind: str | None) -> None:
    assert kind_from_text(text) == kind


def test_kind_of_reads_type_attributes_first_then_predictions_then_the_title() -> None:
    hm = {"id": "1", "title": "Cool Vega", "attributes": {"product_type_name": "Earring", "colour": "Gold"}}
    assert kind_of(hm) == "earrings"
    # the type attribute wins over a word elsewhere
    typed = {"id": "2", "attributes": {"section": "Rings and things", "articleType": "Necklace and Chains"}}
    assert kind_of(typed) == "necklace"
    bare = {"id": "3", "title": "Flirty Samba"}
    assert kind_of(bare) is None
    assert kind_of(bare, {"product_type_name": ("Ring", 0.9)}) == "ring"
    assert kind_of({"id": "4", "title": "Silver hoop earrings"}) == "earrings"
    assert kind_of({"id": "5", "title": "T-shirt", "attributes": {"type": "T-shirt"}}) is None
