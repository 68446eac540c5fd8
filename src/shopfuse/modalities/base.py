"""What a modality is: one declaration (:class:`ModalitySpec`) and the extractor that fills its column.

A modality declares which catalogue fields feed it, which encoder kind makes its vectors, the
store column it adds, which tower of the shop model maps it into the joint space, how a hit's
"why" names it, and any attributes it derives (``audio_music``...). Ingest, the store schema,
training, the shop model and search loop over the registered specs; a new modality is a module
that registers a spec (see :func:`register_modality`), with no edit anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from PIL import Image

from shopfuse.config import OcrMode
from shopfuse.encoders.base import (
    EncoderInfo,
    ImageEncoder,
    LanguageDetector,
    TextEncoder,
    TextReader,
)
from shopfuse.errors import MediaError, MissingDependencyError
from shopfuse.media.images import DEFAULT_MAX_PIXELS, load_image
from shopfuse.media.video import VideoSettings, VideoSummary, read_video
from shopfuse.registry import registry
from shopfuse.store.base import Record
from shopfuse.types import Problem

if TYPE_CHECKING:
    from shopfuse.encoders.sound import SoundEncoder
    from shopfuse.encoders.speech import SpeechReader
    from shopfuse.media.audio import Sound

__all__ = [
    "Batch",
    "Components",
    "Extractor",
    "JointMapper",
    "ModalitySpec",
    "Tower",
    "modality_spec",
    "modality_specs",
    "register_modality",
]

Tower = Literal["text", "image"]
"""The side of the shop model's aligner that maps a modality into the joint space."""

KIND = "modality"


class JointMapper(Protocol):
    """What extractors may ask of a trained model: raw vectors of one tower into the joint space."""

    @property
    def joint_info(self) -> EncoderInfo:
        """Identity of the joint space."""
        ...

    def embed_tower(self, tower: str, vectors: np.ndarray) -> np.ndarray:
        """Unit joint-space rows for raw vectors of ``tower``."""
        ...


@dataclass(slots=True)
class Components:
    """The product-side encoders and limits every extractor draws on (a small context, no facade)."""

    text: TextEncoder
    image: ImageEncoder | None = None
    ocr: TextReader | None = None
    ocr_mode: OcrMode = "off"
    langid: LanguageDetector | None = None
    speech: SpeechReader | None = None
    sound: SoundEncoder | None = None
    model: JointMapper | None = None
    max_images: int = 4
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_text_chars: int = 2000
    video: VideoSettings = field(default_factory=VideoSettings)
    max_audio_seconds: float = 600.0


class Extractor(Protocol):
    """Fills one modality's column (and derived fields) for a batch of records."""

    def fingerprint(self) -> str:
        """What this modality's vectors depend on besides content (part of every content hash)."""
        ...

    def extract(self, batch: Batch) -> None:
        """Add this modality's vectors to the batch's records; problems go to ``batch.problems``."""
        ...


@dataclass(frozen=True, slots=True)
class ModalitySpec:
    """One modality, declared once.

    ``column`` gives the identity of its vectors for the given components, or ``None`` when they
    lack what the modality needs (no image encoder): the store then has no such column.
    ``build`` returns the extractor, or ``None`` when the modality is switched off for this run
    (OCR off): its column stays, empty, so a later run can fill it.
    """

    name: str
    """Store column and key in contributions; also the name users see in filters and reports."""
    fields: tuple[str, ...]
    """Catalogue fields that feed it."""
    encoder: str
    """Registry kind of the component that reads its media (``text_encoder``, ``ocr``, ``speech``...)."""
    tower: Tower | None
    """Which tower of the shop model maps it into the joint space; ``None``: not fused."""
    label: str
    """How a hit's "why" names its contribution."""
    column: Callable[[Components], EncoderInfo | None]
    build: Callable[[Components], Extractor | None]
    order: int = 100
    """Run order; a modality reusing another's media runs after it (OCR after photos)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Attribute columns it derives, with their types (stored, filterable: ``audio_music = true``)."""
    media: bool = False
    """Whether its fields are media files (missing files are warnings, not errors)."""
    default: bool = True
    """Whether every new store gets its column; otherwise the column is added when a catalogue first
    has one of ``fields`` (a shop without videos does not carry empty video columns)."""

    def feeds(self, product: Any) -> bool:
        """Whether ``product`` has a value in one of this modality's fields."""
        return any(getattr(product, name, None) for name in self.fields)

    def describe(self) -> dict[str, Any]:
        """The declaration as JSON-ready data (``shopfuse modalities``, ``/modalities``)."""
        return {
            "name": self.name,
            "fields": list(self.fields),
            "encoder": self.encoder,
            "tower": self.tower,
            "label": self.label,
            "attributes": dict(self.attributes),
        }


def register_modality(spec: ModalitySpec) -> ModalitySpec:
    """Register ``spec`` in the one registry (kind ``modality``)."""
    registry.register(KIND, spec.name)(spec)  # type: ignore[arg-type]
    return spec


def modality_spec(name: str) -> ModalitySpec:
    """The registered spec called ``name`` (a clear error lists the others)."""
    spec: ModalitySpec = registry.get(KIND, name)  # type: ignore[assignment]
    return spec


def modality_specs() -> list[ModalitySpec]:
    """Every registered modality, in run order."""
    specs = [modality_spec(name) for name in registry.names(KIND)]
    return sorted(specs, key=lambda s: (s.order, s.name))


@dataclass(slots=True)
class Batch:
    """Records being encoded, with media decoded once and shared between modalities."""

    records: list[Record]
    components: Components
    problems: list[Problem] = field(default_factory=list)
    _photos: dict[int, list[Image.Image]] = field(default_factory=dict)
    _videos: dict[int, VideoSummary | None] = field(default_factory=dict)
    _sounds: dict[int, Sound | None] = field(default_factory=dict)

    def warn(self, index: int, field_name: str | None, reason: str) -> None:
        """Report a problem the product survives."""
        p = self.records[index].product
        self.problems.append(Problem(p.source, p.row, p.id, field_name, reason, "warning"))

    def photos(self, index: int) -> list[Image.Image]:
        """The readable photos of record ``index`` (read once; unreadable ones are warnings)."""
        if index not in self._photos:
            loaded = []
            for path in self.records[index].product.images[: self.components.max_images]:
                try:
                    loaded.append(load_image(path, max_pixels=self.components.max_pixels))
                except MediaError as exc:
                    self.warn(index, "image", str(exc))
            self._photos[index] = loaded
        return self._photos[index]

    def video(self, index: int) -> VideoSummary | None:
        """Record ``index``'s video read into segments, or ``None`` (none, or unreadable: a warning)."""
        if index not in self._videos:
            path = self.records[index].product.video
            summary = None
            if path:
                try:
                    summary = read_video(path, self.components.video)
                except MediaError as exc:
                    self.warn(index, "video", str(exc))
                else:
                    for note in summary.warnings:
                        self.warn(index, "video", f"{path}: {note}")
            self._videos[index] = summary
        return self._videos[index]

    def sound(self, index: int) -> Sound | None:
        """Record ``index``'s sound: its ``audio`` file, else its video's soundtrack (silent: ``None``)."""
        if index not in self._sounds:
            from shopfuse.media.audio import read_audio

            product = self.records[index].product
            found = None
            try:
                if product.audio:
                    found = read_audio(product.audio, max_seconds=self.components.max_audio_seconds)
                elif product.video and self.video(index) is not None:
                    found = read_audio(
                        product.video, max_seconds=self.components.max_audio_seconds, required=False
                    )
            except MediaError as exc:
                self.warn(index, "audio" if product.audio else "video", str(exc))
            if found is not None:
                for note in found.warnings:
                    self.warn(index, "audio", f"{found.path}: {note}")
                if found.seconds < 0.1:
                    self.warn(index, "audio", f"{found.path}: no sound to analyse (0 s)")
                    found = None
            self._sounds[index] = found
        return self._sounds[index]

    def missing_package(self, index: int, field_name: str, exc: MissingDependencyError) -> None:
        """Report that a modality could not run for want of an optional package."""
        self.warn(index, field_name, str(exc))
