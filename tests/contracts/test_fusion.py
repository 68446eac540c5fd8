"""Every fusion strategy in the registry passes one contract, on real features of 120 fashion products.

Joint-space inputs without an aligner: image vectors are mapped into the title space by ridge
regression fitted on the training products; the title vector is both an input and the target,
so quality is checked on held-out products whose title is hidden. A third modality ("ocr") is
missing everywhere, and some training products lack their title, to exercise the masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse import fusion as _fusion  # noqa: F401  (registers the strategies)
from shopfuse.encoders.base import l2_normalize
from shopfuse.engine import Engine
from shopfuse.fusion import Fusion, FusionOutput
from shopfuse.registry import registry

N_TRAIN = 80
NAMES = registry.names("fusion")


@dataclass
class Features:
    """Joint-space modalities of the fixture's products, split into training and held-out rows."""

    image: np.ndarray
    text: np.ndarray
    train: np.ndarray
    test: np.ndarray

    def inputs(
        self, rows: np.ndarray, *, text: bool | np.ndarray = True
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Modalities and masks of ``rows``; ``text`` says which of them keep their title."""
        has_text = np.broadcast_to(np.asarray(text, dtype=bool), (len(rows),)).copy()
        n, d = len(rows), self.text.shape[1]
        modalities = {"image": self.image[rows], "text": self.text[rows], "ocr": np.zeros((n, d), np.float32)}
        masks = {"image": np.ones(n, bool), "text": has_text, "ocr": np.zeros(n, bool)}
        return modalities, masks


@pytest.fixture(scope="module")
def features(fashion_engine: Engine) -> Features:
    image_ids, image = fashion_engine.store.vectors("image")
    text_ids, text = fashion_engine.store.vectors("text")
    assert image_ids == text_ids
    order = np.random.default_rng(0).permutation(len(text_ids))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    gram = image[train].T @ image[train] + 1.0 * np.eye(image.shape[1])
    weights = np.linalg.solve(gram, image[train].T @ text[train])
    return Features(l2_normalize(image @ weights), text.astype(np.float32), train, test)


def fit(name: str, features: Features, seed: int = 0) -> Any:
    train = features.train
    modalities, masks = features.inputs(train, text=np.arange(len(train)) % 5 != 0)
    return registry.create("fusion", name).fit(modalities, masks, features.text[train], seed=seed)


@pytest.fixture(scope="module")
def fitted(features: Features) -> dict[str, Any]:
    return {name: fit(name, features) for name in NAMES}


def assert_valid(out: FusionOutput, masks: dict[str, np.ndarray], n: int, d: int) -> None:
    assert out.vectors.shape == (n, d) and out.vectors.dtype == np.float32
    assert np.isfinite(out.vectors).all()
    np.testing.assert_allclose(np.linalg.norm(out.vectors, axis=1), 1.0, atol=1e-5)
    assert set(out.contributions) == set(masks)
    total = np.zeros(n)
    for modality, share in out.contributions.items():
        assert share.shape == (n,) and np.isfinite(share).all() and (share >= 0).all()
        assert (share[~masks[modality]] == 0).all(), f"{modality} is missing but contributed"
        total += share
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_every_strategy_is_registered() -> None:
    expected = {"attention", "concat", "cross-attention", "gated", "graph", "late", "lmf", "tensor"}
    assert expected | {"tucker", "weighted"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_contract_shapes_units_and_contributions(
    name: str, fitted: dict[str, Any], features: Features
) -> None:
    fusion = fitted[name]
    assert isinstance(fusion, Fusion)
    test = features.test
    d = features.text.shape[1]
    for has_text in (True, False, np.arange(len(test)) % 2 == 0):
        modalities, masks = features.inputs(test, text=has_text)
        assert_valid(fusion.fuse(modalities, masks), masks, len(test), d)


@pytest.mark.parametrize("name", NAMES)
def test_a_row_without_any_modality_is_refused(name: str, fitted: dict[str, Any], features: Features) -> None:
    modalities, masks = features.inputs(features.test)
    masks["image"][3] = masks["text"][3] = False
    with pytest.raises(ValueError, match="no modality present"):
        fitted[name].fuse(modalities, masks)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name: str, fitted: dict[str, Any], features: Features, tmp_path: Path) -> None:
    modalities, masks = features.inputs(features.test, text=np.arange(len(features.test)) % 2 == 0)
    before = fitted[name].fuse(modalities, masks)
    fitted[name].save(tmp_path / name)
    after = registry.get("fusion", name).load(tmp_path / name).fuse(modalities, masks)
    np.testing.assert_array_equal(before.vectors, after.vectors)
    for modality, share in before.contributions.items():
        np.testing.assert_array_equal(share, after.contributions[modality])


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_vectors(name: str, fitted: dict[str, Any], features: Features) -> None:
    modalities, masks = features.inputs(features.test, text=False)
    again = fit(name, features, seed=0).fuse(modalities, masks)
    np.testing.assert_array_equal(fitted[name].fuse(modalities, masks).vectors, again.vectors)


@pytest.mark.parametrize("name", NAMES)
def test_photo_only_products_find_their_title(name: str, fitted: dict[str, Any], features: Features) -> None:
    """Held-out products with the title hidden: their own title ranks them far above chance."""
    test = features.test
    fused = fitted[name].fuse(*features.inputs(test, text=False)).vectors
    scores = features.text[test] @ fused.T
    ranks = (scores > scores.diagonal()[:, None]).sum(1) + 1
    mrr = float((1.0 / ranks).mean())
    chance = float(np.mean(1.0 / np.arange(1, len(test) + 1)))
    assert mrr > 2 * chance, f"{name}: MRR {mrr:.3f}, chance {chance:.3f}"
