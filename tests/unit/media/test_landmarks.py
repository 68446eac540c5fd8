"""MediaPipe face and hand landmarks with the model files that ship in wheels, on real photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shopfuse.errors import MissingDependencyError
from shopfuse.media.landmarks import FACE_MODEL, HAND_MODEL, Landmarker, model_file

pytest.importorskip("mediapipe")


@pytest.fixture(scope="module")
def landmarker() -> Landmarker:
    """Faces and every hand, loaded once."""
    return Landmarker(hands="always")


def test_model_files_come_from_the_carrier_wheels() -> None:
    assert model_file(*FACE_MODEL).name == "face_landmarker.task"
    assert model_file(*HAND_MODEL).stat().st_size > 1_000_000


def test_a_missing_model_package_is_named() -> None:
    with pytest.raises(MissingDependencyError, match="no-such-carrier"):
        model_file("no-such-carrier", "x.task")


def test_portrait_has_478_face_points_in_pixels(landmarker: Landmarker, shared_data: Path) -> None:
    portrait = next(iter(sorted((shared_data / "faces" / "images").glob("*.jpg"))))
    image = Image.open(portrait)
    found = landmarker.find(image)
    assert len(found.faces) == 1 and found.people
    points = found.faces[0]
    assert points.shape == (478, 2)
    assert points[:, 0].min() >= 0 and points[:, 0].max() <= image.width  # scaled back from 512 px
    chin, left, right = points[152], points[234], points[454]
    assert left[0] < chin[0] < right[0] and chin[1] > left[1]


def test_packshot_has_no_people(landmarker: Landmarker, shared_data: Path) -> None:
    found = landmarker.find(Image.open(shared_data / "fashion-products" / "images" / "18439.jpg"))
    assert not found.faces and not found.hands and not found.people


def test_hands_of_a_cropped_model(landmarker: Landmarker, shared_data: Path) -> None:
    # a model in jeans, face cut off by the frame: hands are what shows that the jeans are worn
    model = Image.open(shared_data / "fashion-products" / "images" / "19380.jpg")
    found = landmarker.find(model)
    assert found.hands and all(h.shape == (21, 2) for h in found.hands)
    assert not landmarker.find(model, hands=False).hands
