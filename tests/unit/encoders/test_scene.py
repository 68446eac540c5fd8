"""Scene and shot tags on real shared photos that were labelled by hand (benchmarks/labels/scene_shot.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfuse.encoders.image import EfficientNetColourEncoder
from shopfuse.encoders.scene import (
    PLACES,
    SCENES,
    SHOTS,
    SceneTagger,
    encode_and_tag,
    imagenet_head,
    imagenet_probabilities,
)
from shopfuse.media.video import poster
from shopfuse.modalities.image import scene_attributes

LABELS = Path(__file__).resolve().parents[3] / "benchmarks" / "labels" / "scene_shot.csv"


@pytest.fixture(scope="module")
def tagger() -> SceneTagger:
    """The default tagger (EfficientNet-Lite0 head, MediaPipe landmarks), loaded once."""
    return SceneTagger()


def photo(shared_data: Path, path: str) -> Image.Image:
    """A shared photo by its path in the labels file."""
    return Image.open(shared_data / path).convert("RGB")


def test_head_is_the_imagenet_classifier(shared_data: Path) -> None:
    weight, bias = imagenet_head()
    assert weight.shape == (1000, 1280) and bias.shape == (1000,)
    encoder = EfficientNetColourEncoder()
    ball = photo(shared_data, "fashion-products/images/13670.jpg")  # a football, labelled packshot
    probabilities = imagenet_probabilities(encoder.features([ball]))
    assert probabilities.shape == (1, 1000)
    assert np.isclose(probabilities.sum(), 1.0, atol=1e-4)
    assert int(probabilities[0].argmax()) == 805  # "soccer ball" in timm's imagenet_synsets order


def test_place_groups_are_disjoint_imagenet_classes() -> None:
    seen: set[int] = set()
    for classes in PLACES.values():
        assert all(0 <= i < 1000 for i in classes)
        assert not seen & set(classes)
        seen |= set(classes)


@pytest.mark.parametrize(
    ("path", "scene", "shot"),
    [
        ("fashion-products/images/18439.jpg", "studio", "packshot"),  # backpack on white
        ("fashion-products/images/20075.jpg", "studio", "packshot"),  # deodorant can on white
        ("fashion-products/images/15521.jpg", "studio", "packshot"),  # flip-flop on white
        ("fashion-products/images/10001.jpg", "studio", "flat_lay"),  # garment laid flat
        ("hm-purchases/images/0580770008.jpg", "studio", "flat_lay"),  # H&M jeans on light grey
        ("hm-purchases/images/0697091007.jpg", "studio", "flat_lay"),  # H&M T-shirt on light grey
    ],
)
def test_unworn_products(tagger: SceneTagger, shared_data: Path, path: str, scene: str, shot: str) -> None:
    [tag] = tagger.tag([photo(shared_data, path)])
    assert (tag.scene, tag.shot) == (scene, shot), tag.reasons
    assert tag.reasons and tag.scores["border_plain"] > 0.9


def test_model_with_a_face_is_on_model(tagger: SceneTagger, shared_data: Path) -> None:
    model = photo(shared_data, "fashion-products/images/18755.jpg")  # a woman in a dress, face in view
    [tag] = tagger.tag([model])
    assert tag.shot == "on_model" and tag.scores["faces"] == 1.0
    assert any("face" in reason for reason in tag.reasons)


def test_try_on_frame_is_indoor_on_model(tagger: SceneTagger, shared_data: Path) -> None:
    frame = poster(shared_data / "videos" / "tryon-clips" / "lower1.mp4", at=0.0)
    [tag] = tagger.tag([frame])
    assert tag.scene == "indoor"  # a panelled room with a parquet floor: no plain backdrop
    assert tag.shot == "on_model"  # the head is cut off: found by the hands
    assert tag.scores["border_plain"] < 0.5


def test_without_people_nothing_is_on_model(shared_data: Path) -> None:
    model = photo(shared_data, "fashion-products/images/18755.jpg")
    [tag] = SceneTagger(people=False).tag([model])
    assert tag.shot != "on_model"
    assert "faces" not in tag.scores


def test_shared_features_give_the_same_tags(tagger: SceneTagger, shared_data: Path) -> None:
    images = [photo(shared_data, label_row(i)["path"]) for i in (1, 14, 110)]
    encoder = EfficientNetColourEncoder()
    vectors, shared = encode_and_tag(encoder, tagger, images)
    alone = tagger.tag(images)
    assert np.allclose(vectors, encoder.encode_images(images), atol=1e-5)
    assert [(t.scene, t.shot) for t in shared] == [(t.scene, t.shot) for t in alone]
    assert scene_attributes(shared)["photo_shots"] == "packshot, on_model, flat_lay"


def test_accuracy_on_hand_labelled_sample(tagger: SceneTagger, shared_data: Path) -> None:
    rows = [r for r in labels() if "#frame=" not in r["path"]][::4]  # 37 photos, every 4th
    tags = tagger.tag([photo(shared_data, r["path"]) for r in rows])
    assert all(t.scene in SCENES and t.shot in SHOTS for t in tags)
    scene = np.mean([t.scene == r["scene"] for t, r in zip(tags, rows, strict=True)])
    shot = np.mean([t.shot == r["shot"] for t, r in zip(tags, rows, strict=True)])
    worn = [t.shot == "on_model" for t, r in zip(tags, rows, strict=True) if r["shot"] == "on_model"]
    assert scene >= 0.95 and shot >= 0.75 and np.mean(worn) >= 0.85, (scene, shot, np.mean(worn))


def labels() -> list[dict[str, str]]:
    """The hand labels."""
    with LABELS.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def label_row(index: int) -> dict[str, str]:
    """Row ``index`` (0-based) of the hand labels."""
    return labels()[index]


@pytest.mark.parametrize(
    ("path", "shot"),
    [
        ("hm-purchases/images/0663355001.jpg", "detail"),  # fabric close-up running off every side
        ("hm-purchases/images/0505507003.jpg", "detail"),  # jeans pocket close-up
        ("fashion-products/images/13599.jpg", "on_model"),  # three models side by side, white backdrop
    ],
)
def test_busy_borders_in_the_studio(tagger: SceneTagger, shared_data: Path, path: str, shot: str) -> None:
    [tag] = tagger.tag([photo(shared_data, path)])
    assert tag.scores["border_plain"] < 0.5  # no plain backdrop along the border...
    assert (tag.scene, tag.shot) == ("studio", shot), tag.reasons  # ...and still a studio shot
