"""Every aligner in the registry passes the same contract on real features of the shared catalogue."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse.alignment import Aligner, recall_at_k
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.errors import ConfigError
from shopfuse.registry import registry
from tests.conftest import write_subset
from tests.helpers.threads import single_thread

NAMES = registry.names("alignment")
K = 10


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with single_thread():
        yield


@dataclass(frozen=True)
class Pairs:
    """Row-aligned image and title vectors, split into training and held-out products."""

    train_image: np.ndarray
    train_text: np.ndarray
    test_image: np.ndarray
    test_text: np.ndarray


@pytest.fixture(scope="session")
def pairs(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Pairs:
    """480 fashion products (every 20th row) ingested with the default encoders; 120 held out."""
    folder = tmp_path_factory.mktemp("alignment")
    subset = write_subset(fashion_csv, folder / "fashion.csv", list(range(10, 9572, 20)))
    engine = Engine.open(folder / "store")
    engine.ingest(subset, FASHION_MAPPING, progress=False)
    image_ids, image = engine.store.vectors("image")
    text_ids, text = engine.store.vectors("text")
    row = {product: i for i, product in enumerate(text_ids)}
    both = [i for i, product in enumerate(image_ids) if product in row]
    image, text = image[both], text[[row[image_ids[i]] for i in both]]
    order = np.random.default_rng(0).permutation(len(both))
    test, train = order[:120], order[120:]
    return Pairs(image[train], text[train], image[test], text[test])


@pytest.fixture(scope="session", params=NAMES)
def fitted(request: pytest.FixtureRequest, pairs: Pairs) -> tuple[str, Any]:
    """Each aligner fitted once per session with its default parameters."""
    aligner = registry.create("alignment", request.param)
    return request.param, aligner.fit(pairs.train_image, pairs.train_text, seed=0)


def test_every_alignment_method_is_registered() -> None:
    assert {"cca", "contrastive", "procrustes", "ridge"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_constructor_stores_parameters_only(name: str) -> None:
    aligner = registry.create("alignment", name)
    assert aligner.name == name
    assert not [attr for attr in vars(aligner) if attr.endswith("_")]


def test_shapes_and_unit_float32_rows(fitted: tuple[str, Any], pairs: Pairs) -> None:
    _, aligner = fitted
    for embedded in (aligner.embed_image(pairs.test_image), aligner.embed_text(pairs.test_text)):
        assert embedded.shape == (len(pairs.test_image), aligner.joint_dim)
        assert embedded.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-5)


def test_save_load_round_trip(fitted: tuple[str, Any], pairs: Pairs, tmp_path: Path) -> None:
    name, aligner = fitted
    aligner.save(tmp_path / name)
    loaded = registry.get("alignment", name).load(tmp_path / name)
    assert loaded.joint_dim == aligner.joint_dim
    np.testing.assert_array_equal(loaded.embed_image(pairs.test_image), aligner.embed_image(pairs.test_image))
    np.testing.assert_array_equal(loaded.embed_text(pairs.test_text), aligner.embed_text(pairs.test_text))


def test_load_refuses_another_aligners_folder(fitted: tuple[str, Any], tmp_path: Path) -> None:
    name, aligner = fitted
    aligner.save(tmp_path)
    other = next(n for n in NAMES if n != name)
    with pytest.raises(ConfigError, match=name):
        registry.get("alignment", other).load(tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result(name: str, pairs: Pairs) -> None:
    image, text = pairs.train_image[:100], pairs.train_text[:100]
    first, again = registry.create("alignment", name), registry.create("alignment", name)
    assert first.fit(image, text, seed=3) is first
    # Checked once fitted: the Protocol's ``joint_dim`` is only defined from then on.
    assert isinstance(first, Aligner)
    assert [attr for attr in vars(first) if attr.endswith("_")]
    again.fit(image, text, seed=3)
    np.testing.assert_array_equal(again.embed_image(pairs.test_image), first.embed_image(pairs.test_image))
    np.testing.assert_array_equal(again.embed_text(pairs.test_text), first.embed_text(pairs.test_text))


def test_held_out_titles_find_their_photos(fitted: tuple[str, Any], pairs: Pairs) -> None:
    """Recall@10 far above what a random ranking gets: chance plus six of its standard deviations."""
    _, aligner = fitted
    n = len(pairs.test_image)
    chance = K / n
    bound = chance + 6 * math.sqrt(chance * (1 - chance) / n)
    recall = recall_at_k(aligner.embed_text(pairs.test_text), aligner.embed_image(pairs.test_image), K)
    assert recall > bound, f"title→image R@{K} {recall:.3f} is not clearly above chance {chance:.3f}"
