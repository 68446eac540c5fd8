"""Recommendations: similar products, complements, users' picks and profiles, segments, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from shopfuse.errors import ShopfuseError
from shopfuse.service.deps import EngineDep, RecommenderDep, SettingsDep, WriterDep, require_key
from shopfuse.service.media import media_urls
from shopfuse.service.paging import check_page

__all__ = ["InteractionIn", "router"]

router = APIRouter()


class InteractionIn(BaseModel):
    """One event posted to ``POST /interactions``."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=200)
    item_id: str = Field(min_length=1, max_length=200)
    timestamp: datetime
    event: str = "purchase"
    weight: float = Field(default=1.0, ge=0)
    price: float | None = Field(default=None, ge=0)


@router.get("/recommend/similar/{product_id:path}")
def recommend_similar(
    recommender: RecommenderDep,
    settings: SettingsDep,
    product_id: str,
    k: Annotated[int, Query(ge=1)] = 10,
    exclude_variants: bool = False,
) -> dict[str, Any]:
    """Nearest products by fused content; ``exclude_variants`` drops near-duplicates and variants."""
    check_page(settings, k)
    items = recommender().similar(product_id, k=k, exclude_variants=exclude_variants)
    return {"items": [media_urls(i) for i in items]}


@router.get("/products/{product_id:path}/complements")
def complements(
    recommender: RecommenderDep, settings: SettingsDep, product_id: str, k: Annotated[int, Query(ge=1)] = 10
) -> dict[str, Any]:
    """Complete the look: other categories bought with items like this one."""
    check_page(settings, k)
    return {"items": [media_urls(i) for i in recommender().complements(product_id, k=k)]}


@router.get("/users/{user_id}/recommendations")
def user_recommendations(
    recommender: RecommenderDep,
    settings: SettingsDep,
    user_id: str,
    k: Annotated[int, Query(ge=1)] = 12,
    method: Literal["hybrid", "content", "itemknn", "popularity"] = "hybrid",
) -> dict[str, Any]:
    """What the user is likely to take next (an unknown user gets popular items)."""
    check_page(settings, k)
    return {
        "user_id": user_id,
        "method": method,
        "items": [media_urls(i) for i in recommender().for_user(user_id, k=k, method=method)],
    }


@router.get("/users/{user_id}/profile")
def user_profile(recommender: RecommenderDep, user_id: str, vector: bool = False) -> dict[str, Any]:
    """Interpretable interests with weights (and the profile vector when asked)."""
    try:
        return dict(recommender().profile(user_id).to_dict(with_vector=vector))
    except ShopfuseError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/segments")
def segments(
    recommender: RecommenderDep, n: Annotated[int | None, Query(ge=2, le=20)] = None
) -> dict[str, Any]:
    """User segments by profile vectors, each described by what it over-indexes on."""
    try:
        _, found, _ = recommender().segments(n)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"segments": [s.to_dict() for s in found]}


@router.post("/interactions", dependencies=[Depends(require_key)])
async def add_interactions(
    engine: EngineDep, writer: WriterDep, events: list[InteractionIn]
) -> dict[str, Any]:
    """Append purchases, carts or views (API key); recommendations use them on the next call."""
    from shopfuse.recommend import Event, InteractionLog, Interactions
    from shopfuse.recommend.interactions import EVENT_WEIGHTS

    if not events:
        raise HTTPException(400, "no interactions given")
    parsed = []
    for position, item in enumerate(events):
        if item.event not in EVENT_WEIGHTS:
            raise HTTPException(400, f"interaction {position}: unknown event {item.event!r}")
        stamp = item.timestamp if item.timestamp.tzinfo else item.timestamp.replace(tzinfo=UTC)
        parsed.append(
            Event(item.user_id, item.item_id, stamp.timestamp(), item.event, item.weight, item.price)
        )
    await writer.run(lambda: InteractionLog(engine.path / "interactions").append(Interactions(parsed)))
    return {"appended": len(parsed)}
