"""Video decoding only: sampled frames, shots (segments) with a keyframe each, and motion statistics.

Frames are decoded with PyAV. Shots are found by a colour-histogram difference between sampled
frames (a cut is a jump in the hue/saturation histogram); a shot longer than ``max_segment_seconds``
is split, so a long pan still yields several moments. Motion is Farnebäck optical flow between
consecutive sampled frames of a segment, on small grey frames (OpenCV).

Every call is bounded: at most ``max_frames`` frames are kept, decoding stops after
``time_budget`` seconds, and files longer than ``max_decode_seconds`` are sampled by seeking to
evenly spaced times instead of decoding every frame (a 2-hour file costs the same as a short one).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.errors import MediaError
from shopfuse.media.audio import decode_reason
from shopfuse.types import clock

__all__ = ["Segment", "VideoSettings", "VideoSummary", "poster", "read_video"]


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """How much of a video is looked at, and how shots are cut."""

    sample_fps: float = 2.0
    """Frames kept per second of video (before the cap)."""
    max_frames: int = 240
    """Most frames kept per video; a longer video is sampled more sparsely."""
    time_budget: float = 60.0
    """Seconds of decoding per video; past it the frames read so far are used (with a warning)."""
    max_decode_seconds: float = 300.0
    """Videos longer than this are sampled by seeking, not decoded frame by frame."""
    cut_threshold: float = 0.35
    """Bhattacharyya distance between consecutive sampled frames' histograms that always starts a shot."""
    min_cut: float = 0.12
    """A smaller jump starts a shot when it stands out from its neighbours (``cut_ratio`` times their
    median): product photos on white backgrounds differ little in colour, but a pan changes
    every frame a little, a cut once."""
    cut_ratio: float = 3.0
    max_segment_seconds: float = 8.0
    """A shot longer than this is split into equal parts."""
    min_segment_seconds: float = 0.4
    """A shot shorter than this is merged into the previous one (flashes, dissolves)."""
    max_side: int = 640
    """Kept frames are downscaled to this longest side."""


@dataclass(slots=True)
class Segment:
    """One shot: its time range, its keyframe, and how much moves in it."""

    start: float
    end: float
    keyframe: Image.Image
    motion: float = 0.0
    """Mean optical-flow magnitude, in pixels per second at 160 px width (0: still)."""
    motion_p90: float = 0.0

    def label(self) -> str:
        """``00:12-00:18``."""
        return f"{clock(self.start)}-{clock(self.end)}"


@dataclass(slots=True)
class VideoSummary:
    """What was read from a video: duration, segments, and warnings (budget hit, sparse sampling)."""

    path: str
    duration: float
    segments: list[Segment] = field(default_factory=list)
    has_audio: bool = False
    warnings: list[str] = field(default_factory=list)


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the extra is part of the test environment
        raise MediaError("video", "PyAV is needed: pip install 'shopfuse[video]'") from exc
    return av


def read_video(path: str | Path, settings: VideoSettings | None = None) -> VideoSummary:
    """Decode ``path`` into segments with keyframes and motion; clear :class:`MediaError` when unreadable."""
    settings = settings or VideoSettings()
    av = _av()
    name = str(path)
    try:
        container = av.open(name)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(name, f"not a readable video ({decode_reason(exc)})") from exc
    with container:
        if not container.streams.video:
            raise MediaError(name, "the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        has_audio = bool(container.streams.audio)
        duration = _duration(container, stream)
        warnings: list[str] = []
        try:
            if duration > settings.max_decode_seconds:
                frames = _seek_frames(container, stream, duration, settings, warnings)
            else:
                frames = _decode_frames(container, stream, duration, settings, warnings)
        except av.FFmpegError as exc:
            raise MediaError(name, f"the video cannot be decoded ({decode_reason(exc)})") from exc
    if not frames:
        raise MediaError(name, "no frame could be decoded (empty or corrupt video)")
    if duration <= 0:
        duration = frames[-1][0] + 1.0 / max(settings.sample_fps, 1e-6)
    return VideoSummary(name, duration, _segments(frames, duration, settings), has_audio, warnings)


def poster(path: str | Path, at: float = 1.0, max_side: int = 1280) -> Image.Image:
    """One frame of the video near ``at`` seconds (its middle if shorter), to show where a photo would go."""
    av = _av()
    name = str(path)
    try:
        with av.open(name) as container:
            if not container.streams.video:
                raise MediaError(name, "the file has no video stream")
            stream = container.streams.video[0]
            target = min(at, _duration(container, stream) / 2)
            if target > 0 and stream.time_base is not None:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                return _small(frame, max_side)
    except av.FFmpegError as exc:
        raise MediaError(name, f"the video cannot be decoded ({decode_reason(exc)})") from exc
    raise MediaError(name, "no frame could be decoded (empty or corrupt video)")


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _step(duration: float, settings: VideoSettings) -> float:
    """Seconds between kept frames: the sampling rate, widened so the cap is not exceeded."""
    step = 1.0 / settings.sample_fps
    if duration > 0:
        step = max(step, duration / settings.max_frames)
    return step


def _small(frame: Any, max_side: int) -> Image.Image:
    image: Image.Image = frame.to_image()
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    return image.convert("RGB")


def _decode_frames(
    container: Any, stream: Any, duration: float, settings: VideoSettings, warnings: list[str]
) -> list[tuple[float, Image.Image]]:
    step = _step(duration, settings)
    started = time.perf_counter()
    frames: list[tuple[float, Image.Image]] = []
    next_time = 0.0
    for frame in container.decode(stream):
        if frame.time is None:
            continue
        if frame.time + 1e-6 >= next_time:
            frames.append((float(frame.time), _small(frame, settings.max_side)))
            next_time = frame.time + step
            if len(frames) >= settings.max_frames:
                warnings.append(f"frame cap: kept the first {settings.max_frames} sampled frames")
                break
        if time.perf_counter() - started > settings.time_budget:
            warnings.append(f"time budget of {settings.time_budget:g}s spent at {frame.time:.1f}s")
            break
    return frames


def _seek_frames(
    container: Any, stream: Any, duration: float, settings: VideoSettings, warnings: list[str]
) -> list[tuple[float, Image.Image]]:
    count = min(settings.max_frames, max(1, int(duration * settings.sample_fps)))
    warnings.append(f"{duration:.0f}s video: sampled {count} frames by seeking")
    started = time.perf_counter()
    frames: list[tuple[float, Image.Image]] = []
    for target in np.linspace(0, duration, count, endpoint=False):
        container.seek(int(target / stream.time_base), stream=stream, any_frame=False, backward=True)
        frame = next(iter(container.decode(stream)), None)
        if frame is not None and frame.time is not None and (not frames or frame.time > frames[-1][0]):
            frames.append((float(frame.time), _small(frame, settings.max_side)))
        if time.perf_counter() - started > settings.time_budget:
            warnings.append(f"time budget of {settings.time_budget:g}s spent at {target:.0f}s")
            break
    return frames


def _histogram(image: Image.Image) -> np.ndarray:
    import cv2

    hsv = cv2.cvtColor(np.asarray(image.resize((128, 128))), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def _segments(
    frames: list[tuple[float, Image.Image]], duration: float, settings: VideoSettings
) -> list[Segment]:
    import cv2

    histograms = [_histogram(image) for _, image in frames]
    jumps = [0.0] + [
        float(cv2.compareHist(histograms[i - 1], histograms[i], cv2.HISTCMP_BHATTACHARYYA))
        for i in range(1, len(frames))
    ]
    cuts = [0]
    for i in range(1, len(frames)):
        around = jumps[max(1, i - 3) : i] + jumps[i + 1 : i + 4]
        usual = float(np.median(around)) if around else 0.0
        distance = jumps[i]
        standout = distance >= settings.min_cut and distance >= settings.cut_ratio * max(usual, 0.02)
        if distance >= settings.cut_threshold or standout:
            if frames[i][0] - frames[cuts[-1]][0] < settings.min_segment_seconds and len(cuts) > 1:
                cuts[-1] = i  # the previous shot was a flash: it starts here instead
            else:
                cuts.append(i)
    bounds = [*cuts, len(frames)]
    segments: list[Segment] = []
    for a, b in itertools.pairwise(bounds):
        if a >= b:
            continue
        start = 0.0 if a == 0 else frames[a][0]
        end = frames[b][0] if b < len(frames) else duration
        # split long shots, but never finer than the frames looked at (a sparsely sampled
        # 2-hour video yields at most one moment per sampled frame, not one per 8 s)
        parts = max(1, min(b - a, int(np.ceil((end - start) / settings.max_segment_seconds - 1e-9))))
        edges = np.linspace(start, end, parts + 1)
        for lo, hi in itertools.pairwise(edges):
            members = [
                frames[i] for i in range(a, b) if lo - 1e-6 <= frames[i][0] < hi or (i == a and lo == start)
            ]
            members = members or [min(frames[a:b], key=lambda f: abs(f[0] - (lo + hi) / 2))]
            motion, p90 = _motion(members)
            keyframe = members[len(members) // 2][1]
            segments.append(Segment(float(lo), float(hi), keyframe, motion, p90))
    return segments


def _motion(members: list[tuple[float, Image.Image]]) -> tuple[float, float]:
    """Mean and 90th-percentile Farnebäck flow magnitude between consecutive frames, per second."""
    import cv2

    if len(members) < 2:
        return 0.0, 0.0
    grey = []
    for _, image in members:
        small = image.resize((160, max(1, round(160 * image.height / image.width))))
        grey.append(cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2GRAY))
    means, highs = [], []
    for (t0, _), (t1, _), a, b in zip(members, members[1:], grey, grey[1:], strict=False):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload]
        magnitude = np.linalg.norm(flow, axis=2) / max(t1 - t0, 1e-3)
        means.append(float(magnitude.mean()))
        highs.append(float(np.percentile(magnitude, 90)))
    return float(np.mean(means)), float(np.mean(highs))
