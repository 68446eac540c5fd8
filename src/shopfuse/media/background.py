"""Cheap background statistics of a photo: how plain its border is and how much the product fills.

A studio shot stands on a seamless backdrop: the ring of pixels along the border is nearly one
colour with no edges in it. A room, a street or a shop window puts furniture, walls and light
into that ring. The border's median colour also gives a cheap cut-out mask: pixels far from it
are the product (or the person wearing it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["BackgroundStats", "background_stats"]

SIDE = 128
"""Photos are measured at this size (a few hundred microseconds a photo)."""
RING = 0.06
"""Width of the border ring, as a share of the side."""
TOLERANCE = 18.0
"""How far (0-255, per channel) a pixel may lie from the border's median colour and count as backdrop."""
EDGE = 24.0
"""Luminance step between neighbours (0-255) that counts as an edge."""


@dataclass(frozen=True, slots=True)
class BackgroundStats:
    """What the border of one photo looks like; every share is within 0-1."""

    plain: float
    """Share of the border ring within :data:`TOLERANCE` of its median colour."""
    edges: float
    """Share of backdrop-coloured ring pixels next to an edge (moulding, furniture, horizon)."""
    light: float
    """The median border colour's luminance, 0 (black) to 1 (white)."""
    saturation: float
    """The median border colour's saturation, 0 (grey) to 1."""
    fill: float
    """Share of the photo that differs from the border colour (a cheap cut-out mask)."""
    sides: int
    """How many sides of the photo the product touches (more than a third of that edge)."""
    touch: float
    """The largest share of one edge that the product touches (a worn garment runs off the photo)."""
    white: float
    """Share of the border ring that is near-white or light grey (a paper backdrop showing)."""
    sky: float
    """Share of the top border that is sky blue or bright overcast grey-blue."""
    green: float
    """Share of the border that is foliage green."""

    def to_dict(self) -> dict[str, float]:
        """The statistics as plain numbers, rounded."""
        return {name: round(float(getattr(self, name)), 3) for name in self.__slots__}


def background_stats(image: Image.Image) -> BackgroundStats:
    """Border plainness, edges, colour and the product's share of ``image``."""
    pixels = np.asarray(
        image.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BILINEAR), dtype=np.float32
    )
    k = max(2, round(SIDE * RING))
    ring = np.zeros((SIDE, SIDE), dtype=bool)
    ring[:k] = ring[-k:] = True
    ring[:, :k] = ring[:, -k:] = True
    median = np.median(pixels[ring], axis=0)
    near = np.abs(pixels - median).max(axis=2) < TOLERANCE
    grey = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    step = np.zeros((SIDE, SIDE), dtype=bool)
    step[:, 1:] |= np.abs(np.diff(grey, axis=1)) > EDGE
    step[1:, :] |= np.abs(np.diff(grey, axis=0)) > EDGE
    backdrop = ring & near
    edges = float((step & backdrop).sum() / max(1, backdrop.sum()))
    foreground = ~near
    touched = [
        float(strip.mean())
        for strip in (
            foreground[:k].any(0),
            foreground[-k:].any(0),
            foreground[:, :k].any(1),
            foreground[:, -k:].any(1),
        )
    ]
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    sky = (b > r + 15) & (b > 120) & (b >= g)
    leaves = (g > r + 12) & (g > b + 12)
    pale = (pixels.min(axis=2) > 200) & (pixels.max(axis=2) - pixels.min(axis=2) < 20)
    high, low = float(median.max()), float(median.min())
    return BackgroundStats(
        plain=float(near[ring].mean()),
        edges=edges,
        light=float(median @ np.array([0.299, 0.587, 0.114])) / 255.0,
        saturation=(high - low) / high if high > 0 else 0.0,
        fill=float(foreground.mean()),
        sides=sum(share > 1 / 3 for share in touched),
        touch=max(touched),
        white=float(pale[ring].mean()),
        sky=float(sky[:k].mean()),
        green=float(leaves[ring].mean()),
    )
