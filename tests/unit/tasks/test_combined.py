"""Words and a photo in one query: reciprocal rank fusion of the two rankings."""

from __future__ import annotations

import pytest

from shopfuse.errors import ConfigError
from shopfuse.tasks.combined import IMAGE_QUERY, TEXT_QUERY, fuse_text_and_image
from shopfuse.types import Hit


def _hits(ids: str, modality: str) -> list[Hit]:
    return [Hit(id=i, score=1.0 - n / 10, contributions={modality: 1.0 - n / 10}) for n, i in enumerate(ids)]


def test_products_found_by_both_queries_rank_first() -> None:
    fused = fuse_text_and_image(_hits("abc", "text"), _hits("cdb", "image"), k=4)
    assert [h.id for h in fused][:2] == ["c", "b"]
    assert {h.id for h in fused} == set("abcd")
    c = fused[0]
    assert c.score == pytest.approx(c.contributions[TEXT_QUERY] + c.contributions[IMAGE_QUERY])
    assert c.contributions["text"] == pytest.approx(0.8) and c.contributions["image"] == pytest.approx(1.0)
    assert "image" not in next(h for h in fused if h.id == "a").contributions


def test_weights_and_limits() -> None:
    text, image = _hits("ab", "text"), _hits("ba", "image")
    assert [h.id for h in fuse_text_and_image(text, image, image_weight=1.0)] == ["b", "a"]
    assert [h.id for h in fuse_text_and_image(text, image, image_weight=0.0)] == ["a", "b"]
    assert len(fuse_text_and_image(text, image, k=1)) == 1
    assert fuse_text_and_image([], [], k=3) == []
    with pytest.raises(ConfigError):
        fuse_text_and_image(text, image, image_weight=1.5)
    with pytest.raises(ConfigError):
        fuse_text_and_image(text, image, k=0)


def test_shared_modalities_keep_the_larger_score() -> None:
    text = [Hit(id="a", score=0.3, contributions={"image": 0.3})]
    image = [Hit(id="a", score=0.7, contributions={"image": 0.7})]
    assert fuse_text_and_image(text, image)[0].contributions["image"] == pytest.approx(0.7)
