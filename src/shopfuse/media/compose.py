"""Composing short product videos from photos: shots with pans and cuts, and a soundtrack.

Used to build reproducible test sets and demos where real product videos are scarce: every clip
made here is *constructed* from catalogue photos and says so in its metadata (``comment``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from shopfuse.errors import MediaError
from shopfuse.media.audio import SAMPLE_RATE, read_audio

__all__ = ["Shot", "compose_video", "music", "speak"]


@dataclass(frozen=True, slots=True)
class Shot:
    """One photo shown for ``seconds``; ``pan`` moves a zoomed crop across it (else it is still)."""

    photo: str
    seconds: float
    pan: bool = False


def _frame(photo: Image.Image, size: tuple[int, int], progress: float, pan: bool) -> np.ndarray:
    width, height = size
    if not pan:
        canvas = Image.new("RGB", size, (255, 255, 255))
        shown = photo.copy()
        shown.thumbnail(size)
        canvas.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2))
        return np.asarray(canvas)
    # a 1.4x zoom whose window slides from the top-left to the bottom-right of the photo
    zoom = 1.4
    scale = max(width / photo.width, height / photo.height) * zoom
    big = photo.resize((max(width, round(photo.width * scale)), max(height, round(photo.height * scale))))
    x = round((big.width - width) * progress)
    y = round((big.height - height) * progress)
    return np.asarray(big.crop((x, y, x + width, y + height)))


def speak(text: str, *, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """``text`` read by espeak-ng, as 16 kHz mono samples (clear error when espeak-ng is missing)."""
    if shutil.which("espeak-ng") is None:
        raise MediaError("espeak-ng", "narration needs espeak-ng (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        sound = read_audio(wav)
    assert sound is not None
    return sound.samples


def music(seconds: float, *, seed: int = 0) -> np.ndarray:
    """A synthetic tune (plucked notes of a pentatonic melody over a kick drum), 16 kHz mono."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    out = np.zeros(n, dtype=np.float32)
    scale = [261.6, 293.7, 329.6, 392.0, 440.0, 523.3]
    beat = int(0.25 * SAMPLE_RATE)
    t = np.arange(beat) / SAMPLE_RATE
    envelope = np.exp(-6 * t)
    for start in range(0, n - beat, beat):
        tone = scale[rng.integers(len(scale))]
        note = sum(np.sin(2 * np.pi * tone * k * t) / k for k in (1, 2, 3)) * envelope * 0.25
        out[start : start + beat] += note.astype(np.float32)
        if (start // beat) % 2 == 0:
            kick = np.sin(2 * np.pi * 60 * t * (1 - 0.5 * t)) * np.exp(-20 * t) * 0.5
            out[start : start + beat] += kick.astype(np.float32)
    return np.clip(out, -1, 1)


def compose_video(
    shots: Sequence[Shot],
    out: str | Path,
    *,
    size: tuple[int, int] = (480, 640),
    fps: int = 12,
    sound: np.ndarray | None = None,
) -> float:
    """Write an H.264 MP4 of ``shots`` (with ``sound`` as AAC when given); returns its duration."""
    import av

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    duration = sum(s.seconds for s in shots)
    with av.open(str(target), "w") as container:
        container.metadata["comment"] = "constructed by shopfuse.media.compose from catalogue photos"
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "veryfast", "crf": "28"}
        audio = None
        if sound is not None:
            audio = container.add_stream("aac", rate=SAMPLE_RATE)
            audio.layout = "mono"
        for shot in shots:
            with Image.open(shot.photo) as opened:
                photo = opened.convert("RGB")
            frames = max(1, round(shot.seconds * fps))
            for i in range(frames):
                array = _frame(photo, size, i / max(frames - 1, 1), shot.pan)
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                for packet in video.encode(frame):
                    container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None and sound is not None:
            samples = np.zeros(int(duration * SAMPLE_RATE), dtype=np.float32)
            clip = np.asarray(sound, dtype=np.float32)[: len(samples)]
            samples[: len(clip)] = clip
            step = 1024
            for start in range(0, len(samples), step):
                chunk = samples[start : start + step][None, :]
                piece = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                piece.sample_rate = SAMPLE_RATE
                piece.pts = start
                for packet in audio.encode(piece):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return duration
