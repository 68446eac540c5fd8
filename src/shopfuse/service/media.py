"""Serving product photos over HTTP: which files may be served, and bounded thumbnails.

A photo is served only when its resolved path (symbolic links followed) lies inside one of the
image roots and has an image file suffix, so neither ``..`` in a stored path nor a link out of
a media folder exposes other files. By default the roots are the service's media roots plus the
folders holding the photos stored when the service starts: the operator put those photos in the
catalogue, so serving them is what the catalogue asked for.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image

from shopfuse.media.images import load_image
from shopfuse.store.base import VectorStore

__all__ = [
    "IMAGE_SUFFIXES",
    "THUMBNAIL_SIZES",
    "ThumbnailCache",
    "etag",
    "media_urls",
    "product_images",
    "product_url",
    "served_path",
    "stored_image_folders",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
"""File suffixes the photo route serves; anything else is refused whatever its folder."""
THUMBNAIL_SIZES = (32, 1024)
"""Smallest and largest thumbnail edge in pixels."""


def product_images(row: dict[str, Any]) -> list[str]:
    """A stored product's photo paths: its ``images`` list, else its single ``image``."""
    images = [str(p) for p in row.get("images") or [] if p]
    if not images and row.get("image"):
        images = [str(row["image"])]
    return images


def product_url(product_id: str) -> str:
    """The URL path of a product's routes: ``/products/{id}``, the id URL-encoded ("/" too)."""
    return "/products/" + quote(product_id, safe="")


def media_urls(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` (a stored product, a hit or a recommended item, with its ``id``) as the API answers it:
    media as the URL paths the service serves them at, never as file paths on the server.

    ``image`` becomes ``/products/{id}/images/0``, ``images`` one such path per photo, ``video``
    ``/products/{id}/video``; ``audio``, which no route serves, is left out. Whether the service
    then serves the file depends on its image roots, as for any photo URL.
    """
    out = dict(record)
    base = product_url(str(out["id"]))
    photos = product_images(out)
    if out.get("images"):
        out["images"] = [f"{base}/images/{n}" for n in range(len(photos))]
    if out.get("image"):
        out["image"] = f"{base}/images/0"
    if out.get("video"):
        out["video"] = f"{base}/video"
    out.pop("audio", None)
    return out


def stored_image_folders(store: VectorStore, *, batch: int = 2000) -> list[Path]:
    """The resolved folders of every stored photo, outermost only (a folder inside another is dropped)."""
    ids = sorted(store.hashes())
    folders: set[Path] = set()
    for start in range(0, len(ids), batch):
        for row in store.get(ids[start : start + batch]):
            for path in product_images(row):
                if Path(path).suffix.lower() in IMAGE_SUFFIXES:
                    folders.add(Path(path).resolve().parent)
    return _outermost(folders)


def _outermost(folders: Iterable[Path]) -> list[Path]:
    kept: list[Path] = []
    for folder in sorted(set(folders), key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(root) for root in kept):
            kept.append(folder)
    return sorted(kept)


VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".ogv"})
"""Video files the service plays back (browsers stream them with range requests)."""


def served_path(
    path: str | Path, roots: Sequence[Path], suffixes: Collection[str] | None = None
) -> Path | None:
    """``path`` resolved, if it is a media file (an image by default) inside one of ``roots``; else None."""
    resolved = Path(path).resolve()
    if (
        resolved.suffix.lower() not in (IMAGE_SUFFIXES if suffixes is None else suffixes)
        or not resolved.is_file()
    ):
        return None
    if not any(resolved.is_relative_to(root) for root in roots):
        return None
    return resolved


def etag(path: Path, size: int | None) -> str:
    """A strong validator for ``path`` at ``size``: changes when the file changes."""
    stat = path.stat()
    key = f"{path}|{stat.st_mtime_ns}|{stat.st_size}|{size}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


class ThumbnailCache:
    """JPEG thumbnails (longest edge ``size``) made with Pillow, the latest ``entries`` kept in memory.

    A 320-pixel JPEG takes about 15 KB, so the default 2,000 entries hold about 30 MB.
    """

    def __init__(self, entries: int = 2000, max_pixels: int = 40_000_000) -> None:
        self.entries = entries
        self.max_pixels = max_pixels
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, size: int, tag: str) -> bytes:
        """The thumbnail of ``path`` whose validator is ``tag``, made on a miss."""
        with self._lock:
            data = self._items.get(tag)
            if data is not None:
                self._items.move_to_end(tag)
                return data
        data = self._make(path, size)
        with self._lock:
            self._items[tag] = data
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return data

    def _make(self, path: Path, size: int) -> bytes:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            from shopfuse.media.video import poster

            image = poster(path)
        else:
            image = load_image(path, max_pixels=self.max_pixels)
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue()
