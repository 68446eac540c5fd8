"""Audio decoding: 16 kHz mono from sound files and video soundtracks, bounded, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopfuse.errors import MediaError
from shopfuse.media.audio import SAMPLE_RATE, read_audio
from shopfuse.media.compose import Shot, compose_video, music


def test_real_speech_clip(shared_data: Path) -> None:
    sound = read_audio(shared_data / "speech" / "test" / "kopi-test.wav")
    assert sound is not None
    assert 1.0 < sound.seconds < 10.0
    assert sound.samples.dtype == np.float32
    assert 0.01 < float(np.abs(sound.samples).max()) <= 1.0


def test_soundtrack_of_a_video_and_a_silent_video(fashion_csv: Path, tmp_path: Path) -> None:
    photo = str(fashion_csv.parent / "images" / "10000.jpg")
    compose_video([Shot(photo, 2.0)], tmp_path / "loud.mp4", sound=music(2.0))
    compose_video([Shot(photo, 2.0)], tmp_path / "quiet.mp4")
    loud = read_audio(tmp_path / "loud.mp4")
    assert loud is not None and loud.seconds == pytest.approx(2.0, abs=0.1)
    assert read_audio(tmp_path / "quiet.mp4", required=False) is None
    with pytest.raises(MediaError, match="no audio stream"):
        read_audio(tmp_path / "quiet.mp4")


def test_long_audio_is_cut_with_a_warning(shared_data: Path) -> None:
    sound = read_audio(shared_data / "speech" / "test" / "kopi-test.wav", max_seconds=0.5)
    assert sound is not None
    assert len(sound.samples) == SAMPLE_RATE // 2
    assert sound.warnings


def test_unreadable_audio(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + b"\x00" * 100)
    with pytest.raises(MediaError, match=r"bad\.wav"):
        read_audio(bad)
