"""A real CLIP backend for users who have image-text weights in a local folder.

No CLIP weights can be downloaded here, so this backend never fetches anything: it loads a
Hugging Face ``transformers`` CLIP checkpoint (``config.json``, weights, tokenizer and image
processor files, as written by ``save_pretrained``) from ``path``. Text and images land in one
space, so a text query also searches the stored photos.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.encoders._deps import package_version, require
from shopfuse.encoders.base import EncoderInfo, as_texts, l2_normalize
from shopfuse.errors import ConfigError
from shopfuse.optional import LazyModels
from shopfuse.registry import registry
from shopfuse.types import TextRole

__all__ = ["ClipEncoder"]


class ClipEncoder(LazyModels):
    """CLIP text and image towers loaded offline from a local ``transformers`` checkpoint."""

    def __init__(self, path: str, batch_size: int = 32, device: str = "cpu") -> None:
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"CLIP folder {folder} has no config.json; save a transformers CLIPModel there "
                "with save_pretrained (weights are never downloaded)"
            )
        self.path = folder.resolve()
        self.batch_size = batch_size
        self.device = device

    @cached_property
    def _parts(self) -> tuple[Any, Any, Any]:
        transformers = require("transformers", "transformers", "clip", "the CLIP backend")
        require("torch", "torch", "clip", "the CLIP backend")
        local = {"local_files_only": True}
        model = transformers.CLIPModel.from_pretrained(str(self.path), **local).eval().to(self.device)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.path), **local)
        processor = transformers.CLIPImageProcessor.from_pretrained(str(self.path), **local)
        return model, tokenizer, processor

    @cached_property
    def _fingerprint(self) -> str:
        """Digest of the checkpoint's config and the start of each weights file."""
        digest = hashlib.sha256((self.path / "config.json").read_bytes())
        for weights in sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin")):
            with weights.open("rb") as handle:
                digest.update(handle.read(1 << 20))
            digest.update(str(weights.stat().st_size).encode())
        return digest.hexdigest()[:16]

    @cached_property
    def dim(self) -> int:
        """Projection width of the joint space."""
        import json

        config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        return int(config.get("projection_dim", 512))

    def _info(self) -> EncoderInfo:
        version = package_version("transformers")
        return EncoderInfo("clip", f"{version}+{self._fingerprint}", self.dim, f"clip:{self._fingerprint}")

    @property
    def text_info(self) -> EncoderInfo:
        """Identity of the text vectors (same space as the image vectors)."""
        return self._info()

    @property
    def image_info(self) -> EncoderInfo:
        """Identity of the image vectors (same space as the text vectors)."""
        return self._info()

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        """CLIP text embeddings; CLIP is symmetric in ``role``."""
        import torch

        items = as_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, tokenizer, _ = self._parts
        out = []
        for start in range(0, len(items), self.batch_size):
            batch = tokenizer(
                items[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=model.config.text_config.max_position_embeddings,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                out.append(_tensor(model.get_text_features(**batch)))
        return l2_normalize(np.concatenate(out))

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """CLIP image embeddings."""
        import torch

        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, _, processor = self._parts
        out = []
        for start in range(0, len(images), self.batch_size):
            chunk = [im.convert("RGB") for im in images[start : start + self.batch_size]]
            pixels = processor(images=chunk, return_tensors="pt")["pixel_values"].to(self.device)
            with torch.inference_mode():
                out.append(_tensor(model.get_image_features(pixel_values=pixels)))
        return l2_normalize(np.concatenate(out))


def _tensor(output: Any) -> np.ndarray:
    """Features as NumPy whether transformers returned a tensor or a model output."""
    if hasattr(output, "pooler_output") and not hasattr(output, "numpy"):
        output = output.pooler_output
    return output.detach().cpu().float().numpy()


registry.register("text_encoder", "clip")(ClipEncoder)
registry.register("image_encoder", "clip")(ClipEncoder)
