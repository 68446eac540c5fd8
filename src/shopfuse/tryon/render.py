"""Placing a cut-out product on a photo: earrings on the lobes, a necklace on the neck, a ring on a finger.

Every placement is an affine map from the cut-out's pixels to the photo's, drawn with PIL's inverse
affine transform and alpha-composited with a soft shadow:

- earrings: the top of each earring (its hook or stud) at the lobe point, turned with the head's roll,
  its height the product's size in mm times the photo's pixels per mm (the catalogue's stated size,
  else :func:`size_from_photo`). Where a lobe is occluded, photo pixels that look like the occluder
  (the colour found at the lobe: hair, the cheek) hide the earring: it is drawn behind them;
- necklace: an affine map from three points, the cut-out's top corners to the sides of the neck's
  base (the chain runs behind the neck there) and its bottom middle below the neck's base, along the
  neck's own down direction. A flat-lay necklace photo is already the U a
  chain takes on the chest, so the affine map (scale, roll, shear to the neck's slant) is the warp;
- ring: the ring's cut-out squashed to a band seen edge-on, centred on the ring point (between the
  base and the middle joint), across the finger, as wide as the finger (+15 %); the half of the band
  behind the finger is hidden inside the finger's outline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

__all__ = [
    "FACE_WIDTH_MM",
    "Affine",
    "Point",
    "composite",
    "earring_top",
    "earrings_transform",
    "necklace_transform",
    "place_earrings",
    "place_necklace",
    "place_ring",
    "ring_transform",
    "size_from_photo",
]

FACE_WIDTH_MM = 135.0
"""An adult face's width (cheek to cheek at the ears) in mm: the scale when nothing better is known."""
PHOTO_WIDTH_MM = {"earrings": 100.0, "ring": 100.0}
"""Assumed width in mm that a jewellery packshot spans (H&M frames earrings and rings about so)."""
SIZE_RANGE_MM = {"earrings": (8.0, 90.0), "ring": (14.0, 40.0)}
NECK_BASE_MM = 20.0
"""How far below the neck line (just under the jaw) the necklace's top ends lie (the neck's base)."""
NECK_SPAN_MM = 115.0
"""How far apart the necklace's top ends lie: the neck's base, where the chain turns behind it."""
NECK_DROP = 0.45
"""The front drop on the body over the flat-lay's height, both over width (the chain's back is hidden)."""
RING_SQUASH = 0.42
"""A ring's band seen edge-on: its height as a share of its width."""

Point = Sequence[float]


@dataclass(frozen=True, slots=True)
class Affine:
    """``photo = matrix @ (x, y, 1)`` for a cut-out pixel ``(x, y)``."""

    matrix: np.ndarray

    @classmethod
    def from_points(cls, source: Sequence[Point], target: Sequence[Point]) -> Affine:
        """The affine map taking three source points onto three target points."""
        src = np.array([[x, y, 1.0] for x, y in source], dtype=np.float64)
        dst = np.array(target, dtype=np.float64)
        return cls(np.linalg.solve(src, dst).T)

    @classmethod
    def similarity(cls, scale: float, degrees: float, anchor: Point, at: Point) -> Affine:
        """Scale and turn about ``anchor`` (cut-out pixels), then move it onto ``at`` (photo pixels)."""
        t = math.radians(degrees)
        r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]) * scale
        offset = np.asarray(at, dtype=np.float64) - r @ np.asarray(anchor, dtype=np.float64)
        return cls(np.hstack([r, offset[:, None]]))

    def __call__(self, point: Point) -> np.ndarray:
        """The photo position of a cut-out point."""
        return self.matrix @ np.array([point[0], point[1], 1.0])

    def inverse(self) -> tuple[float, ...]:
        """PIL's AFFINE data: the cut-out position of each photo pixel."""
        full = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        inv = np.linalg.inv(full)
        return tuple(float(v) for v in inv[:2].ravel())

    @property
    def scale(self) -> float:
        """The map's mean scale (square root of its area change)."""
        return math.sqrt(abs(float(np.linalg.det(self.matrix[:, :2]))))


def warp(sprite: Image.Image, transform: Affine, size: tuple[int, int]) -> Image.Image:
    """``sprite`` (RGBA) drawn into an empty RGBA image of ``size`` through ``transform``.

    A sprite shrunk by more than half is first resized near its final size, so the bilinear
    sampling of the transform does not alias thin wires into dots.
    """
    shrink = transform.scale
    if shrink < 0.5:
        factor = max(shrink * 1.5, 1.0 / max(sprite.size))
        small = sprite.resize(
            (max(1, round(sprite.width * factor)), max(1, round(sprite.height * factor))),
            Image.Resampling.LANCZOS,
        )
        back = np.diag([sprite.width / small.width, sprite.height / small.height, 1.0])
        transform = Affine((np.vstack([transform.matrix, [0, 0, 1]]) @ back)[:2])
        sprite = small
    return sprite.transform(size, Image.Transform.AFFINE, transform.inverse(), Image.Resampling.BILINEAR)


def composite(
    photo: Image.Image, layer: Image.Image, hide: np.ndarray | None = None, shadow: float = 0.35
) -> Image.Image:
    """``layer`` (RGBA, photo-sized) over ``photo`` with a soft drop shadow; ``hide`` (0-1) masks it out.

    Only the layer's bounding box (grown by the shadow's reach) is blended.
    """
    rgb = photo.convert("RGB")
    box = layer.getchannel("A").getbbox()
    if box is None:
        return rgb
    extent = max(1.0, min(photo.size) / 400.0)
    reach = round(8 * extent)
    x0, y0 = max(0, box[0] - reach), max(0, box[1] - reach)
    x1, y1 = min(rgb.width, box[2] + reach), min(rgb.height, box[3] + reach)
    region = (x0, y0, x1, y1)
    base = np.asarray(rgb.crop(region), dtype=np.float64)
    part = layer.crop(region)
    alpha = np.asarray(part.getchannel("A"), dtype=np.float64) / 255.0
    cover = None if hide is None else hide[y0:y1, x0:x1]
    if cover is not None:
        alpha = alpha * (1.0 - cover)
    if shadow > 0 and alpha.any():
        blurred = Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2 * extent))
        down = round(extent * 1.5)
        right = down // 2
        soft = np.zeros_like(alpha)  # the shadow, moved down and right (nothing wraps round)
        soft[down:, right:] = (np.asarray(blurred, dtype=np.float64) / 255.0)[
            : alpha.shape[0] - down, : alpha.shape[1] - right
        ]
        if cover is not None:
            soft = soft * (1.0 - cover)
        base = base * (1.0 - shadow * soft[..., None])
    colour = np.asarray(part.convert("RGB"), dtype=np.float64)
    out = base * (1.0 - alpha[..., None]) + colour * alpha[..., None]
    result = rgb.copy()
    result.paste(Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB"), (x0, y0))
    return result


def earring_top(sprite: Image.Image) -> tuple[float, float]:
    """Where an earring hangs from: the middle of its opaque pixels in its top rows (the hook or stud)."""
    alpha = np.asarray(sprite.getchannel("A"), dtype=np.float32)
    rows = np.flatnonzero(alpha.max(axis=1) > 64)
    top = int(rows[0]) if rows.size else 0
    band = alpha[top : top + max(2, sprite.height // 30)]
    xs = np.flatnonzero(band.max(axis=0) > 64)
    return (float(xs.mean()) if xs.size else sprite.width / 2.0, float(top))


def size_from_photo(sprite: Image.Image, photo_width: int, kind: str) -> float:
    """The product's size in mm (an earring's height, a ring's width) estimated from its packshot.

    Assumes the catalogue photo spans :data:`PHOTO_WIDTH_MM` (a studio frames small jewellery at a
    fixed scale); the estimate is clamped to :data:`SIZE_RANGE_MM`.
    """
    extent = sprite.height if kind == "earrings" else sprite.width
    low, high = SIZE_RANGE_MM[kind]
    return float(np.clip(extent / max(1, photo_width) * PHOTO_WIDTH_MM[kind], low, high))


def earrings_transform(sprite: Image.Image, lobe: Point, height_px: float, roll_deg: float) -> Affine:
    """The map that hangs ``sprite`` from ``lobe``, ``height_px`` tall, turned by the head's roll."""
    scale = height_px / max(1, sprite.height)
    return Affine.similarity(scale, roll_deg, earring_top(sprite), lobe)


def _occluder(photo: np.ndarray, lobe: Point, radius: float, layer_alpha: np.ndarray) -> np.ndarray:
    """0-1: photo pixels under the earring that look like what covers the lobe (hair, cheek)."""
    h, w = photo.shape[:2]
    x, y = round(lobe[0]), round(lobe[1])
    r = max(2, round(radius))
    patch = photo[max(0, y - r) : min(h, y + r + 1), max(0, x - r) : min(w, x + r + 1)].reshape(-1, 3)
    if patch.size == 0:
        return np.zeros((h, w), dtype=np.float32)
    colour = np.median(patch, axis=0)
    distance = np.abs(photo - colour).max(axis=2)
    like = np.clip((45.0 - distance) / 20.0, 0.0, 1.0)
    return like * (layer_alpha > 0)


def place_earrings(
    photo: Image.Image,
    pair: tuple[Image.Image, Image.Image],
    lobes: tuple[Point, Point],
    height_px: float,
    roll_deg: float = 0.0,
    occluded: tuple[bool, bool] = (False, False),
    face_width_px: float | None = None,
) -> Image.Image:
    """``photo`` with the (left, right) earrings hung from the (left, right) lobes as seen in the image."""
    rgb = photo.convert("RGB")
    pixels = np.asarray(rgb, dtype=np.float32)
    out = rgb
    for sprite, lobe, hidden in zip(pair, lobes, occluded, strict=True):
        layer = warp(sprite, earrings_transform(sprite, lobe, height_px, roll_deg), rgb.size)
        hide = None
        if hidden:
            alpha = np.asarray(layer.getchannel("A"), dtype=np.float32)
            hide = _occluder(pixels, lobe, 0.03 * (face_width_px or height_px * 4), alpha)
        out = composite(out, layer, hide)
    return out


def necklace_transform(
    sprite: Image.Image, neck_left: Point, neck_right: Point, neck_center: Point, px_per_mm: float
) -> tuple[Affine, dict[str, list[float]]]:
    """The three-point map of a necklace onto the neck, and the photo points it used (left, right, bottom).

    The neck line (``neck_left``..``neck_right`` under the jaw, ``neck_center`` on it) gives the
    position and the slant; the necklace's top ends lie :data:`NECK_BASE_MM` below it (the neck's
    base), :data:`NECK_SPAN_MM` apart (the neck's base is wider than the neck under the jaw), and its
    bottom middle hangs below as far as the flat-lay's proportions say (x :data:`NECK_DROP`: a longer
    chain hangs lower).
    """
    left, right, centre = (np.asarray(p, dtype=np.float64) for p in (neck_left, neck_right, neck_center))
    across = right - left
    unit = across / (float(np.linalg.norm(across)) or 1.0)
    down = np.array([-unit[1], unit[0]])
    if down[1] < 0:  # image y grows downwards
        down = -down
    middle = centre + down * NECK_BASE_MM * px_per_mm
    span = NECK_SPAN_MM * px_per_mm
    top_left = middle - unit * span / 2.0
    top_right = middle + unit * span / 2.0
    hang = span * sprite.height / max(1, sprite.width) * NECK_DROP
    bottom = middle + down * hang
    transform = Affine.from_points(
        [(0.0, 0.0), (float(sprite.width), 0.0), (sprite.width / 2.0, float(sprite.height))],
        [tuple(top_left), tuple(top_right), tuple(bottom)],
    )
    used = {"left": top_left.tolist(), "right": top_right.tolist(), "bottom": bottom.tolist()}
    return transform, used


def place_necklace(
    photo: Image.Image,
    sprite: Image.Image,
    neck_left: Point,
    neck_right: Point,
    neck_center: Point,
    px_per_mm: float,
) -> Image.Image:
    """``photo`` with the necklace lying around the neck, under the chin."""
    rgb = photo.convert("RGB")
    transform, _ = necklace_transform(sprite, neck_left, neck_right, neck_center, px_per_mm)
    return composite(rgb, warp(sprite, transform, rgb.size))


def ring_transform(sprite: Image.Image, base: Point, joint: Point, finger_width_px: float) -> Affine:
    """The map that puts a squashed ring across the finger, centred on ``base`` (the ring's point).

    ``joint`` (the finger's next joint) gives the direction. The cut-out's width spans the finger
    (x 1.15) across that direction; its height, squashed to :data:`RING_SQUASH` of that, runs along it.
    """
    b, j = np.asarray(base, dtype=np.float64), np.asarray(joint, dtype=np.float64)
    along = j - b
    length = float(np.linalg.norm(along)) or 1.0
    unit = along / length
    normal = np.array([-unit[1], unit[0]])
    width = finger_width_px * 1.15
    height = width * RING_SQUASH
    centre = b
    # sprite x -> across the finger, sprite y -> along the finger towards the base (the band's front)
    w, h = float(sprite.width), float(sprite.height)
    target = [centre - normal * width / 2, centre + normal * width / 2, centre - unit * height / 2]
    return Affine.from_points([(0.0, h / 2), (w, h / 2), (w / 2, h)], [tuple(p) for p in target])


def place_ring(
    photo: Image.Image, sprite: Image.Image, base: Point, joint: Point, finger_width_px: float
) -> Image.Image:
    """``photo`` with the ring on the finger; the band's far half is hidden inside the finger."""
    rgb = photo.convert("RGB")
    transform = ring_transform(sprite, base, joint, finger_width_px)
    layer = warp(sprite, transform, rgb.size)
    h, w = rgb.height, rgb.width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    inverse = np.array(transform.inverse()).reshape(2, 3)
    v = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]  # sprite row of each photo pixel
    b, j = np.asarray(base, dtype=np.float32), np.asarray(joint, dtype=np.float32)
    unit = (j - b) / (float(np.linalg.norm(j - b)) or 1.0)
    across = np.abs((xs - b[0]) * unit[1] - (ys - b[1]) * unit[0])
    inside = np.clip((finger_width_px / 2.0 - across) / 2.0, 0.0, 1.0)
    hide = inside * (v < sprite.height / 2.0)
    return composite(rgb, layer, hide, shadow=0.25)


def flag(value: Any, side: int) -> bool:
    """A per-side flag read from a bool, a (left, right) pair or a ``{"left": .., "right": ..}`` mapping."""
    if isinstance(value, Mapping):
        return bool(value.get(("left", "right")[side], False))
    if isinstance(value, list | tuple):
        return bool(value[side]) if len(value) > side else False
    return bool(value)
