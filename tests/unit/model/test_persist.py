"""One save/load convention (component.json + arrays/weights, a model manifest); old folders load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shopfuse.alignment.contrastive import ContrastiveAligner
from shopfuse.alignment.ridge import RidgeAligner
from shopfuse.config import ComponentSpec
from shopfuse.encoders.base import l2_normalize
from shopfuse.errors import ConfigError
from shopfuse.fusion.late import LateFusion
from shopfuse.model.attributes import AttributeHeads
from shopfuse.model.shop_model import ModelConfig, ShopModel
from shopfuse.persist import (
    COMPONENT_FILE,
    MANIFEST_FILE,
    ComponentError,
    load_config,
    read_component,
    save_component,
)
from shopfuse.registry import registry


def small_model() -> tuple[ShopModel, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A tiny trained model (contrastive towers, gated fusion, both head sets) and its raw inputs."""
    rng = np.random.default_rng(0)
    image, text = l2_normalize(rng.normal(size=(80, 12))), l2_normalize(rng.normal(size=(80, 8)))
    aligner = ContrastiveAligner(hidden=16, epochs=2, batch_size=32).fit(image, text, seed=0)
    joint = {"image": aligner.embed_image(image), "text": aligner.embed_text(text)}
    masks = {name: np.ones(80, dtype=bool) for name in joint}
    fusion = registry.create("fusion", "gated", hidden=8, training={"epochs": 1}).fit(
        joint, masks, joint["text"], seed=0
    )
    labels = {"type": ["shirt" if i % 2 else "shoe" for i in range(80)]}
    fused = fusion.fuse(joint, masks).vectors
    heads = AttributeHeads(hidden=8, epochs=2).fit(fused, labels, seed=0)
    image_heads = AttributeHeads(hidden=8, epochs=2).fit(image, labels, seed=0)
    config = ModelConfig(
        model_id="tiny",
        text_encoder=ComponentSpec(name="use"),
        image_encoder=None,
        encoders={},
        alignment=ComponentSpec(name="contrastive"),
        fusion=ComponentSpec(name="gated"),
        modalities=["image", "text"],
        joint_dim=aligner.joint_dim,
        labels=["type"],
    )
    model = ShopModel(config, aligner, fusion, heads, image_heads=image_heads)
    return model, {"image": image, "text": text}, joint


def to_old_layout(root: Path) -> None:
    """Rewrite a model folder as the code before ``component.json`` wrote it (byte layout and names)."""
    (root / MANIFEST_FILE).unlink()
    for part in ("alignment", "fusion", "attributes", "image_attributes"):
        folder = root / part
        kind, type_name, config = read_component(folder)
        (folder / COMPONENT_FILE).unlink()
        if kind == "alignment":
            old = {"name": type_name, "params": config}
            (folder / "aligner.json").write_text(json.dumps(old, indent=2) + "\n", encoding="utf-8")
            (folder / "state.pt").rename(folder / "towers.pt")
        elif kind == "fusion":
            old = {"name": type_name, **config}
            (folder / "params.json").write_text(json.dumps(old, indent=2) + "\n", encoding="utf-8")
        else:
            text = json.dumps(config, ensure_ascii=False, indent=2)
            (folder / "heads.json").write_text(text, encoding="utf-8")
            (folder / "state.pt").rename(folder / "heads.pt")


def assert_same(a: ShopModel, b: ShopModel, raw: dict[str, np.ndarray], joint: dict[str, np.ndarray]) -> None:
    masks = {name: np.ones(len(v), dtype=bool) for name, v in joint.items()}
    np.testing.assert_array_equal(a.aligner.embed_image(raw["image"]), b.aligner.embed_image(raw["image"]))
    np.testing.assert_array_equal(a.aligner.embed_text(raw["text"]), b.aligner.embed_text(raw["text"]))
    fused = a.fusion.fuse(joint, masks).vectors
    np.testing.assert_array_equal(fused, b.fusion.fuse(joint, masks).vectors)
    assert a.heads is not None and b.heads is not None
    np.testing.assert_array_equal(a.heads.predict_proba(fused)["type"], b.heads.predict_proba(fused)["type"])
    assert a.image_heads is not None and b.image_heads is not None
    np.testing.assert_array_equal(
        a.image_heads.predict_proba(raw["image"])["type"], b.image_heads.predict_proba(raw["image"])["type"]
    )


def test_model_folder_lists_its_parts_and_round_trips(tmp_path: Path) -> None:
    model, raw, joint = small_model()
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert [(p["name"], p["kind"], p["type"]) for p in manifest["components"]] == [
        ("alignment", "alignment", "contrastive"),
        ("fusion", "fusion", "gated"),
        ("attributes", "attributes", "heads"),
        ("image_attributes", "attributes", "heads"),
    ]
    for part in ("alignment", "fusion", "attributes", "image_attributes"):
        assert (tmp_path / "m" / part / COMPONENT_FILE).is_file()
        assert (tmp_path / "m" / part / "state.pt").is_file()
    assert_same(model, ShopModel.load(tmp_path / "m"), raw, joint)


def test_model_folder_in_the_old_layout_still_loads(tmp_path: Path) -> None:
    model, raw, joint = small_model()
    model.save(tmp_path / "m")
    to_old_layout(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m" / "alignment").iterdir()) == ["aligner.json", "towers.pt"]
    assert sorted(p.name for p in (tmp_path / "m" / "attributes").iterdir()) == ["heads.json", "heads.pt"]
    assert sorted(p.name for p in (tmp_path / "m" / "fusion").iterdir()) == ["params.json", "state.pt"]
    assert_same(model, ShopModel.load(tmp_path / "m"), raw, joint)
    # saving it again writes the new convention
    ShopModel.load(tmp_path / "m").save(tmp_path / "again")
    assert (tmp_path / "again" / MANIFEST_FILE).is_file()
    assert_same(model, ShopModel.load(tmp_path / "again"), raw, joint)


def test_manifest_decides_the_parts_not_leftover_folders(tmp_path: Path) -> None:
    model, _, _ = small_model()
    model.save(tmp_path / "m")
    model.image_heads = None
    model.save(tmp_path / "m")  # image_attributes/ stays on disk, but is no part any more
    assert (tmp_path / "m" / "image_attributes").is_dir()
    assert ShopModel.load(tmp_path / "m").image_heads is None
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    manifest["components"] = [p for p in manifest["components"] if p["name"] != "alignment"]
    (tmp_path / "m" / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ComponentError, match="lists no alignment"):
        ShopModel.load(tmp_path / "m")


def test_old_aligner_and_fusion_folders_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    image, text = l2_normalize(rng.normal(size=(40, 6))), l2_normalize(rng.normal(size=(40, 6)))
    ridge = RidgeAligner().fit(image, text)
    ridge.save(tmp_path / "ridge")
    _, _, config = read_component(tmp_path / "ridge")
    (tmp_path / "ridge" / COMPONENT_FILE).unlink()
    old = {"name": "ridge", "params": config}
    (tmp_path / "ridge" / "aligner.json").write_text(json.dumps(old), encoding="utf-8")
    np.testing.assert_array_equal(
        RidgeAligner.load(tmp_path / "ridge").embed_image(image), ridge.embed_image(image)
    )
    with pytest.raises(ConfigError, match="ridge"):
        ContrastiveAligner.load(tmp_path / "ridge")
    late = LateFusion(weights={"image": 0.3, "text": 0.7})
    late.save(tmp_path / "late")
    _, _, config = read_component(tmp_path / "late")
    (tmp_path / "late" / COMPONENT_FILE).unlink()
    (tmp_path / "late" / "params.json").write_text(json.dumps({"name": "late", **config}), encoding="utf-8")
    assert LateFusion.load(tmp_path / "late").weights == {"image": 0.3, "text": 0.7}


def test_one_error_type_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match=str(tmp_path / "none")) as missing:
        load_config(tmp_path / "none", "fusion", "gated")
    assert missing.value.folder == tmp_path / "none"
    save_component(tmp_path / "c", "fusion", "gated", {"dim": 3})
    with pytest.raises(ComponentError, match="holds fusion 'gated', not alignment 'ridge'"):
        load_config(tmp_path / "c", "alignment", "ridge")
    with pytest.raises(ComponentError, match="holds fusion"):
        RidgeAligner.load(tmp_path / "c")
    save_component(tmp_path / "r", "alignment", "ridge", {})
    with pytest.raises(ComponentError, match=r"missing state\.npz"):
        RidgeAligner.load(tmp_path / "r")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / COMPONENT_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(ComponentError, match="unreadable"):
        read_component(tmp_path / "bad")
