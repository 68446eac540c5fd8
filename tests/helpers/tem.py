"""Hand-placed portrait landmarks (WebMorph/Psychomorph ``.tem``) as try-on anchors.

The 189-point template: 0/1 the pupils (image left/right), 119/124 the earlobes, 117/122 the face's
edge at the ears, 183/184 the neck under the jaw, 129 the chin's lowest point.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from shopfuse.tryon.anchors import FaceAnchors

LOBES = (119, 124)
PUPILS = (0, 1)
NECK = (183, 184)
CHIN = 129
FACE_EDGE = (117, 122)


def read_tem(path: Path) -> np.ndarray:
    """The first 189 points of a ``.tem`` file, ``(189, 2)`` photo pixels."""
    lines = path.read_text(encoding="utf-8").split("\n")
    count = int(lines[0])
    return np.array([[float(v) for v in line.split()[:2]] for line in lines[1 : count + 1]][:189])


def tem_anchors(path: Path) -> FaceAnchors:
    """Face anchors made from the hand-placed points of one portrait."""
    p = read_tem(path)

    def pt(i: int) -> tuple[float, float]:
        return (float(p[i, 0]), float(p[i, 1]))

    left, right = p[PUPILS[0]], p[PUPILS[1]]
    neck = (p[NECK[0]] + p[NECK[1]]) / 2
    xs, ys = p[:, 0], p[:, 1]
    return FaceAnchors(
        left_ear=pt(LOBES[0]),
        right_ear=pt(LOBES[1]),
        neck_center=(float(neck[0]), float(neck[1])),
        neck_left=pt(NECK[0]),
        neck_right=pt(NECK[1]),
        left_pupil=pt(PUPILS[0]),
        right_pupil=pt(PUPILS[1]),
        face_width_px=float(np.linalg.norm(p[FACE_EDGE[0]] - p[FACE_EDGE[1]])),
        roll_deg=math.degrees(math.atan2(right[1] - left[1], right[0] - left[0])),
        yaw=0.0,
        box=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
    )
