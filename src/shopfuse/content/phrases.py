"""A phrase bank learned from a shop's own copy, and the adaptation of its phrases to another product.

Each description (and title) of a shop becomes *pieces*: clauses for Chinese copy, sentences for
English, each with the checkable phrases it contains (:class:`~shopfuse.content.claims.Lexicon`).
To reuse a piece for another product, every phrase in it must be true of that product: kept where
the product's facts support it, swapped for the product's own value where the product has one of
the same kind (another colour, another category), and otherwise the whole piece is unusable.
Pieces about other items (styling advice), with numbers, or with unknown-word markers are not kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shopfuse.content.claims import Lexicon, Mention, value_key
from shopfuse.content.facts import Fact, ProductFacts
from shopfuse.content.text import clauses, is_chinese, sentences

__all__ = ["Adapted", "PhraseBank", "Piece", "effective_slot", "render_value"]

_REJECT = re.compile(
    r"<unk>|\d|https?:|www\.|[@#]|搭配|配上|叠穿|pair(?:ed)? with|wear (?:it )?with", re.IGNORECASE
)
_CJK = re.compile(r"[\u3400-\u9fff]")
SWAPPABLE = frozenset({"colour", "material", "fabric", "pattern", "gender", "season", "usage"})
"""Kinds of phrase a piece may have swapped for the product's own value. Never the category: copy
about a bra does not become copy about sunglasses by changing one word, so pieces come only from
products of the same kind (:meth:`PhraseBank.neighbours`)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One clause (Chinese) or sentence (English) of a shop's copy, with its checkable phrases."""

    text: str
    lang: str
    mentions: tuple[Mention, ...]
    position: float
    """0 for the opening piece of its copy, 1 for the closing one."""
    source: str
    """The product whose copy it comes from."""


@dataclass(slots=True)
class Adapted:
    """A piece rewritten for a product: its text, the facts it states, and how many swaps it took."""

    piece: Piece
    text: str
    facts: list[Fact]
    swaps: int


def effective_slot(fact: Fact, lexicon: Lexicon) -> str:
    """The kind of fact a value is: its concept's slot (a "department: Ladieswear" is an audience),
    else the slot of its attribute key."""
    for name in sorted(lexicon.concepts_of(fact.value)):
        if name in lexicon.concepts:
            return lexicon.concepts[name].slot
    return fact.slot


def render_value(fact: Fact, lang: str, lexicon: Lexicon) -> str | None:
    """A fact's value in ``lang``: the value itself when it is in that script, else a word of its
    concept in that language (``Navy Blue`` -> ``藏青色``); ``None`` when neither exists. Audiences
    are said with their concept's first word ("Ladieswear" -> "women")."""
    value = fact.value.strip()
    same_script = bool(_CJK.search(value)) == (lang == "zh")
    if effective_slot(fact, lexicon) in ("gender", "category") and lexicon.concepts_of(value) & set(
        lexicon.concepts
    ):
        same_script = False  # "Ladieswear" is said "women", "Tshirts" "t-shirt"
    if same_script:
        return value.lower() if lang == "en" and not value.isupper() else value
    for name in sorted(lexicon.concepts_of(value)):
        concept = lexicon.concepts.get(name)
        if concept is None:
            continue
        for word in concept.words:
            if bool(_CJK.search(word)) == (lang == "zh"):
                return word
    return None


@dataclass(slots=True)
class PhraseBank:
    """Pieces of a shop's copy, and the concepts of the products they describe."""

    lexicon: Lexicon
    pieces: list[Piece] = field(default_factory=list)
    concepts: dict[str, set[str]] = field(default_factory=dict)
    """``{product id: concepts of its attributes}``, for finding similar products."""
    stated: Counter[str] = field(default_factory=Counter)
    """Per kind of fact (slot), how many of the shop's copies state the product's value."""
    present: Counter[str] = field(default_factory=Counter)
    """Per slot, how many products with copy have a value of it."""
    title_orders: dict[str, Counter[tuple[str, ...]]] = field(default_factory=dict)
    """``{lang: Counter(slot sequence)}``: the order in which the shop's titles name things."""
    _by_source: dict[str, list[Piece]] = field(default_factory=dict)

    @classmethod
    def learn(cls, examples: Iterable[tuple[ProductFacts, str]], lexicon: Lexicon) -> PhraseBank:
        """Pieces from ``(product facts, its copy)`` pairs; titles in the facts teach title order."""
        bank = cls(lexicon)
        for facts, text in examples:
            bank.add(facts, text)
        return bank

    def add(self, facts: ProductFacts, text: str) -> None:
        """Add one product's copy."""
        self.concepts[facts.id] = _concepts(facts, self.lexicon)
        if facts.title:
            lang = "zh" if is_chinese(facts.title) else "en"
            order = tuple(m.slot for m in self.lexicon.mentions(facts.title))
            if order:
                self.title_orders.setdefault(lang, Counter())[order] += 1
        if not text or not text.strip():
            return
        self._count_salience(facts, text)
        lang = "zh" if is_chinese(text) else "en"
        parts = [c for s in sentences(text) for c in clauses(s)] if lang == "zh" else sentences(text)
        last = max(len(parts) - 1, 1)
        for i, part in enumerate(parts):
            part = part.strip()
            if len(part) < 3 or len(part) > (60 if lang == "zh" else 240) or _REJECT.search(part):
                continue
            if part.count("(") != part.count(")") or part.count("“") != part.count("”"):
                continue
            mentions = tuple(self.lexicon.mentions(part))
            if _names_something(part, mentions, lang):
                continue
            piece = Piece(part, lang, mentions, i / last, facts.id)
            self.pieces.append(piece)
            self._by_source.setdefault(facts.id, []).append(piece)

    def _count_salience(self, facts: ProductFacts, text: str) -> None:
        from shopfuse.content.claims import check

        slots = {effective_slot(f, self.lexicon) for f in facts.key_facts()}
        said = {effective_slot(f, self.lexicon) for f in check(text, facts, self.lexicon).stated()}
        self.present.update(slots)
        self.stated.update(said & slots)

    def salience(self, slot: str) -> float | None:
        """Share of the shop's copies that state a product's value of ``slot`` (``None``: unseen)."""
        seen = self.present.get(slot, 0)
        return self.stated.get(slot, 0) / seen if seen >= 5 else None

    def neighbours(
        self, concepts: set[str], *, k: int = 40, exclude: str | None = None, kinds: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` products whose attributes are most like ``concepts`` (Jaccard), best first.

        With ``kinds`` (the product's category concepts), only products of the same kind, or of a
        broader or narrower one, are neighbours.
        """
        related: set[str] = set()
        for kind in kinds or set():
            related |= {kind, *self.lexicon.broader.get(kind, set())}
            related |= {c for c, ups in self.lexicon.broader.items() if kind in ups}
        scored = []
        for source, theirs in self.concepts.items():
            if source == exclude or source not in self._by_source:
                continue
            if related and not (theirs & related):
                continue
            union = len(concepts | theirs)
            scored.append((source, len(concepts & theirs) / union if union else 0.0))
        scored.sort(key=lambda s: (-s[1], s[0]))
        return scored[:k]

    def pieces_of(self, source: str) -> list[Piece]:
        """The pieces of one product's copy, in order."""
        return self._by_source.get(source, [])

    def adapt(self, piece: Piece, facts: ProductFacts, lang: str) -> Adapted | None:
        """``piece`` made true of the product, or ``None`` when some phrase of it cannot be."""
        if piece.lang != lang:
            return None
        own = [(f, self.lexicon.concepts_of(f.value) or {value_key(f.value)}) for f in facts.attributes()]
        text = piece.text
        stated: list[Fact] = []
        swaps = 0
        used: set[int] = set()
        for mention in sorted(piece.mentions, key=lambda m: -m.start):  # right to left keeps offsets
            fact = _supporting(mention, own, self.lexicon)
            if fact is not None:
                stated.append(fact)
                continue
            if mention.slot not in SWAPPABLE:
                return None
            swap = next(
                (
                    (i, f)
                    for i, (f, concepts) in enumerate(own)
                    if i not in used and _slot(f, concepts, self.lexicon) == mention.slot
                ),
                None,
            )
            if swap is None:
                return None
            word = render_value(swap[1], lang, self.lexicon)
            if word is None:
                return None
            used.add(swap[0])
            text = text[: mention.start] + word + text[mention.end :]
            stated.append(swap[1])
            swaps += 1
        return Adapted(piece, text, stated, swaps)

    def title_order(self, lang: str) -> tuple[str, ...]:
        """The slot order the shop's titles use most (``gender colour category`` for many shops)."""
        orders = self.title_orders.get(lang)
        if not orders:
            return ("gender", "colour", "pattern", "material", "fabric", "category")
        slots: Counter[str] = Counter()
        position: dict[str, float] = {}
        for order, count in orders.items():
            for i, slot in enumerate(order):
                slots[slot] += count
                position[slot] = position.get(slot, 0.0) + count * (i / max(len(order) - 1, 1))
        common = [s for s, n in slots.items() if n >= max(2, 0.05 * sum(orders.values()))]
        return tuple(sorted(common, key=lambda s: position[s] / slots[s]))


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def _names_something(text: str, mentions: Sequence[Mention], lang: str) -> bool:
    """Whether a piece names something the check cannot judge: a brand or a proper name (a Latin
    word in Chinese copy, a capitalised word inside an English sentence, a trade mark sign)."""
    if "™" in text or "®" in text:
        return True
    inside = [(m.start, m.end) for m in mentions]
    for word in _LATIN_WORD.finditer(text):
        if any(a <= word.start() < b for a, b in inside):
            continue
        if lang == "zh" or (word.start() > 0 and word.group(0)[0].isupper()):
            return True
    return False


def _concepts(facts: ProductFacts, lexicon: Lexicon) -> set[str]:
    out: set[str] = set()
    for fact in facts.attributes():
        out |= lexicon.concepts_of(fact.value) or {value_key(fact.value)}
    return out


def _slot(fact: Fact, concepts: set[str], lexicon: Lexicon) -> str:
    for name in concepts:
        if name in lexicon.concepts:
            return lexicon.concepts[name].slot
    return fact.slot


def _supporting(mention: Mention, own: Sequence[tuple[Fact, set[str]]], lexicon: Lexicon) -> Fact | None:
    for fact, concepts in own:
        for said in mention.concepts:
            for has in concepts:
                if said == has or said in lexicon.broader.get(has, set()):
                    return fact
    return None


def similarity_weight(score: float) -> float:
    """How much a neighbour's similarity counts in choosing its pieces (flat near zero)."""
    return math.sqrt(max(score, 0.0))
