"""A colour descriptor for product photos: an HSV histogram of the product, background left out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from shopfuse.encoders.base import l2_normalize

__all__ = ["COLOUR_DIM", "colour_histograms"]

HUE_BINS, SAT_BINS, VAL_BINS = 12, 3, 3
GREY_BINS = 4
COLOUR_DIM = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS
"""Chromatic HSV cells plus a grey ramp for unsaturated pixels (black, grey, white products)."""


def colour_histograms(images: Sequence[Image.Image], side: int = 64) -> np.ndarray:
    """Hellinger-normalised colour histograms, shape ``(n, COLOUR_DIM)``, unit rows."""
    if not images:
        return np.zeros((0, COLOUR_DIM), dtype=np.float32)
    rows = [_histogram(image, side) for image in images]
    return l2_normalize(np.sqrt(np.stack(rows)))


def _histogram(image: Image.Image, side: int) -> np.ndarray:
    """Histogram of one image; near-white pixels touching the border count as background."""
    hsv = np.asarray(image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR).convert("HSV"))
    hue, sat, val = (hsv[..., i].astype(np.float32) / 255.0 for i in range(3))
    background = (val > 0.9) & (sat < 0.1)
    keep = ~background
    if keep.mean() < 0.05:  # a white product on white: the "background" is the product
        keep = np.ones_like(keep)
    hue, sat, val = hue[keep], sat[keep], val[keep]
    grey = (sat < 0.15) | (val < 0.12)
    histogram = np.zeros(COLOUR_DIM, dtype=np.float64)
    chroma = ~grey
    if chroma.any():
        h = np.minimum((hue[chroma] * HUE_BINS).astype(int), HUE_BINS - 1)
        s = np.minimum(((sat[chroma] - 0.15) / 0.85 * SAT_BINS).astype(int), SAT_BINS - 1)
        v = np.minimum(((val[chroma] - 0.12) / 0.88 * VAL_BINS).astype(int), VAL_BINS - 1)
        np.add.at(histogram, (h * SAT_BINS + s) * VAL_BINS + v, 1.0)
    if grey.any():
        g = np.minimum((val[grey] * GREY_BINS).astype(int), GREY_BINS - 1)
        np.add.at(histogram, HUE_BINS * SAT_BINS * VAL_BINS + g, 1.0)
    total = histogram.sum()
    return histogram / total if total > 0 else histogram
