"""Try-on of one product on one photo: the kind, the anchors, the cut-out, the overlay (CLI and API).

``tryon(photo, record)`` takes a stored product (its ``attributes``, ``title``, ``image``/``images``)
and a shopper's photo, and returns the photo with the product on it and the anchors it used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.errors import CatalogError
from shopfuse.tryon.anchors import FaceAnchors, HandAnchors, face_anchors, hand_anchors, scale_px_per_mm
from shopfuse.tryon.cutout import cached_cutout, largest_part, soften, split_pair
from shopfuse.tryon.kinds import KINDS, PLACED, kind_of
from shopfuse.tryon.render import (
    FACE_WIDTH_MM,
    Point,
    necklace_transform,
    place_earrings,
    place_necklace,
    place_ring,
    size_from_photo,
)

__all__ = [
    "NotWearableError",
    "UnknownProductError",
    "product_kind",
    "product_photo",
    "product_record",
    "stated_size_mm",
    "tryon",
    "tryon_product",
]

_SIZE = re.compile(
    r"\b(?:length|height|drop|diameter|size|long|tall)\b[^0-9]{0,20}(\d+(?:[.,]\d+)?)\s*(mm|cm)\b"
    r"|(\d+(?:[.,]\d+)?)\s*(mm|cm)\b[^.;,]{0,12}\b(?:long|length|drop|diameter|high|tall)\b",
    re.IGNORECASE,
)


class UnknownProductError(CatalogError):
    """No stored product has the asked id."""


class NotWearableError(CatalogError):
    """The product is not of a kind try-on can place (earrings, necklace, ring)."""

    def __init__(self, product: str, kind: str | None) -> None:
        what = f"a {kind}" if kind else "of no wearable kind (earrings, necklace, ring)"
        super().__init__(f"product {product!r} is {what}: try-on places earrings, necklaces and rings")
        self.kind = kind


def stated_size_mm(record: Mapping[str, Any]) -> float | None:
    """The size in mm the catalogue states ("Length 5 cm", "drop 35 mm"), from attributes then text."""
    attributes = record.get("attributes") or {}
    texts = [f"{k} {v}" for k, v in attributes.items()] if isinstance(attributes, Mapping) else []
    texts += [str(record.get("description") or ""), str(record.get("title") or "")]
    for text in texts:
        found = _SIZE.search(text)
        if found:
            number = found.group(1) or found.group(3)
            unit = (found.group(2) or found.group(4)).lower()
            value = float(number.replace(",", ".")) * (10.0 if unit == "cm" else 1.0)
            if 3.0 <= value <= 1000.0:
                return value
    return None


def product_photo(record: Mapping[str, Any]) -> Path:
    """The product's first photo file (a clear error when it has none or the file is gone)."""
    photos = [str(p) for p in record.get("images") or [] if p] or (
        [str(record["image"])] if record.get("image") else []
    )
    product = str(record.get("id"))
    if not photos:
        raise CatalogError(f"product {product!r} has no photo to cut the product out of")
    path = Path(photos[0])
    if not path.is_file():
        raise CatalogError(f"product {product!r}: its photo {path} is not a file here")
    return path


def _photo_width(path: Path) -> int:
    with Image.open(path) as opened:
        return int(opened.width)


def tryon(
    photo: Image.Image,
    record: Mapping[str, Any],
    kind: str | None = None,
    *,
    face: int | None = None,
    cache: Path | None = None,
    predicted: Mapping[str, Any] | None = None,
) -> tuple[Image.Image, dict[str, Any]]:
    """``photo`` (RGB, same size) with the product ``record`` worn, and the anchors used (JSON-ready).

    ``kind`` overrides the product's own (earrings, necklace, ring; a pendant is a necklace);
    ``face`` picks one of several faces (largest first); ``cache`` keeps cut-outs
    (``<store>/tryon``). Raises :class:`NotWearableError`, :class:`~shopfuse.tryon.errors.TryOnError`
    (no face, no hand, bad photo) and :class:`CatalogError` (no product photo).
    """
    product = str(record.get("id"))
    chosen = kind or kind_of(record, predicted)
    if chosen == "pendant":
        chosen = "necklace"
    if chosen not in PLACED:
        if kind and kind not in KINDS:
            raise CatalogError(f"unknown try-on kind {kind!r}: one of {', '.join(PLACED)}")
        raise NotWearableError(product, chosen)
    source = product_photo(record)
    cut = cached_cutout(source, cache)
    info: dict[str, Any] = {"kind": chosen, "product": product}
    if chosen == "ring":
        hand = hand_anchors(photo)
        return ring_on(photo, cut, hand), {**info, **hand.to_dict()}
    anchors = face_anchors(photo, face=face)
    info.update(anchors.to_dict())
    if chosen == "earrings":
        image, height_mm = earrings_on(photo, cut, anchors, stated_size_mm(record), _photo_width(source))
        info["earring_height_mm"] = round(height_mm, 1)
        return image, info
    neck = neck_line(anchors)
    px_per_mm = _px_per_mm(anchors)
    _, used = necklace_transform(cut, *neck, px_per_mm)
    info["necklace"]["drawn"] = {k: [round(v, 2) for v in p] for k, p in used.items()}
    return place_necklace(photo, cut, *neck, px_per_mm), info


def _px_per_mm(anchors: FaceAnchors) -> float:
    scale = scale_px_per_mm(anchors)
    return scale if math.isfinite(scale) and scale > 0 else anchors.face_width_px / FACE_WIDTH_MM


NECK_BELOW_EYES = 1.9
"""The least distance, in pupil distances, from the eye line down to the neck line (under the jaw)."""


def neck_line(anchors: FaceAnchors) -> tuple[Point, Point, Point]:
    """(left, right, centre) of the neck line, at least :data:`NECK_BELOW_EYES` IPDs below the eyes.

    A guard on the anchors: a neck line found on the chin or the mouth would put the necklace on the
    face; adult faces put the neck under the jaw at about 2 IPDs below the pupils (the hand-placed
    portraits: 1.9-2.2).
    """
    left_eye, right_eye = np.asarray(anchors.left_pupil), np.asarray(anchors.right_pupil)
    eyes = (left_eye + right_eye) / 2.0
    across = right_eye - left_eye
    ipd = float(np.linalg.norm(across)) or 1.0
    down = np.array([-across[1], across[0]]) / ipd
    if down[1] < 0:
        down = -down
    centre = np.asarray(anchors.neck_center, dtype=np.float64)
    shift = max(0.0, NECK_BELOW_EYES * ipd - float(down @ (centre - eyes))) * down
    return tuple(  # type: ignore[return-value]
        (float(p[0]), float(p[1]))
        for p in (
            np.asarray(anchors.neck_left) + shift,
            np.asarray(anchors.neck_right) + shift,
            centre + shift,
        )
    )


def earrings_on(
    photo: Image.Image, cut: Image.Image, anchors: FaceAnchors, size_mm: float | None, photo_width: int
) -> tuple[Image.Image, float]:
    """The earrings hung from the anchors' lobes, and the height in mm they were drawn at."""
    left, right = split_pair(cut)
    height_mm = size_mm or size_from_photo(left, photo_width, "earrings")
    px_per_mm = _px_per_mm(anchors)
    image = place_earrings(
        photo,
        (soften(left), soften(right)),
        (anchors.left_ear, anchors.right_ear),
        height_mm * px_per_mm,
        anchors.roll_deg,
        anchors.lobe_occluded,
        anchors.face_width_px,
    )
    return image, height_mm


def ring_on(photo: Image.Image, cut: Image.Image, hand: HandAnchors) -> Image.Image:
    """The largest ring of the cut-out on the hand's ring finger."""
    return place_ring(photo, soften(largest_part(cut)), hand.ring_base, hand.ring_joint, hand.finger_width_px)


def product_record(engine: Any, product_id: str) -> dict[str, Any]:
    """The stored product ``product_id`` of an :class:`~shopfuse.engine.Engine` (CatalogError if unknown)."""
    rows = engine.store.get([product_id])
    if not rows:
        raise UnknownProductError(f"no product {product_id!r} in {engine.location}")
    return dict(rows[0])


def product_kind(engine: Any, record: Mapping[str, Any], min_confidence: float = 0.5) -> str | None:
    """The product's wearable kind: from what it states, else from the engine model's recognised type."""
    kind = kind_of(record)
    if kind is not None or getattr(engine, "model", None) is None:
        return kind
    rows = engine.predict_attributes(ids=[str(record["id"])], min_confidence=min_confidence)
    predicted = {
        label: p.value for row in rows for label, p in row.predicted.items() if p.confidence >= min_confidence
    }
    return kind_of(record, predicted)


def tryon_product(
    engine: Any, product_id: str, photo: Image.Image, kind: str | None = None, face: int | None = None
) -> tuple[Image.Image, dict[str, Any]]:
    """:func:`tryon` of a stored product, its cut-out cached under ``<store>/tryon``."""
    record = product_record(engine, product_id)
    chosen = kind or product_kind(engine, record)
    location = engine.location
    cache = (
        Path(location) / "tryon"
        if isinstance(location, Path) or not str(location).startswith("milvus")
        else None
    )
    if chosen is None:
        raise NotWearableError(product_id, None)
    return tryon(photo, record, chosen, face=face, cache=cache)
