"""The tuned backbone top: activation cache, augmentation, training, AdaBN, saving and loading."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from shopfuse.encoders.image import EfficientNetColourEncoder
from shopfuse.encoders.tail import load_tail, save_tail
from shopfuse.errors import ConfigError
from shopfuse.media.images import load_image
from shopfuse.model.backbone import (
    TailSettings,
    TunedTail,
    _augment,
    early_activations,
    tail_features,
    tune_tail,
)


def fresh_net(backbone: str = "efficientnet-lite0") -> object:
    """An untouched ImageNet network (tuning mutates the one it is given)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return EfficientNetColourEncoder(backbone=backbone, runtime="torch").network


@pytest.fixture(scope="module")
def photos(fashion_csv: Path) -> list[str]:
    """60 real product photos of the shared catalogue."""
    folder = fashion_csv.parent / "images"
    return [str(p) for p in sorted(folder.glob("*.jpg"))[:6000:100]]


def test_activation_cache_is_reused_and_matches_the_network(photos: list[str], tmp_path: Path) -> None:
    encoder = EfficientNetColourEncoder(runtime="torch")
    calls: list[int] = []

    def pixels(paths: Sequence[str]) -> np.ndarray:
        calls.append(len(paths))
        return encoder.pixels([load_image(p) for p in paths])

    net = encoder.network
    first = early_activations(net, pixels, photos[:10], 15, cache=tmp_path)
    assert first.shape == (10, 192, 7, 7) and first.dtype == np.float16
    assert sum(calls) == 10
    again = early_activations(net, pixels, photos[:12], 15, cache=tmp_path)
    assert sum(calls) == 12  # only the two new photos ran through the network
    np.testing.assert_array_equal(again[:10], first)
    # the frozen top on cached activations gives the encoder's own pooled features
    pooled = tail_features(net, 15, first)
    direct = encoder.features([load_image(p) for p in photos[:10]])
    np.testing.assert_allclose(pooled, direct, rtol=0.02, atol=0.02)


def test_augmented_views_crop_flip_and_stay_deterministic() -> None:
    x = torch.randn(16, 8, 7, 7)
    a = _augment(x, torch.Generator().manual_seed(1))
    b = _augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert 5 <= a.shape[2] <= 7 and a.shape[2] == a.shape[3] and a.shape[:2] == x.shape[:2]
    shapes = {_augment(x, torch.Generator().manual_seed(s)).shape[2] for s in range(20)}
    assert len(shapes) > 1


def test_tuning_learns_the_pairs_and_round_trips(photos: list[str], tmp_path: Path) -> None:
    encoder = EfficientNetColourEncoder(runtime="torch")
    net = encoder.network

    def pixels(paths: Sequence[str]) -> np.ndarray:
        return encoder.pixels([load_image(p) for p in paths])

    acts = early_activations(net, pixels, photos, 15)
    rng = np.random.default_rng(0)
    text = rng.normal(size=(len(photos), 32)).astype(np.float32)  # arbitrary targets: memorise them
    labels = {"half": [str(i % 2) for i in range(len(photos))]}
    before = {k: v.clone() for k, v in net.state_dict().items()}
    settings = TailSettings(blocks=1, epochs=6, batch_size=32, lr=3e-3, patience=6)
    state, record = tune_tail(
        net, 15, acts, text, labels, settings=settings, unlabelled=acts[:20], echo=lambda _: None
    )
    assert set(state) and all(k.startswith(("_blocks.15.", "_conv_head.", "_bn1.")) for k in state)
    assert not torch.equal(state["_conv_head.weight"], before["_conv_head.weight"])
    assert torch.equal(
        net.state_dict()["_blocks.14._project_conv.weight"], before["_blocks.14._project_conv.weight"]
    )
    losses = [e["loss"] for e in record["epochs"]]
    assert losses[-1] < losses[0]
    # AdaBN: the running statistics now describe the photos seen, not ImageNet
    assert not torch.equal(net.state_dict()["_bn1.running_mean"], before["_bn1.running_mean"])

    file = tmp_path / "tail.pt"
    save_tail(file, "efficientnet-lite0", 15, state, record)
    other = fresh_net()
    assert load_tail(other, file, "efficientnet-lite0") == 15
    np.testing.assert_allclose(tail_features(other, 15, acts), tail_features(net, 15, acts), atol=1e-5)


def test_load_tail_refuses_wrong_files(tmp_path: Path) -> None:
    net = fresh_net()
    with pytest.raises(ConfigError, match="does not exist"):
        load_tail(net, tmp_path / "missing.pt", "efficientnet-lite0")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="not a shopfuse tuned-backbone"):
        load_tail(net, tmp_path / "other.pt", "efficientnet-lite0")
    state = {k: v for k, v in net.state_dict().items() if k.startswith("_conv_head.")}
    save_tail(tmp_path / "tail.pt", "efficientnet-lite1", 16, state, {})
    with pytest.raises(ConfigError, match="efficientnet-lite1"):
        load_tail(net, tmp_path / "tail.pt", "efficientnet-lite0")


def test_tuning_rejects_too_few_pairs() -> None:
    net = fresh_net()
    with pytest.raises(ConfigError, match="at least 50"):
        tune_tail(net, 16, np.zeros((10, 320, 7, 7), np.float16), np.zeros((10, 8), np.float32), {})
    with pytest.raises(ConfigError, match="cut"):
        TunedTail(net, 99)
