"""Try-on: a shopper's photo with a stored product worn (earrings, necklace, ring), and which products can be.

``POST /tryon`` (multipart: ``photo``, ``item``, optional ``kind`` and ``face``) answers the photo
with the product on it as a PNG; a photo that cannot be used (no face, several faces, a profile, no
hand, too small or too large) is a 422 whose detail names the ``reason``. ``GET /tryon/kind/{id}``
tells the web UI whether a product is wearable (and the "Try it on" button shows).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shopfuse.errors import CatalogError, MediaError
from shopfuse.service.deps import EngineDep, SettingsDep

__all__ = ["router"]

router = APIRouter()


@router.get("/tryon/kind/{product_id:path}")
def tryon_kind(engine: EngineDep, product_id: str) -> dict[str, Any]:
    """``{"id", "kind", "wearable"}``: the product's kind (stated or recognised), whether try-on places it."""
    from shopfuse.tryon.kinds import PLACED
    from shopfuse.tryon.service import UnknownProductError, product_kind, product_record

    try:
        record = product_record(engine, product_id)
    except UnknownProductError as exc:
        raise HTTPException(404, str(exc)) from exc
    kind = product_kind(engine, record)
    placed = "necklace" if kind == "pendant" else kind
    return {"id": product_id, "kind": kind, "wearable": placed in PLACED}


@router.post("/tryon", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def tryon(
    engine: EngineDep,
    settings: SettingsDep,
    photo: Annotated[
        UploadFile, File(description="The shopper's photo: a face (earrings, necklace) or a hand (ring).")
    ],
    item: Annotated[str, Form(min_length=1, max_length=200, description="The product's id.")],
    kind: Annotated[
        str | None, Form(description="earrings, necklace or ring (default: the product's own).")
    ] = None,
    face: Annotated[
        int | None, Form(ge=0, description="Which face, largest first, when there are several.")
    ] = None,
) -> Response:
    """The photo with the product on it (PNG, the photo's size); the kind placed in ``X-Tryon-Kind``."""
    from shopfuse.tryon.anchors import open_photo
    from shopfuse.tryon.errors import TryOnError
    from shopfuse.tryon.service import NotWearableError, UnknownProductError, tryon_product

    if not (photo.content_type or "").startswith("image/"):
        raise HTTPException(415, f"expected an image upload, got content type {photo.content_type!r}")
    data = await photo.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")

    def work() -> tuple[bytes, str]:
        try:
            image = open_photo(io.BytesIO(data), "the uploaded photo")
            if image.width * image.height > settings.max_upload_pixels:
                raise TryOnError(
                    "photo_too_large",
                    f"the uploaded photo has {image.width}x{image.height} pixels; "
                    f"at most {settings.max_upload_pixels} are taken",
                )
            rgb = image.convert("RGB")
        except OSError as exc:
            raise MediaError("the uploaded photo", f"cannot be read as an image ({exc})") from exc
        result, anchors = tryon_product(engine, item, rgb, kind or None, face)
        buffer = io.BytesIO()
        result.save(buffer, format="PNG")
        return buffer.getvalue(), str(anchors["kind"])

    try:
        png, placed = await run_in_threadpool(work)
    except UnknownProductError as exc:
        raise HTTPException(404, str(exc)) from exc
    except TryOnError as exc:
        detail: dict[str, Any] = {"reason": exc.reason, "message": str(exc)}
        if exc.faces:
            detail["faces"] = [list(b) for b in exc.faces]
        raise HTTPException(422, detail) from exc
    except NotWearableError as exc:
        raise HTTPException(422, {"reason": "not_wearable", "message": str(exc)}) from exc
    except MediaError as exc:
        raise HTTPException(400, f"uploaded image: {exc.reason}") from exc
    except CatalogError as exc:
        raise HTTPException(422, {"reason": "product", "message": str(exc)}) from exc
    return Response(png, media_type="image/png", headers={"X-Tryon-Kind": placed})
