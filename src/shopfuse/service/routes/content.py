"""Marketing copy for a stored product: ``POST /copy``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from shopfuse.errors import ConfigError
from shopfuse.service.deps import EngineDep

__all__ = ["CopyIn", "router"]

router = APIRouter()


class CopyIn(BaseModel):
    """What ``POST /copy`` takes."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200)
    lang: Literal["zh", "en"] = "en"
    style: Literal["title", "bullets", "paragraph"] = "paragraph"
    audience: str | None = Field(default=None, max_length=200)
    min_confidence: float = Field(default=0.8, ge=0.0, le=1.0)


@router.post("/copy")
def write_copy(engine: EngineDep, body: CopyIn) -> dict[str, Any]:
    """Copy for one product with its claims, each naming the fact it comes from (the default
    generator, the shop's own phrasing; the LLM generator is for batch runs from the CLI)."""
    from shopfuse.content.base import CopyRequest

    try:
        facts = engine.product_facts([body.item], min_confidence=body.min_confidence)[0]
    except ConfigError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    request = CopyRequest(lang=body.lang, style=body.style, audience=body.audience)
    copy = engine.copy_writer().write(facts, request)
    return {**copy.to_dict(), "facts": [f.to_dict() for f in facts.facts]}
