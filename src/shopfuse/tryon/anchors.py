"""Where jewellery goes on a shopper's photo: earlobes, the necklace line, the ring finger.

MediaPipe's face mesh (478 points) has no earlobe and stops at the jaw, so the earlobes and the
neck sides are predicted from mesh points near them, expressed in face-relative coordinates: origin
at the midpoint of the pupils (iris centres 468/473), ``u`` along the eye line towards the pupil on
the image's right, ``v`` perpendicular to it pointing down the face, unit = interpupillary distance
(IPD). A small linear model per anchor (:data:`_MODELS`) maps those points to the anchor; it was
fitted by ``benchmarks/tryon_anchors.py --fit`` on half of the 68 London portraits against their
hand-placed landmarks and is measured on the other half (see that script). Both sides share one
model: the right side is mirrored (``u -> -u``, mirrored mesh indices) onto the left one.

"Left" and "right" are as seen in the image throughout, never the person's own left and right.
Photos are checked before any model runs: too small or too large (read from the header only).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from shopfuse.errors import MediaError
from shopfuse.media.landmarks import Landmarker
from shopfuse.tryon.errors import TryOnError

__all__ = [
    "MAX_PIXELS",
    "MAX_SIDE",
    "MEAN_IPD_MM",
    "MIN_CONFIDENCE",
    "MIN_SIDE",
    "PROFILE_YAW",
    "FaceAnchors",
    "HandAnchors",
    "check_photo",
    "face_anchors",
    "face_frame",
    "hand_anchors",
    "open_photo",
    "scale_px_per_mm",
    "yaw_of",
]

Point = tuple[float, float]
Box = tuple[float, float, float, float]

MIN_SIDE = 256
"""Shortest side a try-on photo may have, in pixels: below it an earlobe is a few pixels wide."""
MAX_PIXELS = 40_000_000
"""Most pixels a try-on photo may have (40 MP), checked from the header before decoding."""
MAX_SIDE = 12_000
"""Longest side a try-on photo may have, in pixels."""
LANDMARK_SIDE = 1350
"""Long side photos are scaled to for the landmarkers (the portraits' own size; scene tagging uses 512)."""
MEAN_IPD_MM = 63.0
"""Mean adult interpupillary distance in mm (Dodgson 2004, "Variation and extrema of human
interpupillary distance", Proc. SPIE 5291: mean 63.36 mm, s.d. 3.8 mm over 3976 adults)."""
MIN_CONFIDENCE = 0.5
"""Face and hand detection confidence for try-on: scene tagging's 0.3 finds faces in packshots
(hair clips, a bra on the shared H&M photos); 0.5 finds none there and all 67 portraits."""
PROFILE_YAW = 0.55
"""Above this ``|yaw|`` (a head turned about 27 degrees or more) the far earlobe goes behind the cheek:
the photo is refused as a profile view. The 67 frontal portraits stay within 0.2; 3/4 views of the
shared fashion photos measure 0.7-1."""
OCCLUDED_YAW = 0.3
"""Above this ``|yaw|`` the far earlobe is taken as hidden by the face edge."""

# Mesh indices: left side of the image (the person's right) and their mirror on the right side.
_LEFT_IRIS, _RIGHT_IRIS = 468, 473
_NOSE_TIP = 1
_CHEEK_LEFT, _CHEEK_RIGHT = 234, 454
_MIRROR = {
    234: 454,
    93: 323,
    132: 361,
    58: 288,
    172: 397,
    136: 365,
    150: 379,
    149: 378,
    176: 400,
    148: 377,
    127: 356,
    162: 389,
    152: 152,
}


@dataclass(frozen=True)
class _Model:
    """``anchor = intercept + coef @ features``: features are the (u, v) of ``points`` then yaw."""

    points: tuple[int, ...]
    coef: tuple[tuple[float, ...], tuple[float, ...]]
    intercept: tuple[float, float]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Face coordinates of the anchor for the left side (features already mirrored for the right)."""
        return np.asarray(self.intercept) + np.asarray(self.coef) @ features


# Fitted by `python benchmarks/tryon_anchors.py --fit`: ridge regression (lambda 0.01, both sides
# pooled, points and lambda picked by leave-one-face-out) on the fit half of the London portraits,
# against the hand-placed earlobe piercing points and neck sides (.tem 183/184). Do not edit by hand.
_MODELS: dict[str, _Model] = {
    "lobe": _Model(
        points=(234, 93, 132, 58, 172, 127, 162),
        coef=(
            (
                -0.041098,
                -0.082225,
                0.092968,
                -0.117779,
                0.311764,
                -0.107417,
                0.315534,
                -0.000192,
                0.163576,
                0.201980,
                0.039975,
                -0.024861,
                0.227826,
                0.000349,
                -0.128444,
            ),
            (
                -0.688901,
                0.049917,
                -0.357060,
                -0.037131,
                0.376165,
                0.038165,
                0.376070,
                0.279858,
                -0.121351,
                0.643575,
                -0.224314,
                0.203651,
                0.869215,
                0.162561,
                -0.105914,
            ),
        ),
        intercept=(-0.058560, -0.205540),
    ),
    "neck": _Model(
        points=(136, 150, 149, 152),
        coef=(
            (0.339798, -0.028523, 0.230997, 0.089597, 0.220682, 0.057665, 0.636976, -0.023726, -0.500650),
            (-0.160316, 0.542654, -0.216294, 0.582272, -0.105901, 0.423256, 0.314101, -0.243180, -0.249799),
        ),
        intercept=(-0.003300, -0.070845),
    ),
}


@dataclass(frozen=True)
class FaceAnchors:
    """Where earrings and a necklace go on one face, in pixels of the photo ("left" = image left).

    ``left_ear``/``right_ear`` are the earlobe piercing points; ``neck_left``/``neck_right`` the
    sides of the neck a little below the jaw and ``neck_center`` their midpoint: the line a
    necklace hangs from (the compositor drops the pendant below it). ``yaw`` is -1..1, 0 frontal,
    positive when the nose points to the image's right (about 1.1 x the tangent of the head's
    turn: the nose tip's place between the cheek edges, mesh 1 between 234 and 454); ``roll_deg``
    the eye line's angle (image y down, positive clockwise). ``box`` bounds the face mesh.
    """

    left_ear: Point
    right_ear: Point
    neck_center: Point
    neck_left: Point
    neck_right: Point
    left_pupil: Point
    right_pupil: Point
    face_width_px: float
    roll_deg: float
    yaw: float
    box: Box
    lobe_occluded: tuple[bool, bool] = (False, False)

    @property
    def ipd_px(self) -> float:
        """Distance between the pupils, in pixels."""
        return math.dist(self.left_pupil, self.right_pupil)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready anchors: ``earrings``, ``necklace``, ``pupils``, ``scale_px_per_mm`` and the pose."""
        return {
            "earrings": {"left": _xy(self.left_ear), "right": _xy(self.right_ear)},
            "necklace": {
                "center": _xy(self.neck_center),
                "left": _xy(self.neck_left),
                "right": _xy(self.neck_right),
            },
            "pupils": {"left": _xy(self.left_pupil), "right": _xy(self.right_pupil)},
            "scale_px_per_mm": round(scale_px_per_mm(self), 4),
            "face_width_px": round(self.face_width_px, 2),
            "roll_deg": round(self.roll_deg, 2),
            "yaw": round(self.yaw, 3),
            "box": [round(v, 2) for v in self.box],
            "lobe_occluded": {"left": self.lobe_occluded[0], "right": self.lobe_occluded[1]},
        }


@dataclass(frozen=True)
class HandAnchors:
    """Where a ring goes: on the ring finger between its base (knuckle) and first joint.

    ``ring_base`` is the ring's centre on the finger, ``ring_joint`` the first (PIP) joint,
    ``angle_deg`` the finger's direction (base -> joint, image y down), ``finger_width_px`` an
    estimate of the finger's width from the knuckle spacing and the palm's length. ``handedness``
    is MediaPipe's label, ``"left"``/``"right"`` (``""`` when unknown): a hint only. MediaPipe Tasks
    labels an unmirrored photo's hands as they are (the legacy solution assumed mirrored selfies;
    google-ai-edge/mediapipe-samples#450); on four shared fashion photos of people facing the camera
    it named the person's own hand three times out of four.
    """

    ring_base: Point
    ring_joint: Point
    finger_width_px: float
    angle_deg: float
    handedness: str
    points: tuple[Point, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready anchors under ``ring``."""
        return {
            "ring": {
                "base": _xy(self.ring_base),
                "joint": _xy(self.ring_joint),
                "finger_width_px": round(self.finger_width_px, 2),
                "angle_deg": round(self.angle_deg, 2),
                "handedness": self.handedness,
            }
        }


def _xy(point: Point) -> list[float]:
    return [round(float(point[0]), 2), round(float(point[1]), 2)]


def check_photo(size: tuple[int, int], name: str = "photo") -> None:
    """Refuse a photo by its size alone (read it from the header: no pixel is decoded)."""
    width, height = size
    if min(width, height) < MIN_SIDE:
        raise TryOnError(
            "photo_too_small",
            f"{name} is {width}x{height} pixels: try-on needs at least {MIN_SIDE} pixels on the short side",
        )
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise TryOnError(
            "photo_too_large",
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} MP): try-on takes at most "
            f"{MAX_PIXELS // 1_000_000} MP and {MAX_SIDE} pixels a side; scale it down first",
        )


def open_photo(source: str | Path | IO[bytes], name: str | None = None) -> Image.Image:
    """Open a photo lazily (header only) and refuse it by size before anything decodes it.

    Raises :class:`TryOnError` (too small or too large) or :class:`MediaError` (not an image).
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "photo")
    try:
        image = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise TryOnError(
            "photo_too_large", f"{label}: {exc}; try-on takes at most {MAX_PIXELS // 1_000_000} MP"
        ) from exc
    except (OSError, SyntaxError) as exc:  # UnidentifiedImageError is an OSError
        raise MediaError(label, f"not a readable image ({exc})") from exc
    check_photo(image.size, label)
    return image


@functools.cache
def _default_landmarker(kind: str) -> Landmarker:
    if kind == "face":
        return Landmarker(max_faces=4, hands="never", min_confidence=MIN_CONFIDENCE, max_side=LANDMARK_SIDE)
    return Landmarker(
        max_faces=1, max_hands=4, hands="always", min_confidence=MIN_CONFIDENCE, max_side=LANDMARK_SIDE
    )


def face_frame(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Origin (pupils' midpoint), 2x2 rotation rows (u, v axes) and IPD in pixels of a 478-point mesh."""
    left, right = mesh[_LEFT_IRIS].astype(np.float64), mesh[_RIGHT_IRIS].astype(np.float64)
    ipd = float(np.linalg.norm(right - left))
    if ipd <= 0:
        raise TryOnError("no_face", "the face found has its two pupils at one point")
    ex = (right - left) / ipd
    axes = np.array([ex, [-ex[1], ex[0]]])
    return (left + right) / 2, axes, ipd


def yaw_of(face_uv: np.ndarray) -> float:
    """Head turn from face coordinates: where the nose tip sits between the cheek edges (-1..1)."""
    a = face_uv[_NOSE_TIP, 0] - face_uv[_CHEEK_LEFT, 0]
    b = face_uv[_CHEEK_RIGHT, 0] - face_uv[_NOSE_TIP, 0]
    total = a + b
    if total <= 1e-6:
        return 1.0
    return float(np.clip((a - b) / total, -1.0, 1.0))


def _features(face_uv: np.ndarray, points: tuple[int, ...], yaw: float, mirrored: bool) -> np.ndarray:
    """(u, v) of ``points`` (mirrored onto the left side when ``mirrored``), then yaw."""
    if mirrored:
        uv = face_uv[[_MIRROR[p] for p in points]] * np.array([-1.0, 1.0])
        return np.concatenate([uv.ravel(), [-yaw]])
    return np.concatenate([face_uv[list(points)].ravel(), [yaw]])


def predict_sides(face_uv: np.ndarray, model: _Model, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """Face coordinates of an anchor on the image's left and right sides."""
    left = model.predict(_features(face_uv, model.points, yaw, False))
    right = model.predict(_features(face_uv, model.points, yaw, True)) * np.array([-1.0, 1.0])
    return left, right


def _to_px(origin: np.ndarray, axes: np.ndarray, ipd: float, uv: np.ndarray) -> Point:
    xy = origin + ipd * (uv @ axes)
    return (float(xy[0]), float(xy[1]))


def _box(mesh: np.ndarray) -> Box:
    lo, hi = mesh.min(axis=0), mesh.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def anchors_from_mesh(mesh: np.ndarray) -> FaceAnchors:
    """Face anchors from one 478-point MediaPipe mesh in pixels (refuses a profile view)."""
    origin, axes, ipd = face_frame(mesh)
    face_uv = ((mesh.astype(np.float64) - origin) @ axes.T) / ipd
    yaw = yaw_of(face_uv)
    if abs(yaw) > PROFILE_YAW:
        side = "right" if yaw > 0 else "left"
        raise TryOnError(
            "profile_view",
            f"the face is turned to the side (yaw {yaw:+.2f}, the limit is {PROFILE_YAW}): the ear on the "
            f"image's {'left' if side == 'right' else 'right'} is hidden; use a photo facing the camera",
        )
    lobe_l, lobe_r = predict_sides(face_uv, _MODELS["lobe"], yaw)
    neck_l, neck_r = predict_sides(face_uv, _MODELS["neck"], yaw)
    neck_c = (neck_l + neck_r) / 2
    roll = math.degrees(math.atan2(axes[0, 1], axes[0, 0]))
    width = float(np.linalg.norm(mesh[_CHEEK_RIGHT] - mesh[_CHEEK_LEFT]))
    return FaceAnchors(
        left_ear=_to_px(origin, axes, ipd, lobe_l),
        right_ear=_to_px(origin, axes, ipd, lobe_r),
        neck_center=_to_px(origin, axes, ipd, neck_c),
        neck_left=_to_px(origin, axes, ipd, neck_l),
        neck_right=_to_px(origin, axes, ipd, neck_r),
        left_pupil=(float(mesh[_LEFT_IRIS, 0]), float(mesh[_LEFT_IRIS, 1])),
        right_pupil=(float(mesh[_RIGHT_IRIS, 0]), float(mesh[_RIGHT_IRIS, 1])),
        face_width_px=width,
        roll_deg=roll,
        yaw=yaw,
        box=_box(mesh),
        # The nose turned to the image's right hides the lobe on the image's left, and back.
        lobe_occluded=(yaw > OCCLUDED_YAW, yaw < -OCCLUDED_YAW),
    )


def face_anchors(
    image: Image.Image, *, face: int | None = None, landmarker: Landmarker | None = None
) -> FaceAnchors:
    """Earring and necklace anchors of the one face in ``image`` (or face ``face``, largest first).

    Raises :class:`TryOnError`: ``photo_too_small``/``photo_too_large`` (before decoding),
    ``no_face``, ``several_faces`` (with ``faces``: their boxes, largest first) unless ``face``
    picks one, ``profile_view``.
    """
    check_photo(image.size)
    finder = landmarker or _default_landmarker("face")
    meshes = sorted(finder.find(image, hands=False).faces, key=lambda m: -_area(_box(m)))
    if not meshes:
        raise TryOnError("no_face", "no face found in the photo: try-on needs a face facing the camera")
    boxes = tuple(tuple(round(v, 1) for v in _box(m)) for m in meshes)
    if face is None and len(meshes) > 1:
        listed = "; ".join(f"{i}: {b}" for i, b in enumerate(boxes))
        raise TryOnError(
            "several_faces",
            f"{len(meshes)} faces found (boxes x0, y0, x1, y1, largest first: {listed}); "
            "pick one with face=i",
            faces=boxes,  # type: ignore[arg-type]
        )
    index = face or 0
    if not 0 <= index < len(meshes):
        raise TryOnError("no_face", f"face={face} asked, but the photo has {len(meshes)} face(s)")
    return anchors_from_mesh(meshes[index])


def scale_px_per_mm(anchors: FaceAnchors) -> float:
    """Photo pixels per real millimetre at the face, from the mean adult IPD (:data:`MEAN_IPD_MM`).

    The pupils' distance shrinks with the cosine of the head's turn; yaw is about its tangent, so
    the distance is multiplied by ``sqrt(1 + yaw^2)`` to keep a turned head's scale.
    """
    return anchors.ipd_px * math.sqrt(1.0 + anchors.yaw**2) / MEAN_IPD_MM


# MediaPipe hand points: 0 wrist, 9 middle-finger base, 13 ring-finger base (MCP), 14 its first joint (PIP),
# 17 little-finger base.
_WRIST, _MIDDLE_MCP, _RING_MCP, _RING_PIP, _PINKY_MCP = 0, 9, 13, 14, 17
RING_POSITION = 0.4
"""Where a ring sits between the knuckle (0) and the first joint (1)."""
FINGER_WIDTH = 0.85
"""A finger's width over the spacing of neighbouring knuckles (rough hand proportions)."""
FINGER_PER_PALM = 0.18
"""A ring finger's width over the palm's length, wrist to middle-finger knuckle (about 18 / 100 mm):
the knuckles overlap in a side view, so the larger of the two estimates is taken."""


def hand_anchors(
    image: Image.Image, *, hand: int | None = None, landmarker: Landmarker | None = None
) -> HandAnchors:
    """Ring anchors on the largest hand in ``image`` (or hand ``hand``, largest first).

    Raises :class:`TryOnError` ``photo_too_small``/``photo_too_large`` or ``no_hand``.
    """
    check_photo(image.size)
    finder = landmarker or _default_landmarker("hand")
    found = finder.find(image, hands=True)
    labels = list(found.handedness) + [""] * (len(found.hands) - len(found.handedness))
    order = sorted(range(len(found.hands)), key=lambda i: -_area(_box(found.hands[i])))
    if not order:
        raise TryOnError("no_hand", "no hand found in the photo: ring try-on needs a hand, fingers visible")
    index = hand or 0
    if not 0 <= index < len(order):
        raise TryOnError("no_hand", f"hand={hand} asked, but the photo has {len(order)} hand(s)")
    points = found.hands[order[index]].astype(np.float64)
    label = labels[order[index]].lower()
    base, joint = points[_RING_MCP], points[_RING_PIP]
    ring = base + RING_POSITION * (joint - base)
    spacing = (
        np.linalg.norm(points[_RING_MCP] - points[_MIDDLE_MCP])
        + np.linalg.norm(points[_RING_MCP] - points[_PINKY_MCP])
    ) / 2
    palm = float(np.linalg.norm(points[_MIDDLE_MCP] - points[_WRIST]))
    direction = joint - base
    return HandAnchors(
        ring_base=(float(ring[0]), float(ring[1])),
        ring_joint=(float(joint[0]), float(joint[1])),
        finger_width_px=max(float(FINGER_WIDTH * spacing), FINGER_PER_PALM * palm),
        angle_deg=math.degrees(math.atan2(direction[1], direction[0])),
        handedness=label if label in ("left", "right") else "",
        points=tuple((float(x), float(y)) for x, y in points),
    )
