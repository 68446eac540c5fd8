"""Check what a text claims about a product against the product's facts.

A *claim* is a phrase that names a checkable value: a colour, a category, a material, a pattern, an
audience, a season, an occasion, any attribute value the shop uses, a number with a unit, a size.
:class:`Lexicon` finds them in English and Chinese text (the query glossary's concepts with their
words in both languages, a list of materials, and every attribute value of the catalogue), and
:func:`check` labels each one:

- ``supported``: a fact names the same concept, a narrower one ("blue" for a "Navy Blue" product,
  "top" for a "T-shirt"), or the phrase is in the product's own text (title, description, OCR);
- ``contradicted``: the slot is one a product has few values of (colour, category, material,
  gender, size; numbers with the same unit), the product states a value there, and it is not this
  one ("red" for a white skirt, "shirt" for a pair of shoes);
- ``unsupported``: nothing the product states says so.

Phrases about *other* items in styling advice ("pair it with white jeans", "搭配牛仔裤") are not
claims about the product: in a clause, mentions after a pairing cue are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any, Literal

from shopfuse.content.facts import EXCLUSIVE_SLOTS, Fact, ProductFacts, slot_of
from shopfuse.content.text import clauses, sentences
from shopfuse.query.glossary import GLOSSARY

__all__ = [
    "Claim",
    "ClaimCheck",
    "Concept",
    "Lexicon",
    "Mention",
    "Status",
    "check",
    "keep_supported",
    "value_key",
]

Status = Literal["supported", "contradicted", "unsupported"]

MATERIALS = """
cotton; organic cotton | 棉; 纯棉; 全棉; 棉质
linen | 亚麻; 麻
silk | 真丝; 丝绸; 桑蚕丝; 蚕丝
wool; merino | 羊毛; 毛呢
cashmere | 羊绒
leather; genuine leather | 真皮; 皮革; 牛皮; 羊皮
faux leather; pu | 人造皮; PU皮
polyester | 涤纶; 聚酯纤维
chiffon | 雪纺
knit; knitted; jersey | 针织
velvet | 丝绒; 天鹅绒
corduroy | 灯芯绒
nylon; polyamide | 锦纶; 尼龙
viscose; rayon | 粘胶; 人造棉
elastane; spandex | 氨纶
canvas | 帆布
suede | 麂皮; 绒面革
mesh; tulle | 网纱; 网眼
satin | 缎面; 绸缎
fleece | 抓绒; 摇粒绒
down | 羽绒
sterling silver | 纯银; 925银
stainless steel | 不锈钢
"""
"""Materials in English and Chinese (ours), in the glossary's ``english | other`` format."""

FABRICS = frozenset(
    {
        "knit",
        "denim",
        "lace",
        "chiffon",
        "velvet",
        "corduroy",
        "canvas",
        "suede",
        "mesh",
        "satin",
        "fleece",
        "down",
    }
)
"""Constructions rather than fibres: a denim or lace product may well be cotton, so these are a
``fabric`` slot that does not exclude materials."""

PROPERTIES = """
waterproof; water-repellent | 防水; 防泼水
windproof | 防风
breathable | 透气
quick-dry; quick-drying; moisture-wicking | 速干; 吸湿排汗
lightweight; featherlight | 轻薄; 轻盈
warm; thermal; insulated | 保暖; 加厚
stretch; stretchy; elastic | 弹力; 高弹
wrinkle-free; non-iron; easy-iron | 抗皱; 免烫
machine washable | 机洗; 可机洗
uv protection; uv-protective; sun protection | 防晒; 防紫外线
anti-bacterial; antibacterial | 抗菌
all seasons; all-season; year-round | 四季
outdoor; outdoors | 户外
"""
"""Functional properties and occasions copy likes to claim ("breathable", "保暖", "all seasons"):
checkable, so a generator's filler that the record does not state is caught (ours)."""

ALIASES = """
trousers | 裤; 裤装
bag | 包
top | 上装 | sweater; sweatshirt; hoodie; cardigan; jacket; coat; blazer
skirt or dress | 裙; 裙装 | skirt; dress
summer | 夏日; 盛夏
winter | 冬日; 寒冬
spring | 春日
fall | 秋日
"""
"""Words and kinds the query glossary leaves out, merged into its concepts by their first English word
(a new first word is a new concept): Chinese catalogues often state only the broad kind (裤, 裙)."""

_NOT_CLAIMS = frozenset({"body", "clear", "check", "dot", "down", "pu", "in", "s", "m", "l", "图案"})
"""Glossary words too ambiguous in running text to be read as a claim."""

_PLURAL_ONLY = (
    "shorts",
    "heels",
    "flats",
    "briefs",
    "trunks",
    "tights",
    "boxers",
    "wedges",
    "glasses",
    "capris",
)
"""Kinds whose singular means something else: "short sleeves", "a heel" and "flat" do not name them."""

_SLOT_BOUNDARIES = {
    "black": "colour",
    "trousers": "category",
    "solid": "pattern",
    "men": "gender",
    "summer": "season",
    "casual": "usage",
}
"""The glossary lists concepts by kind: the first concept of each kind, and its slot."""
_SLOT_OVERRIDES = {"polo shirt": "category", "denim": "fabric", "lace": "fabric"}

_UNIT = r"(?:cm|mm|m|kg|g|ml|l|inch(?:es)?|in|%|厘米|毫米|米|公斤|克|码|寸)"
_NUMBER = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT})(?![a-z])", re.IGNORECASE)
_SIZE = re.compile(
    r"(?:\b[Ss]ize\s+|尺码\s*)(XXS|XS|S|M|L|XL|XXL|XXXL|\d{2})\b|\b(XXS|XS|S|M|L|XL|XXL|XXXL)码"
)
_PAIRING = re.compile(
    r"搭配|配上|搭上|配一|配以|内搭|外搭|叠穿|穿搭|混搭|无论是|不管是|"
    r"\bpair(?:ed|s)? (?:it |them )?with\b|\bwear (?:it |them )?with\b|"
    r"\bteam(?:ed)? (?:it |them )?with\b|\bstyle (?:it |them )?with\b|\bgoes with\b|\bmatch(?:es)? with\b|"
    r"\bwith your\b",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _singular(word: str) -> str:
    word = word.casefold().strip()
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _norm(text: str) -> str:
    """A surface form for lookup: case-folded, English words singular, spaces single."""
    text = re.sub(r"\s+", " ", text.casefold().strip())
    if _CJK.search(text):
        return text
    return " ".join(_singular(w) for w in text.split(" "))


def value_key(value: str) -> str:
    """The concept of a shop value no glossary concept covers: ``v:`` and its normalised form."""
    return f"v:{_norm(value)}"


@dataclass(frozen=True, slots=True)
class Concept:
    """A value with its words in several languages, and the concepts narrower than it."""

    name: str
    slot: str
    words: tuple[str, ...]
    narrower: frozenset[str] = frozenset()


def _parse(text: str, default_slot: str | None = None) -> list[Concept]:
    out: list[Concept] = []
    slot = default_slot or "colour"
    for line in text.strip().splitlines():
        if "|" not in line:
            continue
        parts = [[w.strip() for w in p.split(";") if w.strip()] for p in line.split("|")]
        english = parts[0]
        if default_slot is None:
            slot = _SLOT_BOUNDARIES.get(english[0], slot)
        narrower = frozenset(parts[2]) if len(parts) > 2 else frozenset()
        own = _SLOT_OVERRIDES.get(english[0], slot)
        out.append(Concept(english[0], own, tuple(english + parts[1]), narrower))
    return out


@cache
def _builtin() -> tuple[Concept, ...]:
    materials = [
        Concept(c.name, "fabric", c.words) if c.name in FABRICS else c for c in _parse(MATERIALS, "material")
    ]
    properties = [
        Concept(
            c.name,
            "usage" if c.name == "outdoor" else "season" if c.name == "all seasons" else "property",
            c.words,
        )
        for c in _parse(PROPERTIES, "property")
    ]
    concepts = {c.name: c for c in [*_parse(GLOSSARY), *materials, *properties]}
    for extra in _parse(ALIASES, "category"):
        base = concepts.get(extra.name)
        if base is None:
            concepts[extra.name] = extra
        else:
            concepts[extra.name] = Concept(
                base.name, base.slot, base.words + extra.words, base.narrower | extra.narrower
            )
    return tuple(concepts.values())


def _broader_map(concepts: Iterable[Concept]) -> dict[str, set[str]]:
    """``{concept: {concepts broader than it}}``: from the glossary's narrower lists, and English
    head words ("dark blue" is a kind of "blue", "shoulder bag" of "bag")."""
    items = list(concepts)
    by_word = {_norm(w): c.name for c in items for w in c.words if not _CJK.search(w)}
    broader: dict[str, set[str]] = {c.name: set() for c in items}
    for c in items:
        for word in c.narrower:
            child = by_word.get(_norm(word))
            if child and child != c.name:
                broader.setdefault(child, set()).add(c.name)
        for word in c.words:
            parts = _norm(word).split(" ")
            for i in range(1, len(parts)):
                head = by_word.get(" ".join(parts[i:]))
                if head and head != c.name and c.slot == _slot_of_concept(items, head):
                    broader[c.name].add(head)
    changed = True
    while changed:  # transitive: navy < dark blue < blue
        changed = False
        for name, ups in broader.items():
            more = set().union(*(broader.get(u, set()) for u in ups)) - ups - {name}
            if more:
                ups |= more
                changed = True
    return broader


def _slot_of_concept(items: list[Concept], name: str) -> str:
    for c in items:
        if c.name == name:
            return c.slot
    return ""


@dataclass(frozen=True, slots=True)
class Mention:
    """A checkable phrase found in a text."""

    start: int
    end: int
    text: str
    slot: str
    concepts: frozenset[str]
    """The concepts it names; a shop value no glossary concept covers is its own concept ``v:...``."""


class Lexicon:
    """Finds checkable phrases in English and Chinese text."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts = {c.name: c for c in concepts}
        self._surfaces: dict[str, list[tuple[str, str]]] = {}
        for c in self.concepts.values():
            for word in c.words:
                surface = _norm(word)
                if surface and surface not in _NOT_CLAIMS:
                    self._add(surface, c.slot, c.name)
        self._plural_only = {_norm(w) for w in _PLURAL_ONLY}
        """Kinds named only in the plural ("shorts", "heels"): "short sleeves" does not name them."""
        self.broader = _broader_map(self.concepts.values())
        self._compile()

    _plural_only: set[str]

    def _add(self, surface: str, slot: str, concept: str) -> None:
        entry = (slot, concept)
        entries = self._surfaces.setdefault(surface, [])
        if entry not in entries:
            entries.append(entry)

    def _compile(self) -> None:
        latin = sorted((s for s in self._surfaces if not _CJK.search(s)), key=len, reverse=True)
        words = [r"\s+".join(re.escape(w) + "(?:e?s)?" for w in s.split(" ")) for s in latin]
        self._latin = (
            re.compile(r"(?<![\w-])(" + "|".join(words) + r")(?![\w-])", re.IGNORECASE) if words else None
        )
        self._cjk = {s: v for s, v in self._surfaces.items() if _CJK.search(s)}
        self._cjk_longest = max((len(s) for s in self._cjk), default=0)
        self._cjk_first = {s[0] for s in self._cjk}

    @classmethod
    def build(cls, products: Iterable[ProductFacts] = ()) -> Lexicon:
        """The built-in concepts plus every attribute value of ``products`` (a shop's vocabulary)."""
        lexicon = cls(_builtin())
        lexicon.learn(products)
        return lexicon

    def learn(self, products: Iterable[ProductFacts]) -> Lexicon:
        """Add the attribute values of ``products``; values naming a known concept become its words."""
        added = False
        for product in products:
            for fact in product.attributes():
                if self._learn_value(fact.value, fact.slot):
                    added = True
        if added:
            self._compile()
        return self

    def _learn_value(self, value: str, slot: str) -> bool:
        surface = _norm(value)
        if not surface or surface in _NOT_CLAIMS or len(surface) > 40 or surface.isdigit():
            return False
        if surface in self._surfaces:
            entries = self._surfaces[surface]
            if any(s == slot for s, _ in entries):
                return False
        known = self.concepts_of(value)
        if known:
            for name in known:
                self._add(surface, self.concepts[name].slot if name in self.concepts else slot, name)
        else:
            self._add(surface, slot, value_key(value))
        return True

    def concepts_of(self, value: str) -> set[str]:
        """The concepts a value names: its exact words, else the concepts mentioned inside it."""
        surface = _norm(value)
        exact = {c for _, c in self._surfaces.get(surface, [])}
        if exact:
            return exact
        found = self.mentions(value)
        if len(found) == 1:
            return set(found[0].concepts)
        return set()

    def mentions(self, text: str) -> list[Mention]:
        """Checkable phrases in ``text``, longest first, not overlapping, in text order."""
        spans: list[Mention] = []
        taken = [False] * len(text)
        if self._latin is not None:
            for m in self._latin.finditer(text):
                surface = _norm(m.group(0))
                if surface in self._plural_only and not m.group(0).casefold().endswith("s"):
                    continue
                if text[m.end() : m.end() + 4].casefold() == " of ":  # "top of the stockings"
                    continue
                entries = self._surfaces.get(surface) or self._surfaces.get(_norm(_strip_plural(m.group(0))))
                if entries:
                    spans.append(self._mention(m.start(), m.end(), text, entries))
                    for i in range(m.start(), m.end()):
                        taken[i] = True
        i = 0
        lowered = text.casefold()
        bounds: set[int] | None = None
        while i < len(text) and self._cjk_longest:
            if taken[i] or lowered[i] not in self._cjk_first:
                i += 1
                continue
            for size in range(min(self._cjk_longest, len(text) - i), 0, -1):
                entries = self._cjk.get(lowered[i : i + size])
                if entries and size == 1 and not _listed_colour(text, i, entries):
                    # one character is a word only where jieba says so (包 not in 包裹)
                    bounds = bounds if bounds is not None else _word_bounds(text)
                    if i not in bounds or i + 1 not in bounds:
                        entries = None
                if entries:
                    spans.append(self._mention(i, i + size, text, entries))
                    i += size
                    break
            else:
                i += 1
        spans.sort(key=lambda s: s.start)
        return spans

    @staticmethod
    def _mention(start: int, end: int, text: str, entries: list[tuple[str, str]]) -> Mention:
        slots = {s for s, _ in entries}
        slot = next((s for s in ("category", "colour", "material") if s in slots), entries[0][0])
        return Mention(start, end, text[start:end], slot, frozenset(c for _, c in entries))


def _listed_colour(text: str, i: int, entries: list[tuple[str, str]]) -> bool:
    """A one-character colour in a list or before 色 ("黑、白两色", "黑白色"), whatever jieba says."""
    if not any(slot == "colour" for slot, _ in entries):
        return False
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    return after in ("色", "、", "和", "与", "两") or before in ("、", "和", "与")


def _word_bounds(text: str) -> set[int]:
    """Offsets where jieba starts or ends a word."""
    from shopfuse.query.understanding import _jieba

    out: set[int] = set()
    for _, start, end in _jieba().tokenize(text):
        out.update((start, end))
    return out


def _strip_plural(word: str) -> str:
    return " ".join(_singular(w) for w in word.split())


@dataclass(slots=True)
class Claim:
    """One checkable phrase of a text and what the product's facts say about it."""

    text: str
    start: int
    end: int
    slot: str
    value: str
    status: Status
    fact: Fact | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``fact`` is the citation of the fact behind a supported or contradicted claim."""
        out = asdict(self)
        out["fact"] = self.fact.to_dict() if self.fact else None
        return out


@dataclass(slots=True)
class ClaimCheck:
    """The claims of one text."""

    claims: list[Claim] = field(default_factory=list)
    key_facts: list[Fact] = field(default_factory=list)
    _stated: list[Fact] = field(default_factory=list)

    @property
    def supported(self) -> list[Claim]:
        """Claims a fact backs."""
        return [c for c in self.claims if c.status == "supported"]

    @property
    def contradicted(self) -> list[Claim]:
        """Claims a fact contradicts."""
        return [c for c in self.claims if c.status == "contradicted"]

    @property
    def unsupported(self) -> list[Claim]:
        """Claims nothing backs."""
        return [c for c in self.claims if c.status == "unsupported"]

    def stated(self) -> list[Fact]:
        """The product's key facts the text states."""
        return list(self._stated)

    @property
    def coverage(self) -> float:
        """Share of key facts stated (1.0 for a product without key facts)."""
        return len(self._stated) / len(self.key_facts) if self.key_facts else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and claims."""
        return {
            "claims": [c.to_dict() for c in self.claims],
            "supported": len(self.supported),
            "contradicted": len(self.contradicted),
            "unsupported": len(self.unsupported),
            "coverage": round(self.coverage, 4),
            "stated": [f.ref for f in self._stated],
            "missing": [f.ref for f in self.key_facts if f not in self._stated],
        }


_DEFAULT: Lexicon | None = None


def default_lexicon() -> Lexicon:
    """The built-in lexicon (glossary and materials), built once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Lexicon.build()
    return _DEFAULT


def _styling_starts(text: str) -> list[tuple[int, int]]:
    """``(cue position, clause end)`` ranges where mentions describe other items worn with this one."""
    out = []
    position = 0
    for sentence in sentences(text):
        start = text.find(sentence, position)
        if start < 0:
            continue
        position = start + len(sentence)
        offset = start
        for part in clauses(sentence):
            cue = _PAIRING.search(part)
            if cue:
                out.append((offset + cue.start(), offset + len(part)))
            offset += len(part)
    return out


def check(text: str, facts: ProductFacts, lexicon: Lexicon | None = None) -> ClaimCheck:
    """Every claim ``text`` makes about the product, labelled against its facts."""
    lexicon = lexicon or default_lexicon()
    own = [f for f in facts.attributes() if not lexicon.concepts_of(f.value)]
    if own:  # the product's own values, as phrases the lexicon can find
        lexicon = _with_values(lexicon, facts)
    fact_concepts = [(f, lexicon.concepts_of(f.value) or {value_key(f.value)}) for f in facts.attributes()]
    texts = [f for f in facts.texts() if not f.is_opinion]
    styling = _styling_starts(text)
    result = ClaimCheck(key_facts=facts.key_facts())
    stated: dict[int, Fact] = {}
    for mention in lexicon.mentions(text):
        if any(a <= mention.start < b for a, b in styling):
            continue
        claim = _judge(mention, fact_concepts, texts, lexicon)
        if claim.status != "supported":
            parts = [_judge(part, fact_concepts, texts, lexicon) for part in _parts(mention, lexicon)]
            if parts and all(p.status == "supported" for p in parts):  # 连帽卫衣 = 连帽 + 卫衣, both true
                claim = Claim(
                    claim.text, claim.start, claim.end, claim.slot, claim.value, "supported", parts[-1].fact
                )
                stated.update({id(p.fact): p.fact for p in parts if p.fact is not None})
        result.claims.append(claim)
        if claim.status == "supported" and claim.fact is not None:
            stated[id(claim.fact)] = claim.fact
    result.claims += _numbers(text, facts)
    folded = text.casefold()
    for fact in result.key_facts:
        same = [f for f, _ in fact_concepts if f.value.casefold() == fact.value.casefold()]
        if any(id(f) in stated for f in same) or (len(fact.value) > 1 and fact.value.casefold() in folded):
            result._stated.append(fact)
    result.claims.sort(key=lambda c: c.start)
    return result


def _parts(mention: Mention, lexicon: Lexicon) -> list[Mention]:
    """A compound mention as the shorter phrases it is made of, when they cover all of it
    ("连帽卫衣" = "连帽" + "卫衣", "navy blue" = "navy" + "blue"); else nothing."""
    text = mention.text
    found: list[Mention] = []
    i = 0
    while i < len(text):
        if not text[i].strip():
            i += 1
            continue
        for size in range(len(text) - i - (1 if i == 0 else 0), 0, -1):
            sub = lexicon.mentions(text[i : i + size])
            if len(sub) == 1 and sub[0].start == 0 and sub[0].end == size:
                m = sub[0]
                found.append(Mention(mention.start + i, mention.start + i + size, m.text, m.slot, m.concepts))
                i += size
                break
        else:
            return []
    return found if len(found) >= 2 else []


def _with_values(lexicon: Lexicon, facts: ProductFacts) -> Lexicon:
    copy = Lexicon.__new__(Lexicon)
    copy.concepts = lexicon.concepts
    copy._surfaces = {k: list(v) for k, v in lexicon._surfaces.items()}
    copy.broader = lexicon.broader
    copy._plural_only = lexicon._plural_only
    copy._compile()
    return copy.learn([facts])


def _slots(concepts: set[str], fallback: str, lexicon: Lexicon) -> set[str]:
    """The slots of a value's concepts (a shop value no concept covers keeps its attribute's slot)."""
    return {lexicon.concepts[c].slot if c in lexicon.concepts else fallback for c in concepts}


def _judge(
    mention: Mention, fact_concepts: list[tuple[Fact, set[str]]], texts: list[Fact], lexicon: Lexicon
) -> Claim:
    value = sorted(mention.concepts)[0]

    def claim(status: Status, fact: Fact | None = None) -> Claim:
        return Claim(mention.text, mention.start, mention.end, mention.slot, value, status, fact)

    narrower_than_fact: Fact | None = None
    for fact, concepts in fact_concepts:
        for said in mention.concepts:
            for has in concepts:
                if said == has or said in lexicon.broader.get(has, set()):
                    return claim("supported", fact)
                if has in lexicon.broader.get(said, set()):
                    narrower_than_fact = fact
                if slot_of(fact.key) == "gender" and has == "unisex" and said in ("men", "women"):
                    return claim("supported", fact)
    surface = mention.text.casefold()
    for fact in texts:
        if surface in fact.value.casefold():
            return claim("supported", fact)
    if narrower_than_fact is not None:  # "jeans" for a product stated as trousers: not a contradiction
        return claim("unsupported", narrower_than_fact)
    said_slots = _slots(set(mention.concepts), mention.slot, lexicon) & EXCLUSIVE_SLOTS
    conflicts = [
        (fact, concepts)
        for fact, concepts in fact_concepts
        if said_slots & _slots(concepts, fact.slot, lexicon) and "multi" not in concepts
    ]
    for fact, _ in sorted(conflicts, key=lambda fc: fc[0].source != "attribute"):
        return claim("contradicted", fact)
    return claim("unsupported")


def _numbers(text: str, facts: ProductFacts) -> list[Claim]:
    """Numbers with units and sizes: supported by the same figure in a fact, contradicted by another."""
    sources = [(f, f.value) for f in facts.facts if not f.is_opinion]
    found: list[Claim] = []
    for m in _NUMBER.finditer(text):
        number, unit = m.group(1), m.group(2).casefold()
        status: Status = "unsupported"
        backing: Fact | None = None
        for fact, value in sources:
            for n, u in ((x.group(1), x.group(2).casefold()) for x in _NUMBER.finditer(value)):
                if u == unit and float(n) == float(number):
                    status, backing = "supported", fact
                    break
                if u == unit and status != "supported":
                    status, backing = "contradicted", fact
            if status == "supported":
                break
        found.append(Claim(m.group(0), m.start(), m.end(), "number", f"{number} {unit}", status, backing))
    sizes = [f for f in facts.attributes() if f.slot == "size"]
    for m in _SIZE.finditer(text):
        size = (m.group(1) or m.group(2)).upper()
        match = next((f for f in sizes if size in re.split(r"[\s,/;|]+", f.value.upper())), None)
        status = "supported" if match else ("contradicted" if sizes else "unsupported")
        backing = match or (sizes[0] if sizes else None)
        found.append(Claim(m.group(0), m.start(), m.end(), "size", size, status, backing))
    return found


def keep_supported(text: str, facts: ProductFacts, lexicon: Lexicon | None = None) -> tuple[str, list[str]]:
    """``text`` without the clauses that make a contradicted or unsupported claim, and those clauses.

    Lines (bullets) and sentences are kept in order; a sentence whose last clause goes ends with the
    punctuation of the clause before it replaced by the sentence's own end mark.
    """
    lexicon = lexicon or default_lexicon()
    kept_lines: list[str] = []
    dropped: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        kept_sentences = []
        for sentence in sentences(line):
            parts = clauses(sentence)
            good = []
            for part in parts:
                result = check(part, facts, lexicon)
                if result.contradicted or result.unsupported:
                    dropped.append(part.strip())
                else:
                    good.append(part)
            if not good:
                continue
            joined = "".join(good).rstrip()
            end = sentence.rstrip()[-1:]
            if end in "。！？!?.;；" and joined[-1:] != end:
                joined = joined.rstrip("，,、：:;； ") + end
            kept_sentences.append(joined)
        if kept_sentences:
            sep = "" if _CJK.search(line) else " "
            kept_lines.append(sep.join(kept_sentences))
    return "\n".join(kept_lines), dropped
