"""A small constructed catalogue of product videos and sounds, made from real catalogue photos.

Built once per test session with :mod:`shopfuse.media.compose`: narrated (espeak-ng reading the
product's own title), with music, silent, audio-only, and broken files for the error paths.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from shopfuse.media.compose import Shot, compose_video, music, speak


@dataclass(frozen=True)
class MediaSet:
    """Where the files are, which photos the clips show, and the expected moments."""

    catalog: Path
    photos: dict[str, str]
    """Photo of each shown product (key: fashion product id)."""
    titles: dict[str, str]
    shots: dict[str, list[tuple[str, float, float]]]
    """Per clip product: ``(shown product, start, end)``."""
    narrated: str
    """Title read out in the narrated clip."""


def build_media_set(fashion_csv: Path, folder: Path) -> MediaSet:
    """Write the clips, sounds and ``catalog.jsonl`` into ``folder``."""
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # distinct, easily told apart products: a dress, a watch, sports shoes, a handbag, a shirt
    wanted = {"Dresses": None, "Watches": None, "Sports Shoes": None, "Handbags": None, "Shirts": None}
    for row in rows:
        kind = row["articleType"]
        if kind in wanted and wanted[kind] is None:
            wanted[kind] = row
    chosen = [r for r in wanted.values() if r is not None]
    photos = {r["id"]: str((fashion_csv.parent / r["image"]).resolve()) for r in chosen}
    titles = {r["id"]: r["productDisplayName"] for r in chosen}
    a, b, c, d, e = (r["id"] for r in chosen)
    folder.mkdir(parents=True, exist_ok=True)
    narrated = titles[b]
    compose_video(
        [Shot(photos[a], 3.0), Shot(photos[b], 3.0, pan=True), Shot(photos[c], 3.0)],
        folder / "narrated.mp4",
        sound=speak(narrated),
    )
    compose_video([Shot(photos[d], 3.0), Shot(photos[e], 3.0)], folder / "music.mp4", sound=music(6.0))
    compose_video([Shot(photos[c], 2.0)], folder / "silent.mp4")
    (folder / "broken.mp4").write_bytes((folder / "narrated.mp4").read_bytes()[:2000])
    (folder / "garbage.mp4").write_bytes(b"\x00" * 4096)
    speech = folder / "speech.wav"
    _write_wav(speech, speak(titles[e]))
    shutil.copyfile(speech, folder / "not-a-video.wav")
    banner = folder / "banner.png"
    _write_banner(banner, "SUMMER SALE")
    rows_out = [
        {"id": "banner", "image": str(banner)},
        {"id": "audio-missing", "title": "Lost recording", "audio": "nowhere.wav"},
        {"id": "image-missing", "title": "Lost photo", "image": "nowhere.jpg"},
        {"id": "clip-narrated", "title": "Lookbook one", "video": "narrated.mp4"},
        {"id": "clip-music", "title": "Lookbook two", "video": "music.mp4"},
        {"id": "clip-silent", "video": "silent.mp4"},
        {"id": "sound-only", "audio": "speech.wav"},
        {"id": "clip-list", "title": "Two videos", "video": ["silent.mp4", "music.mp4"]},
        {"id": "clip-broken", "title": "Cut-off upload", "video": "broken.mp4"},
        {"id": "clip-garbage", "title": "Not a video", "video": "garbage.mp4"},
        {"id": "clip-no-stream", "title": "Sound file as video", "video": "not-a-video.wav"},
        {"id": "clip-missing", "title": "Missing file", "video": "nowhere.mp4"},
        {"id": "photo-only", "title": titles[a], "image": photos[a]},
    ]
    catalog = folder / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in rows_out) + "\n", encoding="utf-8")
    shots = {
        "clip-narrated": [(a, 0.0, 3.0), (b, 3.0, 6.0), (c, 6.0, 9.0)],
        "clip-music": [(d, 0.0, 3.0), (e, 3.0, 6.0)],
        "clip-silent": [(c, 0.0, 2.0)],
    }
    return MediaSet(catalog, photos, titles, shots, narrated)


def _write_banner(path: Path, text: str) -> None:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (640, 360), (255, 255, 255))
    ImageDraw.Draw(image).text((60, 140), text, fill=(0, 0, 0), font=ImageFont.load_default(size=72))
    image.save(path)


def _write_wav(path: Path, samples: object) -> None:
    import numpy as np
    import soundfile

    soundfile.write(str(path), np.asarray(samples, dtype=np.float32), 16_000)
