"""The product-page check: what each listing's words say against what its photo shows.

For every stored product (all, ``ids``, or those matching ``where``) the model reads the photo
alone: the stored ``image`` vector goes through the model's photo heads (blended with the fused
heads over a photo-only product vector, as for image-only items), never through the title, so a
title cannot vouch for itself. Predictions at or above ``min_confidence`` in the slots a photo
shows (category, colour, pattern, material by default) become a
:class:`~shopfuse.content.facts.ProductFacts` of source ``photo`` and nothing else; the title,
the description and the stated attributes are checked against it with
:func:`shopfuse.content.claims.check`, using a lexicon of every stored product's attribute values.

Findings (:class:`Finding`):

- ``contradiction``: a phrase of the title or description (or a stated attribute, ``field:
  "attributes"``) that a confident photo prediction contradicts: "Blue" for a red photo, "Shirt"
  for shoes. A contradiction is kept only where the catalogue itself never pairs the two values
  (no stored product with the photo's value states the claimed one: "Kurta" does not contradict a
  photo read as ``masterCategory=Apparel``), and not where the same field also states the photo's
  value (a title naming two colours, "Red Tape ... Brown Shoes", one of them the photo's), except
  that a title's last category word is its product ("Puma ... tee Purple Shoes" on a T-shirt);
- ``missing``: a slot the photo confidently shows that neither the title, the description nor the
  stated attributes mention (one finding per slot, its most specific label);
- ``duplicate``: listings that are one product, by the engine's own duplicate rule
  (:mod:`shopfuse.tasks.duplicates`: equal titles and near-identical photos, or a shared variant
  attribute); one finding per group, on its first id, with the others.

Products are read in batches; the lexicon pass and the duplicate pass keep only titles, attribute
values and their co-occurrence per value, not whole records.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from dataclasses import field as _field
from typing import Any, Literal

import numpy as np

from shopfuse.content.claims import Claim, Lexicon, check
from shopfuse.content.facts import EXCLUSIVE_SLOTS, Fact, ProductFacts, slot_of
from shopfuse.errors import ConfigError
from shopfuse.model.shop_model import ShopModel
from shopfuse.store.base import VectorStore
from shopfuse.tasks.duplicates import DuplicateRule, collapse_hits, normalise_title, stored_vectors
from shopfuse.types import Hit

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "PHOTO_SLOTS",
    "Finding",
    "PageCheckReport",
    "check_pages",
    "duplicate_groups",
    "photo_predictions",
]

Kind = Literal["contradiction", "missing", "duplicate"]
KINDS: tuple[Kind, ...] = ("contradiction", "missing", "duplicate")

DEFAULT_MIN_CONFIDENCE = 0.8
"""Photo predictions below this are not compared with the text (on the demo store's photo heads,
predictions at 0.8 or more agree with the stated value 96% of the time for colour, 99% for
article type)."""
PHOTO_SLOTS: tuple[str, ...] = ("category", "colour", "pattern", "material")
"""Slots a photo shows. Gender, season and usage are guessed from a photo too, but a photo does
not state them: they are not compared."""
BATCH = 256
CONTEXT_CHARS = 160
"""Characters of the field kept on each side of a contradicting phrase."""


@dataclass(slots=True)
class Finding:
    """One problem of one listing."""

    kind: Kind
    id: str
    title: str | None
    field: str = ""
    """``title``, ``description``, ``attributes`` (a stated value) or ``text`` (missing from all)."""
    text: str = ""
    """The contradicting phrase or stated value, as written."""
    photo_says: str | None = None
    attribute: str | None = None
    """The model label the photo reading is for (``baseColour``)."""
    confidence: float | None = None
    stated_key: str | None = None
    """For ``field == "attributes"``: the attribute that states ``text``."""
    context: str = ""
    """The field's text around the phrase; ``start``/``end`` locate the phrase in it."""
    start: int = 0
    end: int = 0
    others: list[str] = _field(default_factory=list)
    """For duplicates: the other listings of the same product."""
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without empty optional fields."""
        out = asdict(self)
        for key in ("stated_key", "others", "photo_says", "attribute", "confidence", "context"):
            if out[key] in (None, [], ""):
                del out[key]
        if "context" not in out:
            del out["start"], out["end"]
        return out


@dataclass(slots=True)
class PageCheckReport:
    """The findings of one check and how it was made."""

    findings: list[Finding]
    products: int
    with_photo: int
    min_confidence: float
    slots: tuple[str, ...]
    labels: dict[str, str]
    """The model labels compared, with their slot."""
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Findings per kind."""
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, counts and findings."""
        return {
            "products": self.products,
            "with_photo": self.with_photo,
            "min_confidence": self.min_confidence,
            "compared": (
                f"photo predictions compared with the text only at confidence >= {self.min_confidence:g}, "
                f"for {', '.join(f'{k} ({v})' for k, v in self.labels.items()) or 'no label'}"
            ),
            "slots": list(self.slots),
            "counts": self.counts(),
            "seconds": round(self.seconds, 2),
            "findings": [f.to_dict() for f in self.findings],
        }


def photo_predictions(model: ShopModel, vectors: np.ndarray) -> list[dict[str, tuple[str, float]]]:
    """The model's reading of photos alone: ``[{label: (value, confidence)}]`` per stored image vector.

    The fused heads see a product vector made of the photo only, blended with the photo heads as
    :meth:`~shopfuse.model.shop_model.ShopModel.attribute_probabilities` does for image-only items.
    """
    if model.heads is None:
        raise ConfigError(
            f"model {model.config.model_id} has no attribute heads: it cannot say what a photo shows "
            "(learn a model with labels, e.g. `shopfuse ingest` with enough products, or --labels)"
        )
    if "image" not in model.config.modalities:
        raise ConfigError(f"model {model.config.model_id} was not trained on photos")
    n = len(vectors)
    if n == 0:
        return []
    raw: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name, dim in model.input_dims().items():
        raw[name] = np.zeros((n, dim), dtype=np.float32)
        masks[name] = np.full(n, name == "image")
    raw["image"] = np.asarray(vectors, dtype=np.float32)
    fused = model.fuse(raw, masks).vectors
    probabilities = model.attribute_probabilities(fused, image=raw["image"], has_image=masks["image"])
    out: list[dict[str, tuple[str, float]]] = [{} for _ in range(n)]
    for label, proba in probabilities.items():
        classes = model.heads.classes_[label]
        best = proba.argmax(1)
        for i, k in enumerate(best):
            out[i][label] = (str(classes[int(k)]), float(proba[i, k]))
    return out


def duplicate_groups(
    store: VectorStore, titles: Mapping[str, str | None], rule: DuplicateRule | None = None
) -> list[list[str]]:
    """Groups (two or more ids, first one first) of listings that are one product, by ``rule``.

    ``titles`` is ``{id: title}`` in the order to keep; only products that share a normalised
    title (or, with a variant attribute, a variant value) are compared, so only their vectors
    are read.
    """
    rule = rule or DuplicateRule()
    by_title: dict[str, list[str]] = {}
    for pid, title in titles.items():
        key = normalise_title(title)
        if key:
            by_title.setdefault(key, []).append(pid)
    candidates = [pid for ids in by_title.values() if len(ids) > 1 for pid in ids]
    variants: dict[str, str] = {}
    if rule.variant_attribute is not None:
        for batch in _batches(list(titles), BATCH):
            for record in store.get(batch):
                value = (record.get("attributes") or {}).get(rule.variant_attribute)
                if value is not None and str(value).strip():
                    variants[record["id"]] = str(value).strip()
        shared: dict[str, int] = {}
        for value in variants.values():
            shared[value] = shared.get(value, 0) + 1
        candidates += [pid for pid, value in variants.items() if shared[value] > 1]
    if not candidates:
        return []
    order = {pid: i for i, pid in enumerate(titles)}
    ids = sorted(set(candidates), key=order.__getitem__)
    hits = [
        Hit(
            pid,
            0.0,
            titles[pid],
            attributes={rule.variant_attribute: variants[pid]}
            if rule.variant_attribute and pid in variants
            else {},
        )
        for pid in ids
    ]
    photos = stored_vectors(store, "image", ids)
    texts = stored_vectors(store, "text", [i for i in ids if i not in photos])
    kept = collapse_hits(hits, photos=photos, texts=texts, rule=rule)
    return [[h.id, *h.variants] for h in kept if h.variants]


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class _Catalogue:
    """The shop's vocabulary (a :class:`Lexicon`) and which values its products state together."""

    def __init__(self, store: VectorStore, ids: Sequence[str], slots: Iterable[str]) -> None:
        self.slots = set(slots)
        self._together: dict[tuple[str, str], set[str]] = {}
        self.lexicon = Lexicon.build(self._facts(store, ids))
        self._concepts: dict[tuple[str, str], set[str]] = {}

    def _facts(self, store: VectorStore, ids: Sequence[str]) -> Iterator[ProductFacts]:
        for batch in _batches(ids, BATCH):
            for record in store.get(batch):
                facts = ProductFacts.from_record(record)
                by_slot: dict[str, set[str]] = {}
                for fact in facts.attributes():
                    if fact.slot in self.slots:
                        by_slot.setdefault(fact.slot, set()).add(fact.value)
                for fact in facts.attributes():
                    if fact.slot in by_slot:
                        key = (fact.key, fact.value.casefold())
                        self._together.setdefault(key, set()).update(by_slot[fact.slot])
                yield facts

    def _closure(self, value: str) -> set[str]:
        concepts = set(self.lexicon.concepts_of(value))
        for concept in list(concepts):
            concepts |= self.lexicon.broader.get(concept, set())
        return concepts

    def compatible(self, claimed: str, photo: Fact) -> bool:
        """Whether a stored product with the photo's value (same label) states ``claimed`` too."""
        key = (photo.key, photo.value.casefold())
        together = self._together.get(key)
        if together is None:
            return False  # a value the shop never states: nothing vouches for the pairing
        concepts = self._concepts.get(key)
        if concepts is None:
            concepts = self._concepts[key] = set().union(*(self._closure(v) for v in together))
        said = self._closure(claimed)
        if said & concepts or claimed.casefold() in {v.casefold() for v in together}:
            return True
        # a head word in common: "Sports Sandals" is a kind of "Sandals"
        words, value = _words(claimed), _words(photo.value)
        return bool(words and value) and (words[-len(value) :] == value or value[-len(words) :] == words)


def _words(text: str) -> list[str]:
    """Lower-case singular words: "Sports Sandals" -> ``["sport", "sandal"]``."""
    return [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in text.casefold().split()
    ]


def _specificity(model: ShopModel) -> dict[str, int]:
    """Labels ranked by their number of values: ``articleType`` says more than ``masterCategory``."""
    assert model.heads is not None
    return {label: len(values) for label, values in model.heads.classes_.items()}


def _context(text: str, start: int, end: int) -> tuple[str, int, int]:
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    prefix, suffix = ("…" if lo else ""), ("…" if hi < len(text) else "")
    snippet = prefix + text[lo:hi] + suffix
    return snippet, start - lo + len(prefix), end - lo + len(prefix)


class _Checker:
    """The checks of one product against its photo facts."""

    def __init__(self, catalogue: _Catalogue, specificity: Mapping[str, int]) -> None:
        self.catalogue = catalogue
        self.lexicon = catalogue.lexicon
        self.specificity = specificity

    def contradictions(
        self, claims: list[Claim], photo: ProductFacts, *, head_last: bool = False
    ) -> list[tuple[Claim, Fact]]:
        """Contradicted claims with the photo fact that contradicts them.

        Pairings the shop itself uses are not contradictions, and a slot where the field also
        names a value that agrees with the photo is left alone: titles name brands and parts
        ("Red Tape ... Brown Shoes", "Pepe Jeans ... Sunglasses", "sports bra Tops"). With
        ``head_last`` (titles) the last category word is the product's: when it contradicts the
        photo, the category words that do too are reported whatever the others say.
        """
        by_slot: dict[str, list[tuple[Claim, list[Fact]]]] = {}
        for claim in claims:
            if claim.slot not in EXCLUSIVE_SLOTS or claim.status == "unsupported":
                continue
            against = []
            if claim.status == "contradicted":
                against = [
                    f
                    for f in photo.attributes()
                    if f.slot == claim.slot and not self.catalogue.compatible(claim.text, f)
                ]
            by_slot.setdefault(claim.slot, []).append((claim, against))
        out = []
        for slot, judged in by_slot.items():
            if head_last and slot == "category" and judged[-1][1]:
                # a title names its product last ("Puma ... tee Purple Shoes"): that word decides
                judged = [j for j in judged if j[1]]
            elif any(not against for _, against in judged):
                continue  # the field names a value the photo agrees with
            for claim, against in judged:
                best = max(against, key=lambda f: (self.specificity.get(f.key, 0), f.confidence))
                out.append((claim, best))
        return out

    def product(self, record: Mapping[str, Any], photo: ProductFacts) -> list[Finding]:
        pid, title = str(record["id"]), record.get("title")
        image = record.get("image")

        def finding(**kwargs: Any) -> Finding:
            return Finding(id=pid, title=title, image=image, **kwargs)

        found: list[Finding] = []
        mentioned: set[str] = set()
        for name in ("title", "description"):
            text = record.get(name)
            if not text:
                continue
            result = check(str(text), photo, self.lexicon)
            mentioned |= {c.slot for c in result.claims}
            for claim, fact in self.contradictions(result.claims, photo, head_last=name == "title"):
                context, start, end = _context(str(text), claim.start, claim.end)
                found.append(
                    finding(
                        kind="contradiction",
                        field=name,
                        text=claim.text,
                        photo_says=fact.value,
                        attribute=fact.key,
                        confidence=fact.confidence,
                        context=context,
                        start=start,
                        end=end,
                    )
                )
        stated = ProductFacts.from_record({"id": pid, "attributes": record.get("attributes") or {}})
        by_slot: dict[str, list[Fact]] = {}
        for fact in stated.attributes():
            by_slot.setdefault(fact.slot, []).append(fact)
        for slot, facts in by_slot.items():
            if slot not in self.catalogue.slots:
                continue
            mentioned.add(slot)
            claims: list[Claim] = []
            owners: dict[int, Fact] = {}
            for fact in facts:
                for claim in check(fact.value, photo, self.lexicon).claims:
                    owners[id(claim)] = fact
                    claims.append(claim)
            reported: set[tuple[str, str]] = set()
            for claim, against in self.contradictions(claims, photo):
                owner = owners[id(claim)]
                if (owner.value.casefold(), against.key) in reported:
                    continue  # one value under several keys (subCategory and articleType "Free Gifts")
                reported.add((owner.value.casefold(), against.key))
                context = f"{owner.key}: {owner.value}"
                start = len(owner.key) + 2 + claim.start
                found.append(
                    finding(
                        kind="contradiction",
                        field="attributes",
                        text=owner.value,
                        stated_key=owner.key,
                        photo_says=against.value,
                        attribute=against.key,
                        confidence=against.confidence,
                        context=context,
                        start=start,
                        end=start + claim.end - claim.start,
                    )
                )
        shown: dict[str, Fact] = {}
        for fact in photo.attributes():
            best = shown.get(fact.slot)
            if best is None or self.specificity.get(fact.key, 0) > self.specificity.get(best.key, 0):
                shown[fact.slot] = fact
        for slot, fact in shown.items():
            if slot not in mentioned:
                found.append(
                    finding(
                        kind="missing",
                        field="text",
                        photo_says=fact.value,
                        attribute=fact.key,
                        confidence=fact.confidence,
                    )
                )
        return found


def _select(
    store: VectorStore, ids: Sequence[str] | None, where: str | None, limit: int | None
) -> tuple[list[str], list[str]]:
    """``(every stored id, the ids to check)``, in store order."""
    every = list(store.hashes())
    if ids is not None:
        known = set(every)
        missing = [i for i in ids if i not in known]
        if missing:
            raise ConfigError(f"{len(missing)} product(s) not in the store, e.g. {missing[:3]}")
        chosen = list(dict.fromkeys(ids))
    else:
        chosen = every
    if where:
        matching = set(store.ids_where(where))
        chosen = [i for i in chosen if i in matching]
    if limit is not None:
        if limit < 0:
            raise ConfigError(f"limit must be 0 or more, got {limit}")
        chosen = chosen[:limit]
    return every, chosen


def check_pages(
    store: VectorStore,
    model: ShopModel,
    *,
    ids: Sequence[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    slots: Sequence[str] = PHOTO_SLOTS,
    duplicates: DuplicateRule | None = None,
    find_duplicates: bool = True,
    progress: bool = False,
) -> PageCheckReport:
    """Check each chosen product's title, description and attributes against its photo.

    ``model`` is the store's trained model (it reads the photos); ``duplicates`` the rule that
    makes two listings one (the engine's, with its variant attribute). The lexicon and the
    value pairings come from every stored product, whatever ``ids``/``where``/``limit`` choose.
    """
    from tqdm.auto import tqdm

    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"min_confidence must be between 0 and 1, got {min_confidence}")
    if model.heads is None:
        photo_predictions(model, np.zeros((0, 1)))  # raises the explanation
    started = time.perf_counter()
    every, chosen = _select(store, ids, where, limit)
    labels = {label: slot_of(label) for label in model.config.labels if slot_of(label) in set(slots)}
    if model.heads is not None:
        labels = {k: v for k, v in labels.items() if k in model.heads.classes_}
    catalogue = _Catalogue(store, every, slots)
    checker = _Checker(catalogue, _specificity(model))
    findings: list[Finding] = []
    titles: dict[str, str | None] = {}
    with_photo = 0
    bar = tqdm(total=len(chosen), desc="page check", unit="product", disable=not progress)
    try:
        for batch in _batches(chosen, BATCH):
            records = store.get(batch)
            photos = stored_vectors(store, "image", batch)
            pictured = [r for r in records if r["id"] in photos]
            readings = (
                photo_predictions(model, np.stack([photos[r["id"]] for r in pictured])) if pictured else []
            )
            reading = {r["id"]: p for r, p in zip(pictured, readings, strict=True)}
            for record in records:
                titles[record["id"]] = record.get("title")
                predicted = reading.get(record["id"])
                if predicted is None:
                    continue
                with_photo += 1
                seen = {k: v for k, v in predicted.items() if k in labels}
                photo = ProductFacts.from_record(
                    {"id": record["id"]}, predicted=seen, min_confidence=min_confidence
                )
                if photo.facts:
                    findings += checker.product(record, photo)
            bar.update(len(batch))
    finally:
        bar.close()
    if find_duplicates:
        images = {}
        for group in duplicate_groups(store, titles, duplicates):
            images.update({r["id"]: r.get("image") for r in store.get(group[:1])})
            findings.append(
                Finding(
                    kind="duplicate",
                    id=group[0],
                    title=titles.get(group[0]),
                    field="listing",
                    others=group[1:],
                    image=images.get(group[0]),
                )
            )
    return PageCheckReport(
        findings=findings,
        products=len(chosen),
        with_photo=with_photo,
        min_confidence=min_confidence,
        slots=tuple(slots),
        labels=labels,
        seconds=time.perf_counter() - started,
    )
