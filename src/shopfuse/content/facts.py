"""A product's facts: what copy may state and what answers cite, each with where it comes from.

A product's facts are its stated attributes, attributes recognised from its photos above a
confidence, its title, the sentences of its description, text read in its photos (OCR) and words
heard in its video (speech). Every fact keeps its source and field, so a claim in generated copy or
an answer can name the fact behind it.

Attribute keys differ between shops ("baseColour", "colour_group_name", "颜色"); :func:`slot_of`
maps a key to the kind of fact it holds (``colour``, ``category``, ``material``...) so that checks
compare like with like. Keys it does not know are their own slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from shopfuse.content.text import sentences
from shopfuse.errors import CatalogError

__all__ = [
    "EXCLUSIVE_SLOTS",
    "Fact",
    "ProductFacts",
    "attribute_values",
    "parse_key_values",
    "slot_of",
]

_SLOT_WORDS: dict[str, tuple[str, ...]] = {
    "colour": ("colour", "color", "颜色", "色"),
    "category": (
        "articletype",
        "type",
        "category",
        "producttype",
        "producttypename",
        "类型",
        "品类",
        "类别",
        "kind",
    ),
    "material": ("material", "fabric", "材质", "面料", "composition"),
    "pattern": ("pattern", "graphicalappearance", "graphicalappearancename", "print", "图案"),
    "gender": ("gender", "sex", "性别", "audience"),
    "season": ("season", "季节"),
    "usage": ("usage", "occasion", "场合"),
    "style": ("style", "风格"),
    "size": ("size", "尺码", "尺寸"),
    "fit": ("fit", "版型"),
    "brand": ("brand", "品牌"),
}
EXCLUSIVE_SLOTS = frozenset({"colour", "category", "material", "gender", "size"})
"""Slots where a product has few values and any other value stated is a contradiction."""

_INTERNAL = re.compile(r"^(_|audio_|video_|speech_|scene$|shot$|image_)")
"""Attributes the engine derives for its own use (tags, flags, durations): not product facts."""

_SOURCES = ("attribute", "photo", "title", "description", "ocr", "speech", "review", "answer")


def _key(key: str) -> str:
    return re.sub(r"[\W_]+", "", key.casefold())


def slot_of(key: str) -> str:
    """The kind of fact an attribute key holds: ``baseColour`` -> ``colour``, ``类型`` -> ``category``.

    Exact (normalised) names first, then a known word inside the key ("colour_group_name"); a key
    that names nothing known is its own slot.
    """
    norm = _key(key)
    for slot, names in _SLOT_WORDS.items():
        if norm in names:
            return slot
    for slot, names in _SLOT_WORDS.items():
        if any(len(n) >= 4 and n in norm for n in names) or (slot == "colour" and "颜色" in norm):
            return slot
    return key


def attribute_values(value: Any) -> list[str]:
    """An attribute value as strings: lists flattened, blanks and missing values dropped."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [v for item in value for v in attribute_values(item)]
    if isinstance(value, float) and value != value:  # NaN from a spreadsheet
        return []
    text = str(value).strip()
    return [text] if text else []


def parse_key_values(content: str) -> dict[str, list[str]]:
    """Taobao-style attribute strings, ``类型#上衣*材质#牛仔布*图案#印花*图案#撞色``: keys may repeat."""
    out: dict[str, list[str]] = {}
    for part in content.split("*"):
        if "#" not in part:
            continue
        key, _, value = part.partition("#")
        if key.strip() and value.strip():
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing known about a product, and where it comes from."""

    key: str
    """The field: an attribute key, or ``title``/``description``/``ocr``/``speech``/``reviews``..."""
    value: str
    slot: str
    """What kind of fact (``colour``, ``category``..., an unknown attribute key, or ``text``)."""
    source: str
    """``attribute`` (stated), ``photo`` (recognised), ``title``, ``description``, ``ocr``, ``speech``,
    ``review`` or ``answer`` (customers' words: opinions, not specifications)."""
    confidence: float = 1.0
    index: int = 0
    """Position within its field (the n-th sentence of the description)."""

    @property
    def ref(self) -> str:
        """A short citation: ``attribute:baseColour``, ``description[2]``, ``photo:articleType``."""
        if self.source in ("attribute", "photo"):
            return f"{self.source}:{self.key}"
        if self.source == "title":
            return "title"
        return f"{self.key}[{self.index}]"

    @property
    def is_opinion(self) -> bool:
        """Customers' reviews and answers: opinions, kept apart from specifications."""
        return self.source in ("review", "answer")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the citation."""
        return {**asdict(self), "ref": self.ref}


_TEXT_FIELDS: dict[str, str] = {
    "reviews": "review",
    "review": "review",
    "answers": "answer",
    "community_answers": "answer",
    "qa": "answer",
}


@dataclass(slots=True)
class ProductFacts:
    """Everything known about one product, as citable facts."""

    id: str
    title: str | None = None
    description: str | None = None
    lang: str | None = None
    facts: list[Fact] = field(default_factory=list)

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        *,
        predicted: Mapping[str, tuple[str, float]] | None = None,
        min_confidence: float = 0.5,
    ) -> ProductFacts:
        """Facts from a stored product or a catalogue line.

        ``record`` has ``id`` and optionally ``title``, ``description``, ``lang``, ``ocr_text`` and
        ``attributes`` (values may be strings or lists of strings; ``reviews`` and ``answers`` lists
        become opinion facts; ``speech_text`` becomes speech facts). ``predicted`` holds the model's
        ``{attribute: (value, confidence)}``; a prediction counts when it reaches ``min_confidence``
        and the attribute is not stated.
        """
        if not isinstance(record, Mapping):
            raise CatalogError(f"a product record must be an object, not {type(record).__name__}")
        raw_id = record.get("id")
        if raw_id is None or not str(raw_id).strip():
            raise CatalogError("a product record has no 'id'")
        attributes = record.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            raise CatalogError(f"product {raw_id}: 'attributes' must be an object")
        title = _text(record.get("title"))
        description = _text(record.get("description"))
        facts: list[Fact] = []
        seen: set[tuple[str, str]] = set()
        for key, value in attributes.items():
            key = str(key)
            if key in _TEXT_FIELDS:
                for i, text in enumerate(attribute_values(value)):
                    facts.append(Fact(key, text, "text", _TEXT_FIELDS[key], index=i))
                continue
            if key == "speech_text":
                for i, line in enumerate(sentences(str(value or ""))):
                    facts.append(Fact("speech", line, "text", "speech", index=i))
                continue
            if _INTERNAL.match(key) or isinstance(value, bool):
                continue
            for text in attribute_values(value):
                if (key, text.casefold()) not in seen:
                    seen.add((key, text.casefold()))
                    facts.append(Fact(key, text, slot_of(key), "attribute"))
        stated_slots = {f.slot for f in facts if f.source == "attribute"}
        for key, (value, confidence) in (predicted or {}).items():
            slot = slot_of(key)
            if confidence >= min_confidence and slot not in stated_slots and str(value).strip():
                facts.append(Fact(key, str(value), slot, "photo", confidence=round(float(confidence), 4)))
        if title:
            facts.append(Fact("title", title, "text", "title"))
        for i, line in enumerate(sentences(description or "")):
            facts.append(Fact("description", line, "text", "description", index=i))
        for i, line in enumerate(x.strip() for x in str(record.get("ocr_text") or "").splitlines()):
            if line:
                facts.append(Fact("ocr", line, "text", "ocr", index=i))
        lang = _text(record.get("lang"))
        return cls(str(raw_id), title, description, lang, facts)

    def attributes(self) -> list[Fact]:
        """Attribute facts, stated and recognised."""
        return [f for f in self.facts if f.source in ("attribute", "photo")]

    def texts(self) -> list[Fact]:
        """Text facts: title, description sentences, OCR and speech lines, reviews and answers."""
        return [f for f in self.facts if f.slot == "text"]

    def values(self, slot: str) -> list[str]:
        """The attribute values of one slot."""
        return [f.value for f in self.attributes() if f.slot == slot]

    def key_facts(self) -> list[Fact]:
        """The attribute facts copy should state: one per distinct value, stated before recognised."""
        out: dict[str, Fact] = {}
        for fact in sorted(self.attributes(), key=lambda f: f.source != "attribute"):
            out.setdefault(fact.value.casefold(), fact)
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "lang": self.lang,
            "facts": [f.to_dict() for f in self.facts],
        }


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def records_by_id(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """``{id: record}``, refusing repeated ids."""
    out: dict[str, Mapping[str, Any]] = {}
    for record in records:
        key = str(record.get("id"))
        if key in out:
            raise CatalogError(f"product id {key!r} appears twice")
        out[key] = record
    return out
