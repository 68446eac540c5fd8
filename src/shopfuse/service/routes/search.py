"""Search by text, by an uploaded photo, or by both."""

from __future__ import annotations

import tempfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile

from shopfuse.errors import MediaError
from shopfuse.media.images import load_image
from shopfuse.service.deps import EngineDep, SettingsDep
from shopfuse.service.paging import check_page, facet_labels, page, sort_hits

__all__ = ["router"]

router = APIRouter()


@router.get("/search")
def search(
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Text, any language.")],
    k: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    mode: Literal["vector", "lexical", "hybrid"] = "vector",
    fusion: Literal["rrf", "weighted"] = "rrf",
    lexical_weight: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    where: Annotated[str | None, Query(max_length=1000)] = None,
    facets: Annotated[str | None, Query(description="Attribute labels to count, comma separated.")] = None,
    sort: Annotated[str | None, Query(description="Attribute to sort the relevant results by.")] = None,
    order: Literal["asc", "desc"] = "asc",
    depth: Annotated[int, Query(ge=1, description="Relevance cut-off before facets and sort.")] = 50,
    collapse: Annotated[
        bool, Query(description="Duplicate listings (same title, near-identical photo) as one hit.")
    ] = True,
) -> dict[str, Any]:
    """Products matching a text query: pages of hits with the "why", facets, optional sort."""
    check_page(settings, k, offset, depth)
    hits = engine.search_text(
        q,
        k=max(depth, offset + k),
        where=where,
        mode=mode,
        fusion=fusion,
        lexical_weight=lexical_weight,
        collapse=collapse,
    )
    return page(sort_hits(hits, sort, order), k, offset, facet_labels(facets))


@router.get("/search/moments")
def search_moments(
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Text, any language.")],
    k: Annotated[int, Query(ge=1)] = 10,
) -> dict[str, Any]:
    """Timed parts of product videos ("00:12-00:18") matching a text query, with the "why"."""
    check_page(settings, k)
    return {"moments": [m.to_dict() for m in engine.search_moments(q, k=k)]}


@router.post("/search/image")
async def search_image(
    engine: EngineDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="A product photo (JPEG, PNG, WebP ...).")],
    k: Annotated[int, Form(ge=1)] = 10,
    where: Annotated[str | None, Form(max_length=1000)] = None,
    q: Annotated[
        str | None,
        Form(max_length=500, description="Optional words to search with the photo, any language."),
    ] = None,
    mode: Annotated[Literal["vector", "lexical", "hybrid"], Form()] = "vector",
    image_weight: Annotated[
        float, Form(ge=0.0, le=1.0, description="The photo's share when words are given too.")
    ] = 0.5,
    offset: Annotated[int, Form(ge=0)] = 0,
    facets: Annotated[str | None, Form(description="Attribute labels to count, comma separated.")] = None,
    depth: Annotated[int, Form(ge=1, description="Relevance cut-off before facets.")] = 50,
    collapse: Annotated[
        bool, Form(description="Duplicate listings (same title, near-identical photo) as one hit.")
    ] = True,
) -> dict[str, Any]:
    """Products that look like an uploaded photo; with ``q``, matching the words and the photo.

    Photo and words are ranked separately and merged by reciprocal rank fusion; each hit's
    "why" then holds ``text_query`` and ``image_query`` shares next to the modality scores.
    """
    check_page(settings, k, offset, depth)
    if not (file.content_type or "").startswith("image/"):
        raise HTTPException(415, f"expected an image upload, got content type {file.content_type!r}")
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
    with tempfile.NamedTemporaryFile(suffix=".upload") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            image = load_image(tmp.name, max_pixels=settings.max_upload_pixels)
        except MediaError as exc:  # the reason, without the server's temporary path
            raise HTTPException(400, f"uploaded image: {exc.reason}") from exc
    wanted = max(depth, offset + k)
    if q and q.strip():
        hits = engine.search_text_and_image(
            q,
            image,
            k=wanted,
            where=where,
            mode=mode,
            image_weight=image_weight,
            depth=wanted,
            collapse=collapse,
        )
    else:
        hits = engine.search_image(image, k=wanted, where=where, collapse=collapse)
    return page(hits, k, offset, facet_labels(facets))
