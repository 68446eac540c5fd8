"""Decoding product photos into RGB, refusing corrupt, truncated and oversized files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from shopfuse.errors import MediaError

__all__ = ["DEFAULT_MAX_ASPECT", "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_SIDE", "load_image", "square_pad"]

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image (width x height); bigger files are refused as decompression bombs."""
DEFAULT_MAX_SIDE = 20_000
"""Longest accepted side in pixels: a 177-byte 100000x1 PNG passes a pixel-count cap."""
DEFAULT_MAX_ASPECT = 25.0
"""Largest accepted ratio of the long side to the short one (a wide banner is about 8)."""

# A truncated file is an error to report, never a half-grey picture to encode.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def load_image(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    max_aspect: float = DEFAULT_MAX_ASPECT,
) -> Image.Image:
    """Open ``path`` as an RGB image, or raise :class:`MediaError` saying why not.

    The size is checked from the header before any pixel is decoded: at most ``max_pixels``
    pixels, ``max_side`` pixels a side and ``max_aspect`` long side per short side. Palette,
    CMYK, 16-bit, greyscale and alpha images are converted (alpha over white); animated files
    give their first frame.
    """
    name = str(path)
    if "\x00" in name:
        raise MediaError(name.replace("\x00", "\\0"), "path contains a NUL byte")
    file = Path(path)
    if file.is_dir():
        raise MediaError(name, "is a folder, not an image file")
    if not file.is_file():
        raise MediaError(name, "file not found")
    if file.stat().st_size == 0:
        raise MediaError(name, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as opened:
                width, height = opened.size
                _check_size(name, width, height, max_pixels, max_side, max_aspect)
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


def _check_size(
    name: str, width: int, height: int, max_pixels: int, max_side: int, max_aspect: float
) -> None:
    """Refuse sizes that would cost unbounded memory to decode or to pad."""
    if width < 1 or height < 1:
        raise MediaError(name, f"image of {width}x{height} pixels has no area")
    if width * height > max_pixels:
        raise MediaError(
            name,
            f"image of {width}x{height} pixels exceeds the limit of {max_pixels} "
            "(possible decompression bomb)",
        )
    if max(width, height) > max_side:
        raise MediaError(name, f"image of {width}x{height} pixels has a side longer than {max_side}")
    if max(width, height) / min(width, height) > max_aspect:
        raise MediaError(
            name,
            f"image of {width}x{height} pixels is more than {max_aspect:g} times longer than wide",
        )


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
    """Letterbox ``image`` onto a white square of ``size`` pixels, keeping the whole product in view.

    The photo is scaled down first and padded at the target size, so the cost is bounded by
    ``size``² whatever the shape (padding first made a max(w, h)² canvas: 10^10 pixels for a
    100000x1 image).
    """
    width, height = image.size
    scale = size / max(width, height)
    scaled = (min(size, max(1, round(width * scale))), min(size, max(1, round(height * scale))))
    resized = image.resize(scaled, Image.Resampling.BICUBIC) if scaled != (width, height) else image
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(resized, ((size - scaled[0]) // 2, (size - scaled[1]) // 2))
    return canvas
