"""What is said in a product's audio or video soundtrack: a transcript, searched like text."""

from __future__ import annotations

from dataclasses import dataclass

from shopfuse.encoders.speech import SpeechReader
from shopfuse.errors import MissingDependencyError
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality

__all__ = ["SPEECH", "SpeechExtractor"]

MAX_TRANSCRIPT_CHARS = 2000


@dataclass(slots=True)
class SpeechExtractor:
    """Voice-activity gate, speech recognition, then the text encoder on the transcript."""

    reader: SpeechReader
    components: Components

    def fingerprint(self) -> str:
        """Recogniser and text space."""
        return f"speech:{self.reader.name}:{self.components.text.text_info.space}"

    def extract(self, batch: Batch) -> None:
        """Transcript vector and ``speech_text`` / ``speech_lang`` for every record with speech."""
        owners = [(i, s) for i in range(len(batch.records)) if (s := batch.sound(i)) is not None]
        if not owners:
            return
        try:
            transcripts = self.reader.transcribe([sound.samples for _, sound in owners])
        except MissingDependencyError as exc:
            for i, _ in owners:
                batch.missing_package(i, "audio", exc)
            return
        spoken = [(i, t) for (i, _), t in zip(owners, transcripts, strict=True) if t.text]
        if not spoken:
            return
        vectors = self.components.text.encode_text(
            [t.text[: self.components.max_text_chars] for _, t in spoken], role="passage"
        )
        for (i, transcript), vector in zip(spoken, vectors, strict=True):
            record = batch.records[i]
            record.vectors[SPEECH.name] = vector
            record.product.attributes["speech_text"] = transcript.text[:MAX_TRANSCRIPT_CHARS]
            if transcript.lang:
                record.product.attributes["speech_lang"] = transcript.lang


def _build(components: Components) -> Extractor | None:
    return SpeechExtractor(components.speech, components) if components.speech is not None else None


SPEECH = register_modality(
    ModalitySpec(
        name="speech",
        fields=("audio", "video"),
        encoder="speech",
        tower="text",
        label="words heard",
        column=lambda c: c.text.text_info if c.speech is not None else None,
        build=_build,
        order=50,
        attributes={"speech_text": "string", "speech_lang": "string"},
        media=True,
        default=False,
    )
)
