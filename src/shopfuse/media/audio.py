"""Audio decoding only: a file's sound (or a video's soundtrack) as 16 kHz mono float32, bounded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.errors import MediaError

__all__ = ["SAMPLE_RATE", "Sound", "decode_reason", "read_audio"]

SAMPLE_RATE = 16_000
"""What every audio model here reads: Whisper, Silero VAD and YAMNet all take 16 kHz mono."""


@dataclass(slots=True)
class Sound:
    """Decoded samples in [-1, 1] at :data:`SAMPLE_RATE`, and what was cut."""

    path: str
    samples: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Length of the decoded sound."""
        return len(self.samples) / SAMPLE_RATE


def read_audio(path: str | Path, *, max_seconds: float = 600.0, required: bool = True) -> Sound | None:
    """The first audio stream of ``path`` (an audio file or a video), resampled to 16 kHz mono.

    At most ``max_seconds`` are decoded (a warning says so). A file without an audio stream is a
    :class:`MediaError` when ``required``, else ``None`` (a silent product video is normal).
    """
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the extra is part of the test environment
        raise MediaError("audio", "PyAV is needed: pip install 'shopfuse[video]'") from exc
    name = str(path)
    try:
        container = av.open(name)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(
            name,
            f"not a readable audio or video file ({getattr(exc, 'strerror', None) or type(exc).__name__})",
        ) from exc
    with container:
        if not container.streams.audio:
            if required:
                raise MediaError(name, "the file has no audio stream")
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total, limit, warnings = 0, int(max_seconds * SAMPLE_RATE), []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = _mono(out)
                    chunks.append(chunk)
                    total += len(chunk)
                if total >= limit:
                    warnings.append(f"audio cut at {max_seconds:g}s")
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(_mono(out))
        except av.FFmpegError as exc:
            if not chunks:
                raise MediaError(
                    name,
                    f"the audio cannot be decoded ({getattr(exc, 'strerror', None) or type(exc).__name__})",
                ) from exc
            warnings.append(f"audio damaged after {total / SAMPLE_RATE:.1f}s; kept what was read")
    samples = np.concatenate(chunks)[:limit] if chunks else np.zeros(0, dtype=np.float32)
    return Sound(name, np.clip(samples.astype(np.float32, copy=False), -1.0, 1.0), warnings)


def decode_reason(exc: BaseException) -> str:
    """What PyAV/FFmpeg said went wrong, without the path (the error names the file already)."""
    return str(getattr(exc, "strerror", None) or type(exc).__name__)


def _mono(frame: Any) -> np.ndarray:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)
