"""Product photos: the mean of the photos' image vectors."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from shopfuse.encoders.base import ImageEncoder, l2_normalize
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality

__all__ = ["IMAGE", "ImageExtractor"]


@dataclass(slots=True)
class ImageExtractor:
    """Encodes up to ``max_images`` photos per product in one batch and averages them."""

    encoder: ImageEncoder

    def fingerprint(self) -> str:
        """The image space."""
        return self.encoder.image_info.space

    def extract(self, batch: Batch) -> None:
        """Photo vectors for every record with a readable photo."""
        photos: list[list[Image.Image]] = [batch.photos(i) for i in range(len(batch.records))]
        flat = [image for images in photos for image in images]
        if not flat:
            return
        vectors = self.encoder.encode_images(flat)
        start = 0
        for record, images in zip(batch.records, photos, strict=True):
            if images:
                mean = vectors[start : start + len(images)].mean(axis=0)
                record.vectors[IMAGE.name] = l2_normalize(mean)[0]
                start += len(images)


def _build(components: Components) -> Extractor | None:
    return ImageExtractor(components.image) if components.image is not None else None


IMAGE = register_modality(
    ModalitySpec(
        name="image",
        fields=("image",),
        encoder="image_encoder",
        tower="image",
        label="photo",
        column=lambda c: c.image.image_info if c.image is not None else None,
        build=_build,
        order=20,
        media=True,
    )
)
