"""Which wearable kind a product is, from what its catalogue states or what the model recognised.

Catalogues never say "try-on": they say ``product_type_name: Earring``, ``articleType: Necklace and
Chains``, ``品类: 耳环`` or nothing at all, and the model's recognised type fills the gap. The kind is
read from the attribute values first (stated, then recognised), the title last, matching whole words
of :data:`WORDS` and the glossary's other-language words for them (``shopfuse.query.glossary``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shopfuse.query.glossary import translations

__all__ = ["KINDS", "PLACED", "WORDS", "kind_from_text", "kind_of"]

WORDS: dict[str, tuple[str, ...]] = {
    "earrings": (
        "earring",
        "earrings",
        "ear cuff",
        "earcuff",
        "stud",
        "studs",
        "hoop",
        "hoops",
        "ear jacket",
    ),
    "necklace": ("necklace", "necklaces", "chain", "chains", "choker", "chokers", "collar necklace"),
    "pendant": ("pendant", "pendants", "locket"),
    "ring": ("ring", "rings"),
    "bracelet": ("bracelet", "bracelets", "bangle", "bangles", "cuff bracelet"),
    "watch": ("watch", "watches", "wristwatch"),
    "sunglasses": ("sunglasses", "sunglass", "shades"),
}
"""English words (lower case, whole words) that name each wearable kind."""
KINDS = tuple(WORDS)
"""Every wearable kind."""
PLACED = ("earrings", "necklace", "ring")
"""The kinds :mod:`shopfuse.tryon.render` can place; a pendant is worn as a necklace."""
_AS = {"pendant": "necklace"}
_TYPE_KEYS = ("type", "articletype", "product_type_name", "product_type", "category", "subcategory")
"""Attribute keys (case-folded, partial match) that name a product's type: read before the others."""
_NOT = re.compile(r"\b(ring ring|key ?ring|o-?ring|earring holder|watch strap|hipbelt|bikini|top)\b")
"""Phrases that contain a kind's word without being that kind ("Ring Ring Triangle Top" is a bikini)."""


def _pattern() -> list[tuple[str, re.Pattern[str]]]:
    extra: dict[str, list[str]] = {kind: [] for kind in WORDS}
    for word, english in translations().items():
        for kind, words in WORDS.items():
            if english.casefold() in words:
                extra[kind].append(word)
    out = []
    for kind, words in WORDS.items():
        latin = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        other = "|".join(re.escape(w) for w in extra[kind])
        text = rf"\b(?:{latin})\b" + (f"|{other}" if other else "")
        out.append((kind, re.compile(text, re.IGNORECASE)))
    return out


_PATTERNS = _pattern()


def kind_from_text(text: str) -> str | None:
    """The wearable kind one value or title names ("Necklace and Chains" -> ``necklace``), or None.

    Earrings come first ("Hoop earring" names both a hoop and an earring), a ring last (it is a
    word inside many others' names: "Ring Pack" is a ring, "Earring" holds it but is matched first).
    """
    text = str(text or "").strip()
    if not text or _NOT.search(text.casefold()):
        return None
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return _AS.get(kind, kind)
    return None


def _values(attributes: Mapping[str, Any]) -> Iterable[str]:
    typed = [k for k in attributes if any(t in str(k).casefold().replace(" ", "") for t in _TYPE_KEYS)]
    for key in [*typed, *(k for k in attributes if k not in typed)]:
        value = attributes[key]
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                yield str(item)


def kind_of(record: Mapping[str, Any], predicted: Mapping[str, Any] | None = None) -> str | None:
    """The wearable kind of a stored product or catalogue line, or None when it is not wearable jewellery.

    ``record`` is a stored product (``attributes``, ``title``); ``predicted`` the model's recognised
    ``{attribute: value}`` or ``{attribute: (value, confidence)}``, used where the catalogue states
    no kind. Type-like attributes are read first, then the other attributes, then the title.
    """
    attributes = record.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        attributes = {}
    for value in _values(attributes):
        kind = kind_from_text(value)
        if kind:
            return kind
    if predicted:
        plain = {k: v[0] if isinstance(v, list | tuple) else v for k, v in predicted.items()}
        for value in _values(plain):
            kind = kind_from_text(value)
            if kind:
                return kind
    for field in ("title", "category"):
        kind = kind_from_text(str(record.get(field) or ""))
        if kind:
            return kind
    return None
