"""Text printed in the product photos (OCR), in the text encoder's space."""

from __future__ import annotations

from dataclasses import dataclass

from shopfuse.encoders.base import TextEncoder, TextReader
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality

__all__ = ["OCR", "OcrExtractor"]


@dataclass(slots=True)
class OcrExtractor:
    """Reads the photos already decoded for the image modality and encodes what they say."""

    reader: TextReader
    text: TextEncoder
    mode: str

    def fingerprint(self) -> str:
        """OCR mode and reader (its version and gate)."""
        return f"ocr:{self.mode}:{self.reader.name}"

    def extract(self, batch: Batch) -> None:
        """Text found in each record's photos, joined, as ``ocr_text`` and a vector."""
        owners = [(i, image) for i in range(len(batch.records)) for image in batch.photos(i)]
        if not owners:
            return
        texts = self.reader.read([image for _, image in owners])
        found: dict[int, list[str]] = {}
        for (i, _), text in zip(owners, texts, strict=True):
            if text.strip():
                found.setdefault(i, []).append(text.strip())
        if not found:
            return
        order = sorted(found)
        joined = [" ".join(found[i]) for i in order]
        vectors = self.text.encode_text(joined, role="passage")
        for i, text, vector in zip(order, joined, vectors, strict=True):
            batch.records[i].ocr_text = text
            batch.records[i].vectors[OCR.name] = vector


def _build(components: Components) -> Extractor | None:
    if components.ocr is None or components.ocr_mode == "off":
        return None
    return OcrExtractor(components.ocr, components.text, components.ocr_mode)


# The column exists in every store (created empty when OCR is off) so that a later ingest with
# OCR on fills it; that is why ``build`` may return None while the column stays declared.
OCR = register_modality(
    ModalitySpec(
        name="ocr",
        fields=("image",),
        encoder="ocr",
        tower="text",
        label="text in photo",
        column=lambda c: c.text.text_info,
        build=_build,
        order=30,
        media=True,
    )
)
