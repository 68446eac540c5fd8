"""Border statistics of real photos: a studio backdrop against a room."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from shopfuse.media.background import background_stats
from shopfuse.media.video import poster


def test_packshot_on_white(shared_data: Path) -> None:
    stats = background_stats(Image.open(shared_data / "fashion-products" / "images" / "18439.jpg"))
    assert stats.plain > 0.99 and stats.edges < 0.01 and stats.light > 0.95
    assert 0.1 < stats.fill < 0.7 and stats.sides == 0 and stats.touch < 0.05


def test_model_runs_off_the_photo(shared_data: Path) -> None:
    stats = background_stats(Image.open(shared_data / "fashion-products" / "images" / "19380.jpg"))
    assert stats.touch > 0.15 and stats.sides >= 1


def test_room_is_not_a_backdrop(shared_data: Path) -> None:
    stats = background_stats(poster(shared_data / "videos" / "tryon-clips" / "lower1.mp4", at=0.0))
    assert stats.plain < 0.5
    assert set(stats.to_dict()) >= {"plain", "edges", "fill", "touch", "sky", "green"}
