"""Answer a shopper's question about a stored product: the store's record, the model's recognised
attributes and, optionally, the shopper's own photo, through :func:`shopfuse.content.qa.answer`.

Shared by ``shopfuse ask`` and ``POST /ask``, which pass the store's parts in an :class:`AskParts`
(this package does not know the Engine).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shopfuse.content.facts import Fact, ProductFacts
from shopfuse.content.qa import FITTED_WEIGHTS, Answer, QARanker, answer, photo_facts, text_encoder
from shopfuse.content.text import sentences
from shopfuse.errors import CatalogError

if TYPE_CHECKING:
    from shopfuse.encoders.base import TextEncoder
    from shopfuse.modalities import Components
    from shopfuse.model.shop_model import ShopModel
    from shopfuse.tasks.attributes import AttributeRow

__all__ = [
    "AskParts",
    "AttributePredictor",
    "ProductRecords",
    "ask_store",
    "product_facts",
    "ranker_for",
    "shopper_photo_facts",
]

MAX_QUESTION_CHARS = 500
_RANKERS: dict[int, QARanker] = {}
_LOCK = threading.Lock()


class ProductRecords(Protocol):
    """Where the stored products' records come from (a vector store)."""

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The records of ``ids`` that exist."""
        ...


class AttributePredictor(Protocol):
    """The model's attribute predictions for stored products (``Engine.predict_attributes``)."""

    def __call__(self, *, ids: list[str], min_confidence: float) -> list[AttributeRow]:
        """One row per product."""
        ...


@dataclass(frozen=True, slots=True)
class AskParts:
    """What answering takes from a store."""

    records: ProductRecords
    ranker: QARanker
    """Ranks the evidence: :func:`ranker_for` the store's text encoder."""
    model: ShopModel | None = None
    """Its attribute heads (with ``predict``) and photo heads, when it has them."""
    predict: AttributePredictor | None = None
    components: Components | None = None
    """The OCR reader, image encoder and pixel limit for the shopper's photo (None: RapidOCR, no heads)."""


def ranker_for(encoder: TextEncoder, name: str) -> QARanker:
    """The Q&A ranker: ``encoder`` when it is USE-multilingual (``name``; the weights were fitted with
    it), else a USE-multilingual encoder of its own; one per encoder, so its cache lasts."""
    chosen: Any = encoder if name == "use-multilingual" else text_encoder("use-multilingual")
    with _LOCK:
        if id(chosen) not in _RANKERS:
            _RANKERS[id(chosen)] = QARanker(chosen, FITTED_WEIGHTS)
        return _RANKERS[id(chosen)]


def product_facts(parts: AskParts, item: str, *, min_confidence: float = 0.5) -> ProductFacts:
    """The stored product's facts, with the model's recognised attributes (when it has attribute heads)."""
    rows = parts.records.get([item])
    if not rows:
        raise CatalogError(f"no product {item!r} in the store")
    record = dict(rows[0])
    predicted: dict[str, tuple[str, float]] = {}
    if parts.predict is not None and parts.model is not None and parts.model.heads is not None:
        for row in parts.predict(ids=[item], min_confidence=min_confidence):
            for label, p in row.predicted.items():
                if label not in row.stated:
                    predicted[label] = (str(p.value), float(p.confidence))
    return ProductFacts.from_record(record, predicted=predicted, min_confidence=min_confidence)


def shopper_photo_facts(parts: AskParts, image: str | Path, *, min_confidence: float = 0.5) -> list[Fact]:
    """Facts of the shopper's photo (source ``your photo``): the text read in it (OCR; the store's
    reader, or one reading every detected box) and the attributes the model's photo heads recognise
    above ``min_confidence``."""
    from shopfuse.media.images import load_image
    from shopfuse.registry import registry

    found = parts.components
    limits = {"max_pixels": found.max_pixels} if found is not None else {}
    photo = load_image(image, **limits)  # MediaError says why not
    reader: Any = (found.ocr if found is not None else None) or registry.create("ocr", "rapidocr", gate=False)
    ocr = "\n".join(sentences(reader.read([photo])[0]))
    attributes: dict[str, tuple[str, float]] = {}
    model, encoder = parts.model, found.image if found is not None else None
    if model is not None and model.image_heads is not None and encoder is not None:
        vector = model.adapt_image(encoder.encode_images([photo]))
        for label, proba in model.image_heads.predict_proba(vector).items():
            best = int(proba[0].argmax())
            if float(proba[0, best]) >= min_confidence:
                attributes[label] = (str(model.image_heads.classes_[label][best]), float(proba[0, best]))
    return photo_facts(ocr, attributes)


def ask_store(
    parts: AskParts,
    item: str,
    question: str,
    *,
    image: str | Path | None = None,
    k: int = 5,
    min_confidence: float = 0.5,
) -> Answer:
    """Answer ``question`` about stored product ``item`` (see :func:`shopfuse.content.qa.answer`)."""
    question = question.strip()
    if not question:
        raise CatalogError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise CatalogError(f"the question is {len(question)} characters; at most {MAX_QUESTION_CHARS}")
    facts = product_facts(parts, item, min_confidence=min_confidence)
    extra = shopper_photo_facts(parts, image, min_confidence=min_confidence) if image is not None else []
    return answer(question, facts, image_facts=extra, k=k, ranker=parts.ranker)
