"""A trained shop model: alignment + fusion + attribute heads, saved as one self-describing folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydantic import Field

from shopfuse import alignment as _alignment  # noqa: F401  (registers the aligners)
from shopfuse import fusion as _fusion  # noqa: F401  (registers the fusion strategies)
from shopfuse.alignment.base import Aligner
from shopfuse.config import ComponentSpec, SavableConfig
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import ConfigError, EncoderMismatchError
from shopfuse.fusion.base import Fusion, FusionOutput
from shopfuse.model.attributes import AttributeHeads
from shopfuse.registry import registry
from shopfuse.types import Modality

__all__ = ["MODEL_FILE", "ModelConfig", "ShopModel"]

MODEL_FILE = "model.json"
FORMAT_VERSION = 1
TEXT_SIDE = (Modality.TEXT.value, Modality.OCR.value)
"""Modalities whose raw vectors come from the text encoder, so the aligner's text side maps them."""


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


class ShopModel:
    """Maps a product's raw modality vectors into the learned joint space and fuses them."""

    def __init__(
        self, config: ModelConfig, aligner: Aligner, fusion: Fusion, heads: AttributeHeads | None = None
    ) -> None:
        self.config = config
        self.aligner = aligner
        self.fusion = fusion
        self.heads = heads

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
                embed = self.aligner.embed_text if name in TEXT_SIDE else self.aligner.embed_image
                rows[mask] = embed(raw[name][mask])
            joint[name] = rows
        return joint

    def fuse(self, raw: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> FusionOutput:
        """Fused product vectors and per-modality contributions."""
        return self.fusion.fuse(self.joint_modalities(raw, masks), masks)

    def embed_query(self, text_vectors: np.ndarray) -> np.ndarray:
        """Text-encoder query vectors into the joint space."""
        return l2_normalize(self.aligner.embed_text(text_vectors))

    def save(self, folder: str | Path) -> None:
        """Write the model folder: ``model.json`` plus one sub-folder per part."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        self.aligner.save(root / "alignment")
        self.fusion.save(root / "fusion")
        if self.heads is not None:
            self.heads.save(root / "attributes")
        self.config.save(root / MODEL_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> ShopModel:
        """Read a model folder written by :meth:`save`."""
        root = Path(folder)
        if not (root / MODEL_FILE).is_file():
            raise ConfigError(f"{root} is not a shopfuse model folder (no {MODEL_FILE}); train one first")
        config = ModelConfig.load(root / MODEL_FILE)
        if config.format_version > FORMAT_VERSION:
            raise ConfigError(f"{root}: model format {config.format_version} is newer than this shopfuse")
        aligner_cls = cast(type[Aligner], registry.get("alignment", config.alignment.name))
        fusion_cls = cast(type[Fusion], registry.get("fusion", config.fusion.name))
        aligner, fusion = aligner_cls.load(root / "alignment"), fusion_cls.load(root / "fusion")
        heads = AttributeHeads.load(root / "attributes") if (root / "attributes").is_dir() else None
        return cls(config, aligner, fusion, heads)

    def describe(self) -> str:
        """One line for people."""
        return (
            f"model {self.config.model_id}: {self.config.alignment.name} alignment, "
            f"{self.config.fusion.name} fusion, {self.config.joint_dim}-d, labels "
            f"{', '.join(self.config.labels) or '-'}; trained on "
            f"{json.dumps(self.config.trained_on.get('products', '?'))} products"
        )
