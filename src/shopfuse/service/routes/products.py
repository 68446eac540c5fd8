"""Products: one product, its photos and look-alikes, posting and deleting products.

Ids may hold "/": every product route takes a ``{product_id:path}`` parameter, so the longer
routes come first here and this router is included after every other ``/products/...`` route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from shopfuse.engine import Engine
from shopfuse.errors import MediaError
from shopfuse.service.deps import (
    EngineDep,
    ImageRootsDep,
    MediaRootsDep,
    SettingsDep,
    ThumbnailsDep,
    WriterDep,
    require_key,
)
from shopfuse.service.media import (
    THUMBNAIL_SIZES,
    VIDEO_SUFFIXES,
    etag,
    media_urls,
    product_images,
    served_path,
)
from shopfuse.service.paging import check_page, page
from shopfuse.service.writes import PostError, posted_catalog

__all__ = ["PHOTO_MAX_AGE", "ProductIn", "router"]

PHOTO_MAX_AGE = 86_400
"""Seconds browsers may reuse a served photo before asking again (with its ETag)."""

router = APIRouter()


class ProductIn(BaseModel):
    """A product posted to ``POST /products``: the catalogue's fields, media as paths on the server."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    image: str | None = None
    images: list[str] | None = None
    video: str | None = None
    audio: str | None = None


def _product_row(engine: Engine, product_id: str) -> dict[str, Any]:
    rows = engine.store.get([product_id])
    if not rows:
        raise HTTPException(404, f"no product {product_id!r}")
    return rows[0]


@router.get("/products/{product_id:path}/images/{number}")
def product_image(
    request: Request,
    engine: EngineDep,
    image_roots: ImageRootsDep,
    thumbnails: ThumbnailsDep,
    product_id: str,
    number: Annotated[int, FastPath(ge=0, description="Which photo, from 0.")],
    size: Annotated[
        int | None,
        Query(
            ge=THUMBNAIL_SIZES[0],
            le=THUMBNAIL_SIZES[1],
            description="Longest edge of a JPEG thumbnail; none: the stored file.",
        ),
    ] = None,
) -> Response:
    """A product's stored photo (or a thumbnail of it), if it lies inside the image roots.

    A product with a video and no photo shows a frame of its video as photo 0 (a JPEG).
    """
    row = _product_row(engine, product_id)
    images = product_images(row)
    if not images and number == 0 and row.get("video"):
        path = served_path(row["video"], image_roots, VIDEO_SUFFIXES)
        if path is not None:
            size = size or THUMBNAIL_SIZES[1]
    elif number >= len(images):
        raise HTTPException(404, f"product {product_id!r} has no photo {number}")
    else:
        path = served_path(images[number], image_roots)
    if path is None:
        raise HTTPException(404, f"photo {number} of {product_id!r} is not served")
    tag = etag(path, size)
    headers = {"Cache-Control": f"public, max-age={PHOTO_MAX_AGE}", "ETag": tag}
    if tag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    if size is None:
        return FileResponse(path, headers=headers)
    try:
        data = thumbnails.get(path, size, tag)
    except MediaError as exc:
        raise HTTPException(404, f"photo {number} of {product_id!r} cannot be shown: {exc.reason}") from exc
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get("/products/{product_id:path}/video")
def product_video(engine: EngineDep, image_roots: ImageRootsDep, product_id: str) -> Response:
    """A product's video (the web UI plays it from a moment's start), if it lies inside the media roots."""
    video = _product_row(engine, product_id).get("video")
    path = served_path(video, image_roots, VIDEO_SUFFIXES) if video else None
    if path is None:
        raise HTTPException(404, f"product {product_id!r} has no served video")
    return FileResponse(path, headers={"Cache-Control": f"public, max-age={PHOTO_MAX_AGE}"})


@router.get("/products/{product_id:path}/similar")
def similar(
    engine: EngineDep, settings: SettingsDep, product_id: str, k: Annotated[int, Query(ge=1)] = 10
) -> dict[str, Any]:
    """Products like this one: by its photo where it has one, else by its text."""
    check_page(settings, k)
    row = _product_row(engine, product_id)
    if row.get("image") and engine.image_encoder is not None:
        hits = engine.search_image(row["image"], k=k + 1)
    elif row.get("title") or row.get("description"):
        hits = engine.search_text(row.get("title") or row["description"], k=k + 1)
    else:
        hits = []
    return page([h for h in hits if h.id != product_id][:k], k, 0, [])


@router.post("/products", dependencies=[Depends(require_key)])
async def upsert(
    engine: EngineDep,
    settings: SettingsDep,
    media_roots: MediaRootsDep,
    writer: WriterDep,
    products: list[ProductIn],
) -> dict[str, Any]:
    """Add or update products (API key); one commit per request. Media paths must lie under
    the media roots (relative ones are taken relative to the first)."""
    if not products:
        raise HTTPException(400, "no products given")
    if len(products) > settings.max_products_per_request:
        raise HTTPException(400, f"at most {settings.max_products_per_request} products per request")
    try:
        catalog = posted_catalog(
            [p.model_dump(exclude_none=True) for p in products],
            roots=media_roots,
            known_attributes=engine.store.manifest.attributes,
            allow_new_attributes=settings.allow_new_attributes,
            limits=engine.config.limits,
        )
    except PostError as exc:
        raise HTTPException(400, str(exc)) from exc

    # one commit per request: a server killed mid-request keeps all of it or none
    report = await writer.change_store(
        lambda: engine.ingest_catalog(catalog, sync=False, progress=False, atomic=True, optimize=False)
    )
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "problems": [p.to_dict() for p in report.problems][:50],
    }


# last: "/products/{id:path}" would otherwise answer the longer product routes above
@router.get("/products/{product_id:path}")
def product(engine: EngineDep, product_id: str) -> dict[str, Any]:
    """One product: fields, attributes, per-modality contributions, video moments, and its media as
    the URLs this service serves them at (``/products/{id}/images/{n}``, ``/products/{id}/video``)."""
    row = media_urls(_product_row(engine, product_id))
    moments = engine.product_moments(product_id)
    return {**row, "moments": moments} if moments else row


@router.delete("/products/{product_id:path}", dependencies=[Depends(require_key)])
async def delete(engine: EngineDep, writer: WriterDep, product_id: str) -> dict[str, Any]:
    """Remove a product (API key)."""

    def change() -> int:
        if not engine.store.get([product_id]):
            raise HTTPException(404, f"no product {product_id!r}")
        return engine.delete([product_id])

    return {"deleted": await writer.change_store(change)}
