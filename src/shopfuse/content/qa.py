"""Grounded product Q&A: rank a product's evidence, answer from the best of it, cite it, or say "not stated".

Evidence is every fact of a product (:class:`~shopfuse.content.facts.ProductFacts`): attributes
rendered as ``key: value``, the title, description sentences, OCR and speech lines, and customers'
reviews and community answers, which are opinions and kept apart from the specification. A
shopper's own photo adds its OCR lines and recognised attributes as evidence with source
``your photo``.

The ranker scores each piece of evidence against the question with a few features combined
linearly (weights in :data:`FITTED_WEIGHTS`, fitted on hetPQA):

* ``dense``: cosine of the multilingual sentence encoder's vectors (USE-multilingual: a Chinese
  question finds English evidence and the other way round);
* ``lexical``: the IDF-weighted share of the question's content words found in the evidence, a
  word matching itself, a simple stem of itself, or a glossary word of the same concept in the
  other language ("红色" matches "red");
* ``slot``: the evidence is an attribute whose kind the question asks for ("what colour",
  "什么颜色" -> the colour attribute; see :func:`~shopfuse.content.facts.slot_of`);
* ``attribute`` / ``opinion``: what kind of evidence it is (a prior per kind).

The answer is extractive and never invented: the best specification evidence above the abstention
threshold, else the best customer opinion (quoted as such), else ``"not stated"``. Yes/no
questions get "Yes" or "No" only when the evidence says so (every content word of the question
found with no negation cue, or a negation cue next to them, or a true/false attribute value);
otherwise the cited sentence is the answer. The answer is in the language of the evidence: a
Chinese question about an English product gets the English sentence, cited.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np

from shopfuse.content.facts import Fact, ProductFacts, slot_of
from shopfuse.content.text import is_chinese, sentences, words
from shopfuse.encoders.base import TextEncoder
from shopfuse.query.glossary import concepts

__all__ = [
    "FEATURES",
    "FITTED_WEIGHTS",
    "LEXICAL_WEIGHTS",
    "NOT_STATED",
    "Answer",
    "Evidence",
    "QARanker",
    "Ranked",
    "answer",
    "evidence_of",
    "is_yes_no",
    "photo_facts",
    "source_kind",
    "text_encoder",
]

NOT_STATED = "not stated"
PHOTO_SOURCE = "your photo"
FEATURES = ("dense", "lexical", "slot", "attribute", "opinion")

# Fitted by `python benchmarks/product_qa.py --fit`: logistic regression of "label >= 1" on the
# features over hetPQA evidence_ranking/dev.csv, TRAIN split = ~70% of ASINs by MD5 of the ASIN
# (331 questions); the abstention threshold maximises the macro F1 of "not stated" vs answered on
# the same TRAIN split. The slot weight alone is then refitted (others held) on semiPQA
# attribute_ranking/dev, where questions name the attribute that answers them. Held-out figures
# (hetPQA TEST ASINs, semiPQA testunseen): benchmarks/results/product_qa.json.
FITTED_WEIGHTS: dict[str, float] = {
    "dense": 3.491,
    "lexical": 2.919,
    "slot": 0.686,
    "attribute": 0.302,
    "opinion": 0.522,
    "bias": -2.56,
    "threshold": 0.248,
}
"""Feature weights, bias and the abstention threshold (on the logistic score of the best evidence)."""

# The same fit without the sentence encoder (dense weight 0): the lexical-only baseline.
LEXICAL_WEIGHTS: dict[str, float] = {
    "dense": 0.0,
    "lexical": 3.718,
    "slot": 0.943,
    "attribute": 0.096,
    "opinion": 0.838,
    "bias": -1.847,
    "threshold": 0.207,
}
"""Weights for a ranker without the sentence encoder (fitted the same way, dense left out)."""


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _word_set(
    """a an the is are was were be been being am do does did doing have has had having can could will
    would should shall may might must it its it's this that these those there here i me my we our you
    your he she they them their what which who whom whose when where why how if or and but of for to in
    on at by with from as into about than then so too very just also any some such only own same
    does doesn't don't is isn't are aren't will won't can can't please thanks thank know anyone
    product item one ones get got use used using work works come comes
    这 这个 这件 这款 那 那个 是 吗 呢 吧 啊 的 了 么 什么 怎么 怎样 如何 哪 哪里 哪个 多少 有 没有
    可以 能 能不能 可不可以 是否 是不是 有没有 请问 我 你 它 他 她 我们 一个 和 与 或 也 都 还 会 要"""
)
_NEGATIONS = _word_set(
    """not no never without none nor cannot can't won't isn't aren't doesn't don't didn't wasn't weren't
    hasn't haven't shouldn't wouldn't couldn't false n't"""
)
_ZH_NEGATION = re.compile(r"^[不没无未非否别]")
_ZH_NOT_NEGATION = ("不锈", "无线", "无袖", "无缝", "非常", "不仅", "不同", "无论", "不错", "不断", "无限")
_YES_VALUES = frozenset({"true", "yes", "y", "是", "有", "1"})
_NO_VALUES = frozenset({"false", "no", "n", "否", "无", "没有", "0", "none"})
_EN_YES_NO = re.compile(
    r"^\s*(is|are|was|were|do|does|did|can|could|will|would|should|shall|has|have|had|may|might|must|"
    r"isn't|aren't|doesn't|don't|won't|can't)\b",
    re.IGNORECASE,
)
_ZH_YES_NO = re.compile(
    r"(吗|(?<![什怎这那多])么)[？?。.!！\s]*$|是否|是不是|能不能|可不可以|有没有|会不会|要不要"
)
_OPINION_PREFIX = {"review": "A customer review says: ", "reviews": "A customer review says: "}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence a question may be answered from."""

    id: str
    """Citation: the fact's ``ref`` (``attribute:baseColour``, ``description[2]``) or a given id."""
    text: str
    source: str
    """``attribute``, ``photo``, ``title``, ``description``, ``ocr``, ``speech``, ``review``,
    ``answer``, ``your photo``, or the source name a Q&A file gives (``bullet``, ``CQA``...)."""
    field: str
    """The field it comes from: an attribute key, ``description``, ``reviews``..."""
    slot: str = "text"
    kind: Literal["specification", "opinion"] = "specification"
    value: str | None = None
    """For attributes, the value alone (``text`` is ``key: value``)."""

    @property
    def is_attribute(self) -> bool:
        """An attribute (stated, recognised in the product's photos, or in the shopper's photo)."""
        return self.value is not None

    @classmethod
    def from_fact(cls, fact: Fact) -> Evidence:
        """Evidence from a product fact; attributes read ``key: value`` (``base colour: Blue``)."""
        kind: Literal["specification", "opinion"] = "opinion" if fact.is_opinion else "specification"
        if fact.slot != "text":
            text = f"{readable_key(fact.key)}: {fact.value}"
            return cls(fact.ref, text, fact.source, fact.key, fact.slot, kind, fact.value)
        return cls(fact.ref, fact.value, fact.source, fact.key, "text", kind)

    @classmethod
    def given(cls, id: str, text: str, source: str) -> Evidence:
        """Evidence as a Q&A file lists it; an ``attribute`` reading ``key: value`` keeps key and value."""
        if source.casefold() in ("attribute", "photo") and ":" in text:
            key, _, value = text.partition(":")
            if key.strip() and value.strip():
                return cls(
                    id, text, source, key.strip(), slot_of(key.strip()), "specification", value.strip()
                )
        return cls(id, text, source, source, "text", source_kind(source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "ref": self.id,
            "source": self.source,
            "field": self.field,
            "kind": self.kind,
            "text": self.text,
        }


def readable_key(key: str) -> str:
    """An attribute key as words: ``baseColour`` -> ``base colour``, ``item_weight`` -> ``item weight``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).replace("_", " ").strip().casefold()


_OPINION_SOURCES = frozenset({"review", "reviews", "answer", "answers", "cqa", "community", "qa"})


def source_kind(source: str) -> Literal["specification", "opinion"]:
    """``opinion`` for customers' words (reviews, community answers), else ``specification``."""
    return "opinion" if source.casefold() in _OPINION_SOURCES else "specification"


def evidence_of(facts: ProductFacts, image_facts: Iterable[Fact] = ()) -> list[Evidence]:
    """Every fact of the product, then the shopper's photo facts, as evidence."""
    return [Evidence.from_fact(f) for f in [*facts.facts, *image_facts]]


def photo_facts(ocr_text: str = "", attributes: dict[str, tuple[str, float]] | None = None) -> list[Fact]:
    """Facts of the shopper's photo (source ``your photo``): its OCR lines and recognised attributes."""
    out = [
        Fact(PHOTO_SOURCE, line, "text", PHOTO_SOURCE, index=i)
        for i, line in enumerate(t.strip() for t in ocr_text.splitlines() if t.strip())
    ]
    for key, (value, confidence) in (attributes or {}).items():
        out.append(Fact(key, value, slot_of(key), PHOTO_SOURCE, confidence=round(float(confidence), 4)))
    return out


def is_yes_no(question: str) -> bool:
    """Whether the question asks yes or no ("is it machine washable?", "可以机洗吗")."""
    q = question.strip()
    return bool(_ZH_YES_NO.search(q)) if is_chinese(q) else bool(_EN_YES_NO.match(q))


# ---------------------------------------------------------------------------------------------------
# Lexical matching


@cache
def _concept_index() -> dict[str, frozenset[int]]:
    """Glossary word (any language, case-folded) -> the concepts it names."""
    out: dict[str, set[int]] = {}
    for i, (english, other) in enumerate(concepts()):
        for word in (*english, *other):
            out.setdefault(word.casefold(), set()).add(i)
    return {w: frozenset(c) for w, c in out.items()}


def _stem(word: str) -> str:
    """A crude English stem, enough to match "washable" with "wash" and "colours" with "colour"."""
    if is_chinese(word) or len(word) <= 4:
        return word
    for ending in ("ability", "able", "ible", "ing", "ness", "ed", "es", "s", "ly"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


@dataclass(frozen=True, slots=True)
class _Terms:
    """The words of a text, their stems and the glossary concepts they name."""

    words: tuple[str, ...]
    stems: frozenset[str]
    concepts: frozenset[int]

    @classmethod
    def of(cls, text: str) -> _Terms:
        tokens = tuple(words(text))
        index = _concept_index()
        found: set[int] = set()
        for token in tokens:
            found |= index.get(token, frozenset())
        lowered = text.casefold()
        for phrase, ids in _multiword_concepts():
            if phrase in lowered and re.search(rf"\b{re.escape(phrase)}\b", lowered):
                found |= ids
        return cls(tokens, frozenset(_stem(t) for t in tokens), frozenset(found))

    def has(self, term: str) -> bool:
        """Whether ``term`` (a question word) occurs here: itself, its stem, or its concept."""
        if _stem(term) in self.stems:
            return True
        ids = _concept_index().get(term)
        return bool(ids and ids & self.concepts)


@cache
def _multiword_concepts() -> tuple[tuple[str, frozenset[int]], ...]:
    return tuple((w, ids) for w, ids in _concept_index().items() if " " in w)


def content_words(text: str) -> list[str]:
    """The question's words that carry meaning: stop words and punctuation left out, order kept."""
    return list(dict.fromkeys(w for w in words(text) if w not in _STOPWORDS and w not in _NEGATIONS))


def _has_negation(terms: Sequence[str]) -> bool:
    for term in terms:
        if term in _NEGATIONS or term.endswith("n't"):
            return True
        if _ZH_NEGATION.match(term) and not term.startswith(_ZH_NOT_NEGATION):
            return True
    return False


def question_slots(question: str) -> set[str]:
    """Attribute kinds the question names ("what colour" -> ``colour``; "什么材质" -> ``material``)."""
    known = {slot_of(name) for name in ("colour", "type", "material", "pattern", "gender", "season")}
    known |= {"usage", "style", "size", "fit", "brand"}
    return {slot for w in words(question) if (slot := slot_of(w)) in known}


def _key_words(key: str) -> set[str]:
    """Stemmed words of an attribute key: ``compatible_devices`` -> {compatible, device}."""
    return {_stem(w) for w in words(readable_key(key))}


# ---------------------------------------------------------------------------------------------------
# Encoder


_ENCODERS: dict[str, TextEncoder] = {}
_ENCODER_LOCK = threading.Lock()


def text_encoder(name: str = "use-multilingual") -> TextEncoder:
    """The registry's text encoder ``name``, built once per process (the model loads on first use)."""
    with _ENCODER_LOCK:
        if name not in _ENCODERS:
            import shopfuse.encoders  # noqa: F401  (registers the built-in encoders)
            from shopfuse.registry import registry

            _ENCODERS[name] = registry.create("text_encoder", name)
        return _ENCODERS[name]


# ---------------------------------------------------------------------------------------------------
# Ranking


@dataclass(slots=True)
class Ranked:
    """A piece of evidence with its score for one question."""

    evidence: Evidence
    score: float
    """Logistic score in (0, 1): how likely the evidence answers the question."""
    features: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the evidence, its score and features."""
        return {
            **self.evidence.to_dict(),
            "score": round(self.score, 4),
            "features": {k: round(v, 4) for k, v in self.features.items()},
        }


class QARanker:
    """Ranks evidence for a question: sentence-encoder similarity, word overlap and attribute-kind match.

    ``encoder``: a :class:`~shopfuse.encoders.base.TextEncoder` (the engine's, or
    :func:`text_encoder`); ``None`` ranks by words alone (use :data:`LEXICAL_WEIGHTS`).
    Evidence vectors are cached (by text) so that a product asked twice is encoded once.
    """

    def __init__(
        self,
        encoder: TextEncoder | None = None,
        weights: dict[str, float] | None = None,
        *,
        cache_size: int = 20_000,
    ) -> None:
        self.encoder = encoder
        self.weights = dict(weights or (FITTED_WEIGHTS if encoder is not None else LEXICAL_WEIGHTS))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        """Below this score the best evidence does not answer: "not stated"."""
        return float(self.weights["threshold"])

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts``, encoding only those not seen recently."""
        assert self.encoder is not None
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = self.encoder.encode_text(missing, role="passage")
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._cache.update(zip(missing, fresh, strict=True))
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def features(self, question: str, evidence: Sequence[Evidence]) -> np.ndarray:
        """``(len(evidence), len(FEATURES))``: the raw features of each piece of evidence."""
        out = np.zeros((len(evidence), len(FEATURES)), dtype=np.float64)
        if not evidence:
            return out
        if self.encoder is not None:
            q = self.encoder.encode_text([question], role="query")[0]
            out[:, 0] = self._vectors([e.text for e in evidence]) @ q
        terms = content_words(question)
        texts = [_Terms.of(e.text) for e in evidence]
        n = len(evidence)
        idf = {
            t: math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            for t in terms
            for df in [sum(1 for x in texts if x.has(t))]
        }
        total = sum(idf.values())
        slots = question_slots(question)
        stems = {_stem(t) for t in terms}
        for i, (item, found) in enumerate(zip(evidence, texts, strict=True)):
            if total > 0:
                out[i, 1] = sum(w for t, w in idf.items() if found.has(t)) / total
            if item.is_attribute:
                out[i, 2] = float(item.slot in slots or bool(_key_words(item.field) & stems))
                out[i, 3] = 1.0
            out[i, 4] = float(item.kind == "opinion")
        return out

    def score(self, features: np.ndarray) -> np.ndarray:
        """Logistic scores of feature rows."""
        w = np.array([self.weights[name] for name in FEATURES])
        return 1.0 / (1.0 + np.exp(-(features @ w + self.weights["bias"])))

    def rank(self, question: str, evidence: Sequence[Evidence]) -> list[Ranked]:
        """All the evidence, best first (ties keep the given order)."""
        features = self.features(question, evidence)
        scores = self.score(features)
        order = sorted(range(len(evidence)), key=lambda i: -scores[i])
        return [
            Ranked(evidence[i], float(scores[i]), dict(zip(FEATURES, features[i].tolist(), strict=True)))
            for i in order
        ]


@cache
def _default_ranker() -> QARanker:
    return QARanker(text_encoder())


# ---------------------------------------------------------------------------------------------------
# Answering


@dataclass(slots=True)
class Answer:
    """An answer with the evidence it comes from, or "not stated"."""

    question: str
    answer: str
    status: Literal["answered", "not_stated"]
    citations: list[Ranked]
    specification: list[Ranked]
    opinions: list[Ranked]
    evidence: list[Ranked]
    verdict: Literal["yes", "no"] | None = None
    """For a yes/no question the evidence settles: which way."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; citations name the field and the sentence they quote."""

        def cite(r: Ranked) -> dict[str, Any]:
            e = r.evidence
            return {
                "ref": e.id,
                "source": e.source,
                "field": e.field,
                "text": e.text,
                "score": round(r.score, 4),
            }

        return {
            "question": self.question,
            "answer": self.answer,
            "status": self.status,
            "verdict": self.verdict,
            "citations": [cite(r) for r in self.citations],
            "specification": [cite(r) for r in self.specification],
            "opinions": [cite(r) for r in self.opinions],
            "evidence": [r.to_dict() for r in self.evidence],
        }


def _best_sentence(question: str, text: str) -> str:
    """The sentence of a multi-sentence piece of evidence that shares most words with the question."""
    parts = sentences(text)
    if len(parts) <= 1:
        return text.strip()
    terms = content_words(question)
    scored = [(sum(_Terms.of(p).has(t) for t in terms), -i, p) for i, p in enumerate(parts)]
    return max(scored)[2]


def _verdict(question: str, evidence: Evidence, sentence: str) -> Literal["yes", "no"] | None:
    """Yes or no, only when the specification says so; ``None`` leaves the sentence to speak."""
    if evidence.kind == "opinion":
        return None
    if evidence.value is not None:
        value = evidence.value.strip().casefold()
        if value in _YES_VALUES:
            return "yes"
        if value in _NO_VALUES:
            return "no"
    terms = content_words(question)
    if not terms:
        return None
    found = _Terms.of(sentence)
    covered = sum(found.has(t) for t in terms) / len(terms)
    negated = _has_negation(found.words)
    if negated and covered >= 0.5 and not _has_negation(words(question)):
        return "no"
    if not negated and covered >= 0.999:
        return "yes"
    return None


def answer(
    question: str,
    facts: ProductFacts | Sequence[Evidence],
    *,
    image_facts: Iterable[Fact] = (),
    k: int = 5,
    ranker: QARanker | None = None,
) -> Answer:
    """Answer ``question`` from the product's evidence, citing it, or say "not stated".

    ``facts``: the product's facts (or evidence already built, as the evaluation gives it);
    ``image_facts``: facts of the shopper's photo (:func:`photo_facts`). ``ranker`` defaults to
    USE-multilingual with :data:`FITTED_WEIGHTS`, loaded once per process. The answer is in the
    language of the evidence it quotes (a Chinese question about an English product is answered
    with the English sentence); only "Yes"/"No" and the opinion prefix are added words.
    """
    question = question.strip()
    ranker = ranker or _default_ranker()
    pool = (
        evidence_of(facts, image_facts)
        if isinstance(facts, ProductFacts)
        else [*facts, *(Evidence.from_fact(f) for f in image_facts)]
    )
    ranked = ranker.rank(question, pool)
    passing = [r for r in ranked if r.score >= ranker.threshold]
    specification = [r for r in passing if r.evidence.kind == "specification"][:3]
    opinions = [r for r in passing if r.evidence.kind == "opinion"][:3]
    shown = ranked[:k]
    if not passing:
        return Answer(question, NOT_STATED, "not_stated", [], [], [], shown)
    best = specification[0] if specification else opinions[0]
    sentence = _best_sentence(question, best.evidence.text)
    verdict = _verdict(question, best.evidence, sentence) if is_yes_no(question) else None
    if best.evidence.kind == "opinion":
        text = _OPINION_PREFIX.get(best.evidence.source.casefold(), "A shopper answered: ") + sentence
    elif verdict is not None:
        text = f"{'Yes' if verdict == 'yes' else 'No'}: {sentence}"
    else:
        text = sentence
    return Answer(question, text, "answered", [best], specification, opinions, shown, verdict)
