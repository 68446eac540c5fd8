"""Video decoding: shots where the cuts are, motion where the camera pans, bounded cost, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfuse.errors import MediaError
from shopfuse.media.compose import Shot, compose_video
from shopfuse.media.video import VideoSettings, read_video


@pytest.fixture(scope="module")
def photos(fashion_csv: Path) -> list[str]:
    """Four real catalogue photos of different products."""
    folder = fashion_csv.parent / "images"
    return [str(folder / f"{i}.jpg") for i in (10000, 10035, 10098, 10196)]


@pytest.fixture(scope="module")
def clip(photos: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three shots: still 3 s, a 4 s pan, still 3 s."""
    out = tmp_path_factory.mktemp("video") / "clip.mp4"
    compose_video([Shot(photos[0], 3), Shot(photos[1], 4, pan=True), Shot(photos[2], 3)], out)
    return out


def test_cuts_become_segments_at_the_right_times(clip: Path) -> None:
    summary = read_video(clip)
    assert summary.duration == pytest.approx(10.0, abs=0.2)
    bounds = [(round(s.start), round(s.end)) for s in summary.segments]
    assert bounds == [(0, 3), (3, 7), (7, 10)]
    assert [s.label() for s in summary.segments][1] == "00:03-00:07"
    assert not summary.has_audio


def test_motion_is_high_in_a_pan_and_near_zero_in_a_still_shot(clip: Path) -> None:
    still, pan, _ = read_video(clip).segments
    assert still.motion < 0.5
    assert pan.motion > 5 * max(still.motion, 0.1)


def test_long_shots_are_split(clip: Path) -> None:
    summary = read_video(clip, VideoSettings(max_segment_seconds=2.0))
    assert all(s.end - s.start <= 2.0 + 1e-6 for s in summary.segments)
    assert len(summary.segments) >= 5


def test_frame_cap_and_seek_sampling_bound_the_work(clip: Path) -> None:
    summary = read_video(clip, VideoSettings(max_frames=4, max_decode_seconds=1.0))
    assert any("seeking" in w for w in summary.warnings)
    assert len(summary.segments) <= 4


def test_time_budget_keeps_what_was_read(clip: Path) -> None:
    summary = read_video(clip, VideoSettings(time_budget=1e-9))
    assert any("time budget" in w for w in summary.warnings)
    assert summary.segments


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "not a readable video"), (b"\x00" * 4096, "not a readable video")],
)
def test_corrupt_files_are_clear_errors(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(MediaError, match=reason):
        read_video(bad)


def test_truncated_video_is_an_error_or_keeps_what_was_read(clip: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    try:
        summary = read_video(cut)
    except MediaError as exc:
        assert str(cut) in str(exc)
    else:
        assert summary.segments


def test_a_file_without_video_stream_is_named(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(MediaError, match="no video stream"):
        read_video(shared_data / "speech" / "test" / "kopi-test.wav")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="No such file"):
        read_video(tmp_path / "nowhere.mp4")


def test_real_try_on_clips(shared_data: Path) -> None:
    for name in ("upper1.mp4", "lower1.mp4"):
        summary = read_video(shared_data / "videos" / "tryon-clips" / name)
        assert 0.5 < summary.duration < 3
        assert len(summary.segments) == 1
        assert summary.segments[0].motion > 0


def _long_video(path: Path, seconds: int) -> None:
    """A ``seconds``-long H.264 file at one frame per 10 s (cheap to write, long to play)."""
    from fractions import Fraction

    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(1, 10))
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(seconds // 10):
            array = np.full((64, 64, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_a_two_hour_video_is_sampled_not_decoded(tmp_path: Path) -> None:
    long = tmp_path / "two-hours.mp4"
    _long_video(long, 7200)
    summary = read_video(long, VideoSettings(max_frames=60))
    assert summary.duration == pytest.approx(7200, rel=0.01)
    assert any("sampled 60 frames by seeking" in w for w in summary.warnings)
    assert 1 <= len(summary.segments) <= 60 * 2


def test_a_zero_second_clip_is_a_clear_error(tmp_path: Path) -> None:
    import av

    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    with pytest.raises(MediaError, match=r"no frame|not a readable video|cannot be decoded"):
        read_video(empty)
