"""Product Q&A: ``POST /ask`` answers a shopper's question from the product's own record, with citations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shopfuse.content.ask import MAX_QUESTION_CHARS
from shopfuse.errors import ShopfuseError
from shopfuse.service.deps import EngineDep

__all__ = ["AskIn", "router"]

router = APIRouter()


class AskIn(BaseModel):
    """The body of ``POST /ask``."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200, description="The product's id in the store.")
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
    ] = Field(description="The shopper's question, Chinese or English.")
    k: int = Field(default=5, ge=1, le=50, description="Ranked evidence to return.")


@router.post("/ask")
def ask(engine: EngineDep, body: AskIn) -> dict[str, Any]:
    """Answer from the best evidence (attributes, description sentences, OCR, reviews...), cite it,
    keep specification and customers' opinions apart, or say "not stated"."""
    from shopfuse.content.ask import AskParts, ask_store, ranker_for

    if not engine.store.get([body.item]):
        raise HTTPException(404, f"no product {body.item!r}")
    try:
        ranker = ranker_for(engine.text_encoder, engine.config.text_encoder.name)
        parts = AskParts(engine.store, ranker, engine.model, engine.predict_attributes)
        result = ask_store(parts, body.item, body.question, k=body.k)
    except ShopfuseError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"item": body.item, **result.to_dict()}
