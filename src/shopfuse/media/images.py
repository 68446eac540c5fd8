"""Decoding product photos into RGB, refusing corrupt, truncated and oversized files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from shopfuse.errors import MediaError

__all__ = ["DEFAULT_MAX_PIXELS", "load_image", "square_pad"]

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image (width x height); bigger files are refused as decompression bombs."""

# A truncated file is an error to report, never a half-grey picture to encode.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` as an RGB image, or raise :class:`MediaError` saying why not.

    Palette, CMYK, 16-bit, greyscale and alpha images are converted (alpha over white);
    animated files give their first frame.
    """
    name = str(path)
    file = Path(path)
    if not file.is_file():
        raise MediaError(name, "file not found")
    if file.stat().st_size == 0:
        raise MediaError(name, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise MediaError(
                        name,
                        f"image of {width}x{height} pixels exceeds the limit of {max_pixels} "
                        "(possible decompression bomb)",
                    )
                opened.seek(0)
                opened.load()
                image = _to_rgb(opened)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(name, f"refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise MediaError(name, "not a readable image (unknown or corrupt format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(name, f"corrupt or truncated image: {exc}") from exc
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparent areas become white like a shop background."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def square_pad(image: Image.Image, size: int, fill: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Letterbox ``image`` onto a white square of ``size`` pixels, keeping the whole product in view."""
    width, height = image.size
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas.resize((size, size), Image.Resampling.BICUBIC)
