"""The product's own words: its title, else its description, through the text encoder."""

from __future__ import annotations

from dataclasses import dataclass

from shopfuse.modalities.base import Batch, Components, ModalitySpec, register_modality

__all__ = ["TEXT", "TextExtractor"]


@dataclass(slots=True)
class TextExtractor:
    """Encodes each product's text (cut to ``max_text_chars``: the encoders read 128-512 tokens)."""

    components: Components

    def fingerprint(self) -> str:
        """The text space."""
        return self.components.text.text_info.space

    def extract(self, batch: Batch) -> None:
        """Vectors for every record with text."""
        with_text = [r for r in batch.records if r.product.text]
        if not with_text:
            return
        limit = self.components.max_text_chars
        vectors = self.components.text.encode_text(
            [(r.product.text or "")[:limit] for r in with_text], role="passage"
        )
        for record, vector in zip(with_text, vectors, strict=True):
            record.vectors[TEXT.name] = vector


TEXT = register_modality(
    ModalitySpec(
        name="text",
        fields=("title", "description"),
        encoder="text_encoder",
        tower="text",
        label="words",
        column=lambda c: c.text.text_info,
        build=TextExtractor,
        order=10,
    )
)
