from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfuse.errors import MediaError
from shopfuse.media.images import load_image, square_pad


def _save(image: Image.Image, path: Path, **kwargs: object) -> Path:
    image.save(path, **kwargs)
    return path


def test_real_product_photo(fashion_csv: Path) -> None:
    image = load_image(fashion_csv.parent / "images" / "10000.jpg")
    assert image.mode == "RGB"
    assert image.size == (224, 224)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
        (lambda p: (p.write_bytes(b"definitely not an image"), p)[1], "not a readable image"),
    ],
)
def test_missing_empty_and_garbage(tmp_path: Path, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path / "x.jpg")
    with pytest.raises(MediaError, match=reason) as info:
        load_image(path)
    assert info.value.path == str(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = _save(Image.new("RGB", (200, 200), "red"), tmp_path / "full.jpg", quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(MediaError, match="corrupt or truncated"):
        load_image(cut)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = _save(Image.new("1", (3000, 3000)), tmp_path / "bomb.png")
    assert path.stat().st_size < 10_000
    with pytest.raises(MediaError, match="decompression bomb"):
        load_image(path, max_pixels=1_000_000)


def test_odd_modes_become_rgb(tmp_path: Path) -> None:
    cmyk = _save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    assert load_image(cmyk).getpixel((4, 4))[0] > 200  # red stays red

    deep = Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16))
    deep.putpixel((0, 0), 0)
    assert load_image(_save(deep, tmp_path / "deep.png")).mode == "RGB"

    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0] * 256)
    palette.info["transparency"] = 0
    assert load_image(_save(palette, tmp_path / "pal.png")).getpixel((1, 1)) == (255, 255, 255)

    rgba = Image.new("RGBA", (8, 8), (0, 0, 255, 255))
    assert load_image(_save(rgba, tmp_path / "a.png")).getpixel((1, 1)) == (0, 0, 255)


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    image = load_image(path)
    assert image.getpixel((2, 2))[0] > 200


def test_square_pad_keeps_whole_product() -> None:
    tall = Image.new("RGB", (100, 200), "black")
    square = square_pad(tall, 64)
    assert square.size == (64, 64)
    assert square.getpixel((0, 32)) == (255, 255, 255)
    assert square.getpixel((32, 32)) == (0, 0, 0)


def test_a_long_thin_image_is_refused_from_its_header(tmp_path: Path) -> None:
    # issue 13: a 177-byte 100000x1 PNG passed the pixel cap and the square padding then asked
    # for a 100000x100000 canvas (21.7 GB before the kernel killed the server)
    path = _save(Image.new("1", (100_000, 1)), tmp_path / "line.png")
    assert path.stat().st_size < 1_000
    with pytest.raises(MediaError, match="side longer than"):
        load_image(path)
    narrow = _save(Image.new("RGB", (3000, 20)), tmp_path / "narrow.png")
    with pytest.raises(MediaError, match="times longer than wide"):
        load_image(narrow)
    banner = load_image(_save(Image.new("RGB", (1600, 200)), tmp_path / "banner.png"))
    assert banner.size == (1600, 200)  # a shop banner (8:1) stays welcome


def test_square_pad_cost_is_bounded_by_the_target_size() -> None:
    # built in memory, so load_image's caps do not apply: the padding alone must stay small
    line = Image.new("RGB", (200_000, 2), "black")
    square = square_pad(line, 224)
    assert square.size == (224, 224)
    assert square.getpixel((112, 111)) == (0, 0, 0)  # the line is still there: one row, centred
    assert square.getpixel((112, 10)) == (255, 255, 255)
    tiny = square_pad(Image.new("RGB", (3, 7), "black"), 224)
    assert tiny.size == (224, 224) and tiny.getpixel((112, 112)) == (0, 0, 0)


def test_folders_and_nul_bytes_get_their_own_reasons(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="is a folder, not an image file"):
        load_image(tmp_path)
    with pytest.raises(MediaError, match="NUL byte"):
        load_image(str(tmp_path / "a\x00.jpg"))
