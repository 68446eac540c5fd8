"""The default copy generator: plan what to say, reuse the shop's own phrasing, check every claim.

1. **Plan.** The product's key facts, ordered by what copy leads with (the kind of product, its
   colour, material, pattern, then the rest); an audience moves the facts it names forward.
2. **Retrieve.** The products whose attributes are most like this one's, in the phrase bank
   (:class:`~shopfuse.content.phrases.PhraseBank`, the shop's own descriptions).
3. **Realise.** Their pieces rewritten for this product (supported phrases kept, others swapped for
   this product's values, pieces that cannot be made true dropped), chosen greedily to cover the
   plan, with a seeded jitter so that similar products do not get the same copy; in their original
   order, so openings open and closings close. Facts no piece states are said with short phrases
   of our own, several per kind of fact.
4. **Check.** :func:`~shopfuse.content.claims.keep_supported` on the result, and the claims listed.

Titles follow the order in which the shop's own titles name things (learned from the bank).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shopfuse.content.base import Copy, CopyRequest
from shopfuse.content.claims import Lexicon, check, default_lexicon, keep_supported, value_key
from shopfuse.content.facts import Fact, ProductFacts
from shopfuse.content.phrases import Adapted, PhraseBank, effective_slot, render_value, similarity_weight
from shopfuse.content.text import words
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = ["PhraseGenerator"]

LEAD_ORDER = (
    "category",
    "colour",
    "material",
    "fabric",
    "pattern",
    "style",
    "fit",
    "gender",
    "season",
    "usage",
)
"""What copy says first; kinds not listed follow in the catalogue's order."""
LIMITS = {"paragraph": 8, "bullets": 5, "title": 1}
DETAILS = 2
"""Pieces without checkable claims a paragraph may add from the copy it already draws on."""
"""Most pieces per style (Chinese clauses are short, so a paragraph takes up to 8)."""

_OWN_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "colour": ("In {v}.", "Comes in {v}.", "Finished in {v}.", "A {v} colourway."),
        "material": ("Made from {v}.", "Crafted in {v}.", "In soft {v}."),
        "fabric": ("Made from {v}.", "Crafted in {v}."),
        "pattern": ("With a {v} design.", "Features a {v} look.", "A {v} finish."),
        "gender": ("Designed for {v}.", "Made for {v}."),
        "season": ("Made for {v}.", "A {v} essential."),
        "usage": ("Made for {v} wear.", "Ready for {v} days."),
        "category": ("A {v}.", "This {v}."),
        "*": ("{K}: {v}.",),
    },
    "zh": {
        "colour": ("{v}配色，", "选用{v}，", "{v}的色调，"),
        "material": ("采用{v}面料，", "{v}材质，", "选用{v}面料，"),
        "fabric": ("采用{v}面料，", "{v}材质，"),
        "pattern": ("{v}设计，", "点缀{v}图案，", "{v}元素，"),
        "gender": ("专为{v}设计，",),
        "season": ("适合{v}穿着，", "{v}必备，"),
        "usage": ("{v}场合也适用，", "适合{v}穿搭，"),
        "category": ("这款{v}，", "这件{v}，"),
        "style": ("{v}风格，", "尽显{v}风格，"),
        "*": ("{v}设计，", "{v}的细节，"),
    },
}
"""Our own short phrases for facts the shop's copy never phrased: several per kind, chosen per product."""


@dataclass(slots=True)
class Plan:
    """What to say, in order."""

    facts: list[Fact]
    audience_words: set[str] = field(default_factory=set)


def plan(
    facts: ProductFacts,
    request: CopyRequest,
    lexicon: Lexicon,
    bank: PhraseBank | None = None,
    *,
    min_salience: float = 0.0,
) -> Plan:
    """The key facts in the order copy says them; audience-named facts first after the category.

    With ``min_salience`` > 0, kinds of fact the shop's own copy (``bank``) states less often than
    that are left out, like the shop's writers leave them out (the kind of product always stays).
    """
    key = facts.key_facts()
    audience = request.audience or ""
    named: set[str] = set()
    for mention in lexicon.mentions(audience):
        named |= set(mention.concepts)

    def rank(item: tuple[int, Fact]) -> tuple[int, int, int]:
        index, fact = item
        slot = effective_slot(fact, lexicon)
        lead = LEAD_ORDER.index(slot) if slot in LEAD_ORDER else len(LEAD_ORDER)
        boosted = bool(named & lexicon.concepts_of(fact.value))
        return (0 if slot == "category" else 1, 0 if boosted else 1, lead * 100 + index)

    ordered = [f for _, f in sorted(enumerate(key), key=rank)]
    kinds = [f for f in ordered if effective_slot(f, lexicon) == "category"]
    known = [f for f in kinds if lexicon.concepts_of(f.value) & set(lexicon.concepts)]
    said = _kinds_to_say(known, lexicon) if known else kinds[-1:]
    # a shop's broad levels ("Apparel", "Topwear") and parallel groupings ("Under-, Nightwear" next
    # to "Underwear bottom") are not said: one kind, and the kinds narrower than it
    unsaid = {id(f) for f in kinds} - {id(f) for f in said}
    ordered = [f for f in ordered if id(f) not in unsaid]
    if bank is not None and min_salience > 0:
        ordered = [
            f
            for f in ordered
            if effective_slot(f, lexicon) == "category"
            or (bank.salience(effective_slot(f, lexicon)) or 1.0) >= min_salience
        ]
    if request.style == "title":
        ordered = ordered[:4]
    return Plan(ordered, set(words(audience)))


def _kinds_to_say(known: list[Fact], lexicon: Lexicon) -> list[Fact]:
    """The first known kind in catalogue order, with the known kinds narrower than it."""
    first = known[0]
    mine = lexicon.concepts_of(first.value)
    out = [first]
    for fact in known[1:]:
        theirs = lexicon.concepts_of(fact.value)
        if any(m in lexicon.broader.get(t, set()) for t in theirs for m in mine):
            out.append(fact)
    return out


@registry.register("copy_generator", "phrases")
class PhraseGenerator:
    """Grounded copy from the shop's own phrasing (no language model). See the module docstring."""

    name = "phrases"

    def __init__(
        self,
        bank: PhraseBank | None = None,
        *,
        lexicon: Lexicon | None = None,
        neighbours: int = 40,
        seed: int = 0,
        min_salience: float = 0.0,
    ) -> None:
        """``min_salience``: say only the kinds of fact the shop's copy states at least this often
        (0: every key fact, the default; 0.3 writes like a shop whose copy skips colours)."""
        self.lexicon = lexicon or (bank.lexicon if bank is not None else default_lexicon())
        self.bank = bank if bank is not None else PhraseBank(self.lexicon)
        self.neighbours = neighbours
        self.seed = seed
        if not 0.0 <= min_salience <= 1.0:
            raise ConfigError(f"min_salience must be in [0, 1], not {min_salience}")
        self.min_salience = min_salience

    @classmethod
    def from_examples(
        cls, examples: Iterable[tuple[ProductFacts, str]], *, lexicon: Lexicon | None = None, **options: Any
    ) -> PhraseGenerator:
        """A generator whose bank is learned from ``(product facts, copy)`` pairs (its vocabulary too)."""
        pairs = list(examples)
        lexicon = lexicon or Lexicon.build(f for f, _ in pairs)
        return cls(PhraseBank.learn(pairs, lexicon), lexicon=lexicon, **options)

    def generate(self, facts: ProductFacts, request: CopyRequest) -> Copy:
        """Copy for one product; every checkable claim in it is supported by ``facts``."""
        started = time.perf_counter()
        lexicon = self.lexicon
        the_plan = plan(facts, request, lexicon, self.bank, min_salience=self.min_salience)
        rng = random.Random(int(hashlib.sha1(f"{self.seed}:{facts.id}".encode()).hexdigest()[:12], 16))
        if request.style == "title":
            text = self._title(facts, the_plan, request.lang)
        else:
            chosen, missing = self._choose(facts, the_plan, request, rng)
            text = self._join(chosen, missing, request, rng)
        text, dropped = keep_supported(text, facts, lexicon)
        result = check(text, facts, lexicon)
        return Copy(
            id=facts.id,
            text=text,
            lang=request.lang,
            style=request.style,
            generator=self.name,
            claims=[c.to_dict() for c in result.claims],
            dropped=dropped,
            seconds=time.perf_counter() - started,
        )

    # -- title -----------------------------------------------------------------------------------

    def _title(self, facts: ProductFacts, the_plan: Plan, lang: str) -> str:
        order = self.bank.title_order(lang)
        by_slot: dict[str, str] = {}
        for fact in the_plan.facts:
            word = render_value(fact, lang, self.lexicon)
            slot = effective_slot(fact, self.lexicon)
            if word and slot not in by_slot:
                by_slot[slot] = word
        slots = [s for s in order if s in by_slot] + [s for s in by_slot if s not in order]
        if "category" in slots:  # the kind of product ends a title in both languages
            slots = [s for s in slots if s != "category"] + ["category"]
        parts: list[str] = []
        for word in (by_slot[s] for s in slots):  # "长裤" already says "裤"
            if not any(word.casefold() in p.casefold() for p in parts):
                parts = [p for p in parts if p.casefold() not in word.casefold()] + [word]
        if lang == "zh":
            return "".join(parts)
        return " ".join(p[:1].upper() + p[1:] for p in parts)

    # -- paragraph and bullets ---------------------------------------------------------------------

    def _choose(
        self, facts: ProductFacts, the_plan: Plan, request: CopyRequest, rng: random.Random
    ) -> tuple[list[Adapted], list[Fact]]:
        """Pieces covering the plan, in their original order, and the planned facts none states."""
        lexicon = self.lexicon
        own = set().union(*(lexicon.concepts_of(f.value) for f in facts.attributes()), set())
        kinds = {
            c
            for f in facts.attributes()
            if effective_slot(f, lexicon) == "category"
            for c in lexicon.concepts_of(f.value)
        } or {value_key(f.value) for f in facts.attributes() if f.slot == "category"}
        candidates: list[tuple[Adapted, float]] = []
        for source, score in self.bank.neighbours(own, k=self.neighbours, exclude=facts.id, kinds=kinds):
            for piece in self.bank.pieces_of(source):
                adapted = self.bank.adapt(piece, facts, request.lang)
                if adapted is not None:
                    candidates.append((adapted, score))
        wanted = {id(f) for f in the_plan.facts}
        covered: set[str] = set()
        chosen: list[Adapted] = []
        texts: set[str] = set()
        limit = LIMITS[request.style]
        while len(chosen) < limit and candidates:
            best: tuple[float, int] | None = None
            for index, (adapted, score) in enumerate(candidates):
                new = {f.value.casefold() for f in adapted.facts if id(f) in wanted} - covered
                if not new or adapted.text in texts:
                    continue
                audience = len(the_plan.audience_words & set(words(adapted.text)))
                value = (
                    3.0 * len(new)
                    - 0.6 * adapted.swaps
                    + 1.5 * similarity_weight(score)
                    + 1.5 * audience
                    + (0.8 if not chosen and adapted.piece.position == 0 else 0.0)
                    + rng.uniform(0.0, 1.2)
                )
                if best is None or value > best[0]:
                    best = (value, index)
            if best is None:
                break
            adapted, _ = candidates.pop(best[1])
            chosen.append(adapted)
            texts.add(adapted.text)
            covered |= {f.value.casefold() for f in adapted.facts}
        if request.style == "paragraph" and chosen:
            # details from the sources already used that claim nothing checkable (how it is cut,
            # lined, finished): the closest source's first; up to DETAILS of them
            sources = [a.piece.source for a in chosen]
            details = [
                a
                for a, _ in candidates
                if not a.piece.mentions and a.piece.source in sources and a.text not in texts
            ]
            details.sort(key=lambda a: sources.index(a.piece.source))
            chosen += details[:DETAILS]
        chosen.sort(key=lambda a: a.piece.position)
        return chosen, [f for f in the_plan.facts if f.value.casefold() not in covered]

    def _opener(self, missing: list[Fact], lang: str, rng: random.Random) -> tuple[str | None, list[Fact]]:
        """One phrase naming the kind of product with its colour and audience, when no piece did."""
        by_slot: dict[str, tuple[Fact, str]] = {}
        for fact in missing:
            slot = effective_slot(fact, self.lexicon)
            word = render_value(fact, lang, self.lexicon)
            if word and slot in ("category", "colour", "gender") and slot not in by_slot:
                by_slot[slot] = (fact, word)
        if "category" not in by_slot:
            return None, []
        kind = by_slot["category"][1]
        colour = by_slot.get("colour", (None, ""))[1]
        who = by_slot.get("gender", (None, ""))[1]
        used = [f for f, _ in by_slot.values()]
        if lang == "zh":
            forms = ["这款{c}{k}，", "一款{c}{k}，", "{c}{k}，"] if colour else ["这款{k}，", "一款{k}，"]
            text = rng.choice(forms).format(c=colour, k=kind)
            return (
                f"专为{who}设计的" + text.removeprefix("这款").removeprefix("一款") if who else text
            ), used
        kind_words = f"{colour} {kind}".strip()
        article = "An" if kind_words[:1].lower() in "aeiou" else "A"
        forms = [f"{article} {kind_words}", f"This {kind_words}", f"Meet this {kind_words}"]
        text = rng.choice(forms) + (f" for {who}." if who else ".")
        return text, used

    def _group_phrases(self, facts: list[Fact], lang: str, rng: random.Random) -> list[str]:
        """Attributes of kinds copy has no phrase for: a design detail in Chinese ("木耳边设计"),
        the shop's ranges in English ("From the socks & tights range")."""
        if lang == "zh":
            return [p for f in facts if (p := self._own_phrase(f, lang, rng))]
        names: dict[str, str] = {}
        for fact in facts:
            word = render_value(fact, lang, self.lexicon)
            if word:
                names.setdefault(" ".join(sorted(set(re.findall(r"\w+", word)) - {"and"})), word)
        if not names:
            return []
        listed = list(names.values())
        joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
        form = rng.choice(("From the {v} range.", "Part of our {v} collection.", "From our {v} line."))
        return [form.format(v=joined)]

    def _own_phrase(self, fact: Fact, lang: str, rng: random.Random) -> str | None:
        word = render_value(fact, lang, self.lexicon)
        if word is None:
            return None
        table = _OWN_PHRASES[lang]
        patterns = table.get(effective_slot(fact, self.lexicon), table["*"])
        key = fact.key.replace("_", " ").strip()
        return rng.choice(patterns).format(v=word, K=key[:1].upper() + key[1:])

    def _join(
        self, chosen: list[Adapted], missing: list[Fact], request: CopyRequest, rng: random.Random
    ) -> str:
        lang = request.lang
        pieces = [a.text.strip() for a in chosen]
        opener, said = self._opener(missing, lang, rng)
        if opener:
            pieces.insert(0, opener)
        rest = [f for f in missing if f not in said]
        known_slots = {*LEAD_ORDER, *_OWN_PHRASES[lang]}
        groups = [f for f in rest if effective_slot(f, self.lexicon) not in known_slots]
        extra = [p for f in rest if f not in groups and (p := self._own_phrase(f, lang, rng))]
        extra += self._group_phrases(groups, lang, rng)
        if request.style == "bullets":
            lines = [*pieces, *extra][: max(LIMITS["bullets"], len(pieces))]
            return "\n".join("- " + _bullet(line, lang) for line in lines)
        if lang == "zh":
            # our own phrases go after the opening clause, before the closing ones
            body = pieces[:1] + extra + pieces[1:] if pieces else extra
            text = "".join(_clause(p) for p in body).rstrip("，,、；; ")
            return text if text[-1:] in "。！？!?" else text + "。"
        body = pieces[:1] + extra + pieces[1:] if pieces else extra
        return " ".join(_sentence(p) for p in body)


def _clause(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in "，。！？；、,!?" else text + "，"


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?" else text + "."


def _bullet(text: str, lang: str) -> str:
    text = text.strip().rstrip("，,、；;")
    if lang == "zh":
        return text.rstrip("。")
    return text[:1].upper() + text[1:].rstrip(".")
