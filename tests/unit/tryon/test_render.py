"""Placement geometry on real portraits with hand-placed landmarks, and a ring on hand points."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfuse.tryon.cutout import cutout, largest_part
from shopfuse.tryon.render import (
    Affine,
    earring_top,
    earrings_transform,
    necklace_transform,
    place_earrings,
    place_necklace,
    place_ring,
    ring_transform,
)
from shopfuse.tryon.service import earrings_on, neck_line, stated_size_mm
from tests.helpers.tem import CHIN, read_tem, tem_anchors

PORTRAIT = "001_03"


@pytest.fixture(scope="module")
def portrait(shared_data: Path) -> tuple[Image.Image, Path]:
    folder = shared_data / "faces" / "images"
    with Image.open(folder / f"{PORTRAIT}.jpg") as opened:
        return opened.convert("RGB"), folder / f"{PORTRAIT}.tem"


@pytest.fixture(scope="module")
def earrings(shared_data: Path) -> Image.Image:
    with Image.open(shared_data / "hm-purchases" / "images" / "0807704001.jpg") as opened:
        return cutout(opened)


@pytest.fixture(scope="module")
def necklace(shared_data: Path) -> Image.Image:
    with Image.open(shared_data / "hm-purchases" / "images" / "0743098001.jpg") as opened:
        return cutout(opened)


def changed(before: Image.Image, after: Image.Image, threshold: int = 40) -> np.ndarray:
    diff = np.abs(np.asarray(before, dtype=np.int16) - np.asarray(after, dtype=np.int16)).max(axis=2)
    return diff > threshold


def region(mask: np.ndarray, centre: tuple[float, float], radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Changed pixels within a square around ``centre``, as photo (ys, xs)."""
    x, y = round(centre[0]), round(centre[1])
    ys, xs = np.nonzero(mask[y - radius : y + radius, x - radius : x + radius])
    return ys + y - radius, xs + x - radius


def test_earring_tops_hang_from_the_lobes(portrait: tuple[Image.Image, Path], earrings: Image.Image) -> None:
    image, tem = portrait
    anchors = tem_anchors(tem)
    result, height_mm = earrings_on(image, earrings, anchors, 30.0, 240)
    assert result.size == image.size and result.mode == "RGB" and height_mm == 30.0
    mask = changed(image, result)
    for lobe in (anchors.left_ear, anchors.right_ear):
        ys, xs = region(mask, lobe, 150)
        assert ys.size > 200
        top = ys.min()
        assert abs(top - lobe[1]) <= 4, (top, lobe)
        assert abs(float(np.median(xs[ys < top + 6])) - lobe[0]) <= 5
        assert ys.max() - lobe[1] > 60  # it hangs down


def test_earring_transform_puts_the_top_on_the_lobe_at_the_asked_height(earrings: Image.Image) -> None:
    sprite = largest_part(earrings)
    lobe = (321.5, 456.25)
    transform = earrings_transform(sprite, lobe, 90.0, 0.0)
    assert np.allclose(transform(earring_top(sprite)), lobe, atol=1e-6)
    bottom = transform((earring_top(sprite)[0], sprite.height))
    assert math.isclose(bottom[1] - lobe[1], 90.0, rel_tol=1e-6)


def test_earring_scale_follows_the_face_width(
    portrait: tuple[Image.Image, Path], earrings: Image.Image
) -> None:
    image, tem = portrait
    anchors = tem_anchors(tem)
    heights = []
    for factor in (1.0, 0.5):
        small = image.resize((round(image.width * factor), round(image.height * factor)))
        points = read_tem(tem) * factor
        scaled = replace(
            anchors,
            left_ear=tuple(points[119]),
            right_ear=tuple(points[124]),
            left_pupil=tuple(points[0]),
            right_pupil=tuple(points[1]),
            face_width_px=anchors.face_width_px * factor,
        )
        result, _ = earrings_on(small, earrings, scaled, None, 240)
        ys, _ = region(changed(small, result), scaled.left_ear, round(150 * factor))
        heights.append(ys.max() - ys.min())
    assert heights[1] == pytest.approx(heights[0] / 2, rel=0.12)


def test_earring_turns_with_the_head_roll(portrait: tuple[Image.Image, Path], earrings: Image.Image) -> None:
    image, tem = portrait
    anchors = tem_anchors(tem)
    sprite = largest_part(earrings)
    angles = []
    for roll in (0.0, 20.0, -20.0):
        transform = earrings_transform(sprite, anchors.left_ear, 120.0, roll)
        result = place_earrings(image, (sprite, sprite), (anchors.left_ear, anchors.right_ear), 120.0, roll)
        ys, xs = region(changed(image, result), anchors.left_ear, 150)
        dx, dy = xs.mean() - anchors.left_ear[0], ys.mean() - anchors.left_ear[1]
        angles.append(math.degrees(math.atan2(-dx, dy)))
        top = transform(earring_top(sprite))
        assert np.allclose(top, anchors.left_ear, atol=1e-6)
    # positive roll (eye line turning clockwise, image y down) swings the drop to the image's left
    assert angles[1] - angles[0] == pytest.approx(20.0, abs=4.0)
    assert angles[2] - angles[0] == pytest.approx(-20.0, abs=4.0)


def test_occluded_lobe_draws_the_earring_behind_the_cover(
    portrait: tuple[Image.Image, Path], earrings: Image.Image
) -> None:
    image, tem = portrait
    anchors = tem_anchors(tem)
    sprite = largest_part(earrings)
    lobes = (anchors.left_ear, anchors.right_ear)
    # cover the left lobe with a patch of "hair" that the earring's top runs under
    covered = image.copy()
    x, y = round(lobes[0][0]), round(lobes[0][1])
    covered.paste((40, 30, 25), (x - 30, y - 30, x + 30, y + 40))
    front = changed(covered, place_earrings(covered, (sprite, sprite), lobes, 120.0))
    behind = changed(covered, place_earrings(covered, (sprite, sprite), lobes, 120.0, occluded=(True, False)))
    patch = np.s_[y - 28 : y + 38, x - 28 : x + 28]
    assert front[patch].sum() > 50 and behind[patch].sum() < front[patch].sum() * 0.2
    below = np.s_[y + 45 : y + 120, x - 60 : x + 60]
    assert behind[below].sum() > 0.8 * front[below].sum()  # the part below the cover still shows
    right = region(front, lobes[1], 150)[0].size
    assert region(behind, lobes[1], 150)[0].size == right  # the other ear is untouched


def test_necklace_lies_under_the_chin_around_the_neck(
    portrait: tuple[Image.Image, Path], necklace: Image.Image
) -> None:
    image, tem = portrait
    anchors = tem_anchors(tem)
    points = read_tem(tem)
    chin = points[CHIN]
    px_per_mm = anchors.ipd_px / 63.0
    neck = neck_line(anchors)
    result = place_necklace(image, necklace, *neck, px_per_mm)
    ys, xs = np.nonzero(changed(image, result, 25))
    assert ys.size > 500
    assert ys.min() > chin[1]  # all of it under the chin
    low = ys >= ys.max() - 5
    assert abs(float(xs[low].mean()) - chin[0]) < 0.1 * anchors.ipd_px  # hangs in the middle
    assert xs.max() - xs.min() > 1.3 * (anchors.neck_right[0] - anchors.neck_left[0])  # wider than the neck
    # the neck's slant turns it: the bottom moves along the neck's down direction
    tilted = (neck[0], (neck[1][0], neck[1][1] - 100), neck[2])
    transform, used = necklace_transform(necklace, *tilted, px_per_mm)
    assert used["bottom"][0] > used["left"][0] + (used["right"][0] - used["left"][0]) / 2 + 5
    assert np.allclose(transform((0, 0)), used["left"])


def test_neck_line_guard_moves_a_neck_found_on_the_mouth_down(portrait: tuple[Image.Image, Path]) -> None:
    _, tem = portrait
    anchors = tem_anchors(tem)
    assert neck_line(anchors)[2] == pytest.approx(anchors.neck_center)  # a right one is kept
    wrong = replace(anchors, neck_center=(690.0, 850.0), neck_left=(640.0, 850.0), neck_right=(740.0, 850.0))
    moved = neck_line(wrong)
    assert moved[2][1] >= anchors.left_pupil[1] + 1.85 * anchors.ipd_px


def test_ring_sits_across_the_finger_at_its_angle() -> None:
    sprite = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    arr = np.asarray(sprite).copy()
    yy, xx = np.mgrid[0:80, 0:80]
    r = np.hypot(xx - 39.5, yy - 39.5)
    arr[(r > 30) & (r < 39)] = (230, 190, 60, 255)
    sprite = Image.fromarray(arr, "RGBA")
    for angle in (-90.0, -60.0, 0.0, 35.0):
        t = math.radians(angle)
        base = np.array([300.0, 300.0])
        joint = base + 80 * np.array([math.cos(t), math.sin(t)])
        transform = ring_transform(sprite, base, joint, 40.0)
        left, right = transform((0, 40)), transform((80, 40))
        assert np.linalg.norm(right - left) == pytest.approx(46.0)  # the finger's width + 15 %
        assert abs(float(np.dot(right - left, joint - base))) < 1e-6  # across the finger
        assert np.allclose((left + right) / 2, base)
    photo = Image.new("RGB", (600, 600), (200, 160, 140))
    base, joint = (300.0, 300.0), (300.0, 220.0)  # a finger pointing up
    result = place_ring(photo, sprite, base, joint, 40.0)
    ys, xs = np.nonzero(changed(photo, result, 30))
    assert 40 <= xs.max() - xs.min() <= 52 and abs(xs.mean() - 300) < 3
    # the band's far half (towards the joint) is hidden inside the finger: only its ends show there
    upper = (ys < 297) & (np.abs(xs - 300) < 16)
    lower = (ys > 303) & (np.abs(xs - 300) < 16)
    assert lower.sum() > 20 and upper.sum() < lower.sum() * 0.2


def test_affine_from_points_and_inverse_round_trip() -> None:
    transform = Affine.from_points([(0, 0), (10, 0), (0, 10)], [(5, 5), (25, 5), (5, 35)])
    assert np.allclose(transform((10, 10)), (25, 35))
    inverse = np.array(transform.inverse()).reshape(2, 3)
    assert np.allclose(inverse @ np.array([25, 35, 1]), (10, 10))


def test_stated_size_is_read_in_mm() -> None:
    assert stated_size_mm({"description": "Drop earrings. Length 5 cm."}) == 50.0
    assert stated_size_mm({"attributes": {"size": "diameter 25 mm"}}) == 25.0
    assert stated_size_mm({"description": "Earrings 3,5 cm long"}) == 35.0
    assert stated_size_mm({"description": "Gold-coloured hoops"}) is None
