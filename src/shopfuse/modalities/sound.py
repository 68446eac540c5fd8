"""How a product's audio or soundtrack sounds: an acoustic vector and event tags (speech, music...)."""

from __future__ import annotations

from dataclasses import dataclass

from shopfuse.encoders.sound import SoundEncoder
from shopfuse.errors import MissingDependencyError
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality

__all__ = ["AUDIO", "SoundExtractor"]

FLAG_SCORE = 0.3
"""A clip counts as having speech / music / singing when that group's best class scores this much."""


@dataclass(slots=True)
class SoundExtractor:
    """YAMNet tags and acoustic vectors, stored as the ``audio`` column and ``audio_*`` attributes."""

    encoder: SoundEncoder

    def fingerprint(self) -> str:
        """The acoustic space."""
        return f"audio:{self.encoder.sound_info.space}"

    def extract(self, batch: Batch) -> None:
        """Vector, tags and flags for every record with sound."""
        owners = [(i, s) for i in range(len(batch.records)) if (s := batch.sound(i)) is not None]
        if not owners:
            return
        try:
            vectors, tags = self.encoder.encode_sounds([sound.samples for _, sound in owners])
        except MissingDependencyError as exc:
            for i, _ in owners:
                batch.missing_package(i, "audio", exc)
            return
        for (i, sound), vector, found in zip(owners, vectors, tags, strict=True):
            record = batch.records[i]
            record.vectors[AUDIO.name] = vector
            attributes = record.product.attributes
            attributes["audio_seconds"] = round(sound.seconds, 3)
            attributes["audio_tags"] = ", ".join(name for name, _ in found.tags)
            for group, score in found.groups.items():
                attributes[f"audio_{group}"] = score >= FLAG_SCORE


def _build(components: Components) -> Extractor | None:
    return SoundExtractor(components.sound) if components.sound is not None else None


AUDIO = register_modality(
    ModalitySpec(
        name="audio",
        fields=("audio", "video"),
        encoder="sound",
        tower=None,
        label="sound",
        column=lambda c: c.sound.sound_info if c.sound is not None else None,
        build=_build,
        order=60,
        attributes={
            "audio_seconds": "float64",
            "audio_tags": "string",
            "audio_speech": "bool",
            "audio_music": "bool",
            "audio_singing": "bool",
        },
        media=True,
        default=False,
    )
)
