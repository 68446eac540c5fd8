"""Product cut-outs from real H&M jewellery packshots: transparent backdrop, object kept, pairs split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfuse.tryon.cutout import cached_cutout, colour_alpha, cutout, largest_part, split_pair, u2net_alpha

EARRINGS = "0795850001"  # a pair of drop earrings side by side
NECKLACE = "0743098001"  # a thin chain with small discs
RINGS = "0718968001"  # a pack of five rings


def photo(shared_data: Path, article: str) -> Path:
    return shared_data / "hm-purchases" / "images" / f"{article}.jpg"


def test_earrings_cutout_has_a_transparent_backdrop_and_keeps_the_metal(shared_data: Path) -> None:
    with Image.open(photo(shared_data, EARRINGS)) as opened:
        source = opened.convert("RGB")
    cut = cutout(source)
    assert cut.mode == "RGBA"
    alpha = np.asarray(cut.getchannel("A"))
    # trimmed to the object: the cut-out is smaller than the photo, with opaque pixels on each edge
    assert cut.width < source.width and cut.height < source.height
    assert min(alpha[0].max(), alpha[-1].max(), alpha[:, 0].max(), alpha[:, -1].max()) > 24
    # the backdrop (most of it) is transparent, the metal and the red enamel are kept
    assert 0.05 < (alpha > 128).mean() < 0.6
    rgb = np.asarray(cut.convert("RGB"), dtype=np.int16)
    red = (rgb[..., 0] - rgb[..., 1] > 80) & (rgb[..., 0] > 150)
    assert red.sum() > 30 and (alpha[red] > 200).mean() > 0.9
    # the photo's corners were backdrop
    whole, plain = colour_alpha(source)
    assert plain > 0.9 and whole[:10, :10].mean() < 0.05


def test_thin_necklace_chain_is_kept_and_its_middle_left_open(shared_data: Path) -> None:
    with Image.open(photo(shared_data, NECKLACE)) as opened:
        cut = cutout(opened)
    alpha = np.asarray(cut.getchannel("A")) > 128
    h, w = alpha.shape
    assert alpha[h // 2, : w // 4].any() and alpha[h // 2, 3 * w // 4 :].any()  # both sides of the chain
    assert not alpha[h // 3 : 2 * h // 3, 2 * w // 5 : 3 * w // 5].any()  # the middle of the U is empty
    # U^2-Net-p, by contrast, fills the U in: the reason plain backdrops use the colour mask
    with Image.open(photo(shared_data, NECKLACE)) as opened:
        salient = u2net_alpha(opened)
    sh, sw = salient.shape
    assert salient[sh // 2 - 10 : sh // 2 + 10, sw // 2 - 10 : sw // 2 + 10].mean() > 0.5


def test_u2net_cuts_a_product_out_of_a_busy_background(shared_data: Path) -> None:
    with Image.open(photo(shared_data, EARRINGS)) as opened:
        source = opened.convert("RGB")
    noise = np.random.default_rng(0).integers(0, 255, (source.height, source.width, 3), dtype=np.uint8)
    busy = np.asarray(source).copy()
    alpha, _ = colour_alpha(source)
    busy[alpha < 0.05] = noise[alpha < 0.05]
    cut = cutout(Image.fromarray(busy))  # the border is not plain: U^2-Net-p decides
    assert cut.width < source.width * 0.95


def test_pair_is_split_left_and_right_and_a_single_earring_mirrored(shared_data: Path) -> None:
    with Image.open(photo(shared_data, EARRINGS)) as opened:
        cut = cutout(opened)
    left, right = split_pair(cut)
    for one in (left, right):
        assert cut.width * 0.3 < one.width < cut.width * 0.65
        assert one.height > cut.height * 0.7
    # the left one is the one whose pixels come first in the pair's photo
    single = cut.crop((0, 0, cut.width // 2, cut.height))
    first, second = split_pair(largest_part(single))
    assert np.array_equal(np.asarray(first)[:, ::-1], np.asarray(second))


def test_ring_pack_gives_one_ring(shared_data: Path) -> None:
    with Image.open(photo(shared_data, RINGS)) as opened:
        cut = cutout(opened)
    one = largest_part(cut)
    assert one.width < cut.width * 0.45 and one.height < cut.height * 0.8


def test_cutout_is_cached_per_photo_content(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "p.jpg"
    source.write_bytes(photo(shared_data, EARRINGS).read_bytes())
    first = cached_cutout(source, tmp_path / "cache")
    stored = list((tmp_path / "cache").glob("*.png"))
    assert len(stored) == 1
    stored[0].write_bytes(b"damaged")  # a damaged cache file is remade, not an error
    assert cached_cutout(source, tmp_path / "cache").size == first.size
    source.write_bytes(photo(shared_data, NECKLACE).read_bytes())  # new photo, new key
    assert cached_cutout(source, tmp_path / "cache").size != first.size
    assert len(list((tmp_path / "cache").glob("*.png"))) == 2


def test_blank_photo_is_a_clear_error() -> None:
    from shopfuse.errors import MediaError

    with pytest.raises(MediaError, match="no product"):
        cutout(Image.new("RGB", (200, 300), (230, 230, 230)), where="blank.jpg")
