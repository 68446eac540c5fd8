"""A trained shop model: alignment + fusion + attribute heads, saved as one self-describing folder.

The folder: ``model.json`` (the :class:`ModelConfig`), ``components.json`` (the manifest: each
part's name, sub-folder, kind and type, see :mod:`shopfuse.persist`), one sub-folder per part,
``image_shift.npz`` after ``shopfuse adapt`` and ``backbone/tail.pt`` with a tuned backbone.
Folders written before the manifest (fixed sub-folders ``alignment``, ``fusion``, ``attributes``,
``image_attributes``, types from ``model.json``) still load.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopfuse import alignment as _alignment  # noqa: F401  (registers the aligners)
from shopfuse import fusion as _fusion  # noqa: F401  (registers the fusion strategies)
from shopfuse.alignment.base import Aligner
from shopfuse.config import ComponentSpec, SavableConfig
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import ConfigError, EncoderMismatchError
from shopfuse.fusion.base import Fusion, FusionOutput
from shopfuse.modalities.base import modality_spec
from shopfuse.model.attributes import KIND, TYPE, AttributeHeads
from shopfuse.persist import ComponentError, Part, read_manifest, save_part, write_manifest
from shopfuse.registry import registry

__all__ = ["MODEL_FILE", "TAIL_FILE", "ModelConfig", "RankingSettings", "ShopModel"]

MODEL_FILE = "model.json"
SHIFT_FILE = "image_shift.npz"
TAIL_FILE = "backbone/tail.pt"
"""The tuned top of the image backbone inside a model folder (``shopfuse train --tune-backbone``)."""
FORMAT_VERSION = 1
HEADS = ("attributes", "image_attributes")
"""The optional parts: attribute heads over fused vectors and over raw photo features."""


def tower_of(modality: str) -> str:
    """The aligner side that maps ``modality`` (declared by its :class:`ModalitySpec`)."""
    tower = modality_spec(modality).tower
    if tower is None:
        raise ConfigError(f"modality {modality!r} declares no tower, so it cannot be fused")
    return tower


class RankingSettings(BaseModel):
    """How text search ranks with the model: learned-space score + attribute agreement."""

    model_config = ConfigDict(extra="forbid")

    understand_queries: bool = True
    """Read attribute values out of queries ("black trousers" = colour + type) and rank by them."""
    attribute_weight: float = 0.5
    """Weight of the attribute term, sum over constraints of log(floor + P(value | product))."""
    floor: float = 0.02
    """Probability floor inside the log, so one wrong prediction cannot sink a product."""
    threshold: float = 0.6
    """Cosine a query phrase needs to an attribute value to become a constraint."""
    glossary: bool = True
    """Give attribute values the other-language words of the built-in glossary (queries in other languages).

    Off: a query phrase reaches a value only through the shop's own value names, exactly or by
    multilingual encoder similarity, and no narrower kinds are known. Read at query time.
    """
    narrower_weight: float = 0.5
    """Share of a value's weight its narrower kinds get (glossary: "Jeans" under "Trousers"); 0: off."""
    rewrite_weight: float = 0.5
    """Share of the query vector taken from the rewrite in catalogue words (language parity)."""
    image_head_weight: float = 0.5
    """Share of attribute probabilities from the photo heads (the rest from the fused heads)."""


class ModelConfig(SavableConfig):
    """What a model folder holds and what it expects: encoders, methods, labels, training record."""

    format_version: int = FORMAT_VERSION
    model_id: str
    text_encoder: ComponentSpec
    image_encoder: ComponentSpec | None
    encoders: dict[str, dict[str, Any]]
    """The raw vector columns the model was trained on, with their :class:`EncoderInfo`."""
    alignment: ComponentSpec
    fusion: ComponentSpec
    modalities: list[str]
    joint_dim: int
    labels: list[str] = Field(default_factory=list)
    seed: int = 0
    trained_on: dict[str, Any] = Field(default_factory=dict)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    adapted_to: dict[str, Any] | None = None
    """Set by ``shopfuse adapt``: the shop whose photo statistics the image side was shifted to."""


class ShopModel:
    """Maps a product's raw modality vectors into the learned joint space and fuses them."""

    def __init__(
        self,
        config: ModelConfig,
        aligner: Aligner,
        fusion: Fusion,
        heads: AttributeHeads | None = None,
        *,
        image_heads: AttributeHeads | None = None,
        image_shift: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.config = config
        self.aligner = aligner
        self.fusion = fusion
        self.heads = heads
        self.image_heads = image_heads
        """Attribute heads over the raw photo features (no alignment in between): image-only items."""
        self.image_shift = image_shift or {}
        """``source`` mean photo feature of the training shop, ``target`` that of the shop adapted to."""

    def adapt_image(self, vectors: np.ndarray) -> np.ndarray:
        """Per-shop feature normalisation: move a shop's photo features onto the training shop's mean.

        Identity until ``shopfuse adapt`` has measured the target shop's photos.
        """
        source, target = self.image_shift.get("source"), self.image_shift.get("target")
        if source is None or target is None or len(vectors) == 0:
            return vectors
        return l2_normalize(np.asarray(vectors, dtype=np.float32) - target + source)

    @property
    def joint_info(self) -> EncoderInfo:
        """Identity of every vector this model produces (products and queries share the space)."""
        return EncoderInfo(
            "shopfuse-model",
            self.config.model_id,
            self.config.joint_dim,
            f"model:{self.config.model_id}",
        )

    def check_encoders(self, columns: dict[str, EncoderInfo]) -> None:
        """Refuse raw vectors from other encoders than the ones the model was trained on."""
        for column, expected in self.config.encoders.items():
            wanted = EncoderInfo.from_dict(expected)
            got = columns.get(column)
            if got is not None and got != wanted:
                raise EncoderMismatchError(
                    f"model {self.config.model_id} was trained on {column!r} vectors from "
                    f"{wanted.describe()}, but these come from {got.describe()}"
                )

    def input_dims(self) -> dict[str, int]:
        """``{modality: raw vector width}`` the model takes."""
        return {m: int(self.config.encoders[m]["dim"]) for m in self.config.modalities}

    def joint_modalities(
        self, raw: dict[str, np.ndarray], masks: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Each raw modality mapped into the joint space; rows a product lacks stay zero."""
        joint = {}
        for name in self.config.modalities:
            mask = masks[name]
            rows = np.zeros((len(mask), self.config.joint_dim), dtype=np.float32)
            if mask.any():
                rows[mask] = self.embed_tower(tower_of(name), raw[name][mask])
            joint[name] = rows
        return joint

    def embed_tower(self, tower: str, vectors: np.ndarray) -> np.ndarray:
        """Raw vectors of one side of the aligner (``text`` or ``image``) in the joint space."""
        if tower == "text":
            return self.aligner.embed_text(vectors)
        if tower == "image":
            return self.aligner.embed_image(self.adapt_image(vectors))
        raise ConfigError(f"the shop model has no {tower!r} tower (it maps text and image)")

    def fuse(self, raw: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> FusionOutput:
        """Fused product vectors and per-modality contributions."""
        return self.fusion.fuse(self.joint_modalities(raw, masks), masks)

    def embed_query(self, text_vectors: np.ndarray) -> np.ndarray:
        """Text-encoder query vectors into the joint space."""
        return l2_normalize(self.aligner.embed_text(text_vectors))

    def save(self, folder: str | Path) -> None:
        """Write the model folder: ``model.json``, the ``components.json`` manifest, a sub-folder per part."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        parts: dict[str, Any] = {
            "alignment": self.aligner,
            "fusion": self.fusion,
            "attributes": self.heads,
            "image_attributes": self.image_heads,
        }
        write_manifest(
            root, [save_part(root, name, part) for name, part in parts.items() if part is not None]
        )
        if self.image_shift:
            np.savez(str(root / SHIFT_FILE), **self.image_shift)  # type: ignore[arg-type]
        config = self.config.model_copy(deep=True)
        tail = _tail_file(config)
        if tail is not None:
            # the tuned backbone travels with the folder: copy it in, store the path relative
            target = root / TAIL_FILE
            if Path(tail).resolve() != target.resolve():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tail, target)
            assert config.image_encoder is not None
            config.image_encoder.params["tail"] = TAIL_FILE
        config.save(root / MODEL_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> ShopModel:
        """Read a model folder written by :meth:`save`."""
        root = Path(folder)
        if not (root / MODEL_FILE).is_file():
            raise ConfigError(f"{root} is not a shopfuse model folder (no {MODEL_FILE}); train one first")
        config = ModelConfig.load(root / MODEL_FILE)
        if _tail_file(config) is not None:
            assert config.image_encoder is not None
            config.image_encoder.params["tail"] = str((root / config.image_encoder.params["tail"]).resolve())
        if config.format_version > FORMAT_VERSION:
            raise ConfigError(f"{root}: model format {config.format_version} is newer than this shopfuse")
        parts = read_manifest(root) or _old_layout(root, config)
        for name in ("alignment", "fusion"):
            if name not in parts:
                raise ComponentError(root, f"the model's components.json lists no {name}")
        loaded = {name: _component_class(root, part).load(root / part.folder) for name, part in parts.items()}
        aligner, fusion = cast(Aligner, loaded["alignment"]), cast(Fusion, loaded["fusion"])
        heads, image_heads = (cast(AttributeHeads | None, loaded.get(name)) for name in HEADS)
        shift: dict[str, np.ndarray] = {}
        if (root / SHIFT_FILE).is_file():
            with np.load(root / SHIFT_FILE) as saved:
                shift = {k: saved[k].astype(np.float32) for k in saved.files}
        return cls(config, aligner, fusion, heads, image_heads=image_heads, image_shift=shift)

    def attribute_probabilities(
        self, fused: np.ndarray, image: np.ndarray | None = None, has_image: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """``{label: (n, classes)}`` from the fused heads, blended with the photo heads where a photo exists.

        Both head sets share the label classes (they are trained on the same rows).
        """
        if self.heads is None:
            return {}
        probabilities = self.heads.predict_proba(fused)
        if self.image_heads is None or image is None or has_image is None or not has_image.any():
            return probabilities
        share = self.config.ranking.image_head_weight
        photo = self.image_heads.predict_proba(self.adapt_image(image[has_image]))
        for label, proba in probabilities.items():
            if label not in photo:
                continue
            column = {c: j for j, c in enumerate(self.image_heads.classes_[label])}
            mapped = np.zeros((int(has_image.sum()), proba.shape[1]), dtype=np.float32)
            for j, value in enumerate(self.heads.classes_[label]):
                if value in column:
                    mapped[:, j] = photo[label][:, column[value]]
            proba[has_image] = (1 - share) * proba[has_image] + share * mapped
        return probabilities

    def describe(self) -> str:
        """One line for people."""
        return (
            f"model {self.config.model_id}: {self.config.alignment.name} alignment, "
            f"{self.config.fusion.name} fusion, {self.config.joint_dim}-d, labels "
            f"{', '.join(self.config.labels) or '-'}; trained on "
            f"{json.dumps(self.config.trained_on.get('products', '?'))} products"
        )


def _old_layout(root: Path, config: ModelConfig) -> dict[str, Part]:
    """The parts of a folder saved before ``components.json``: fixed sub-folders, types in ``model.json``."""
    parts = {
        "alignment": Part("alignment", "alignment", "alignment", config.alignment.name),
        "fusion": Part("fusion", "fusion", "fusion", config.fusion.name),
    }
    for name in HEADS:
        if (root / name).is_dir():
            parts[name] = Part(name, name, KIND, TYPE)
    return parts


def _component_class(root: Path, part: Part) -> Any:
    """The class that loads ``part``: the attribute heads, or the registered aligner / fusion."""
    if part.kind == KIND:
        if part.type != TYPE:
            raise ComponentError(root, f"unknown {KIND} type {part.type!r} for {part.name!r}")
        return AttributeHeads
    if part.kind not in ("alignment", "fusion"):
        raise ComponentError(root, f"unknown component kind {part.kind!r} for {part.name!r}")
    return registry.get(part.kind, part.type)


def _tail_file(config: ModelConfig) -> str | None:
    """The tuned-backbone file the model's image encoder names, if any."""
    if config.image_encoder is None:
        return None
    tail = config.image_encoder.params.get("tail")
    return str(tail) if tail else None
