"""Answer a shopper's question about a stored product: the store's record, the model's recognised
attributes and, optionally, the shopper's own photo, through :func:`shopfuse.content.qa.answer`.

Shared by ``shopfuse ask`` and ``POST /ask``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopfuse.content.facts import Fact, ProductFacts
from shopfuse.content.qa import FITTED_WEIGHTS, Answer, QARanker, answer, photo_facts, text_encoder
from shopfuse.content.text import sentences
from shopfuse.errors import CatalogError

if TYPE_CHECKING:
    from shopfuse.engine import Engine

__all__ = ["ask_store", "product_facts", "ranker_for", "shopper_photo_facts"]

MAX_QUESTION_CHARS = 500
_RANKERS: dict[int, QARanker] = {}
_LOCK = threading.Lock()


def ranker_for(engine: Engine) -> QARanker:
    """The Q&A ranker: the store's text encoder when it is USE-multilingual (the weights were fitted
    with it), else a USE-multilingual encoder of its own; one per encoder, so its cache lasts."""
    encoder: Any = engine.text_encoder
    if engine.config.text_encoder.name != "use-multilingual":
        encoder = text_encoder("use-multilingual")
    with _LOCK:
        if id(encoder) not in _RANKERS:
            _RANKERS[id(encoder)] = QARanker(encoder, FITTED_WEIGHTS)
        return _RANKERS[id(encoder)]


def product_facts(engine: Engine, item: str, *, min_confidence: float = 0.5) -> ProductFacts:
    """The stored product's facts, with the model's recognised attributes (when the store has a model)."""
    rows = engine.store.get([item])
    if not rows:
        raise CatalogError(f"no product {item!r} in the store at {engine.path}")
    record = dict(rows[0])
    predicted: dict[str, tuple[str, float]] = {}
    if engine.model is not None and engine.model.heads is not None:
        for row in engine.predict_attributes(ids=[item], min_confidence=min_confidence):
            for label, p in row.predicted.items():
                if label not in row.stated:
                    predicted[label] = (str(p.value), float(p.confidence))
    return ProductFacts.from_record(record, predicted=predicted, min_confidence=min_confidence)


def shopper_photo_facts(engine: Engine, image: str | Path, *, min_confidence: float = 0.5) -> list[Fact]:
    """Facts of the shopper's photo (source ``your photo``): the text read in it (OCR; the store's
    reader, or one reading every detected box) and the attributes the model's photo heads recognise
    above ``min_confidence``."""
    from shopfuse.media.images import load_image
    from shopfuse.registry import registry

    photo = load_image(image, max_pixels=engine.config.max_image_pixels)  # MediaError says why not
    reader: Any = engine.components().ocr or registry.create("ocr", "rapidocr", gate=False)
    ocr = "\n".join(sentences(reader.read([photo])[0]))
    attributes: dict[str, tuple[str, float]] = {}
    model = engine.model
    if model is not None and model.image_heads is not None and engine.image_encoder is not None:
        vector = model.adapt_image(engine.image_encoder.encode_images([photo]))
        for label, proba in model.image_heads.predict_proba(vector).items():
            best = int(proba[0].argmax())
            if float(proba[0, best]) >= min_confidence:
                attributes[label] = (str(model.image_heads.classes_[label][best]), float(proba[0, best]))
    return photo_facts(ocr, attributes)


def ask_store(
    engine: Engine,
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
    facts = product_facts(engine, item, min_confidence=min_confidence)
    extra = shopper_photo_facts(engine, image, min_confidence=min_confidence) if image is not None else []
    return answer(question, facts, image_facts=extra, k=k, ranker=ranker_for(engine))
