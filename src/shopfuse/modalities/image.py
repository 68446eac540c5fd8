"""Product photos: the mean of the photos' image vectors, and each photo's scene and shot type.

Every photo is tagged (:mod:`shopfuse.encoders.scene`) from the backbone features the photo vector
is made of, its border and the people in it. The product's ``scene`` and ``shot`` are its main
(first) photo's; ``photo_scenes`` / ``photo_shots`` list every photo's, in order, comma-separated.
A catalogue column of the same name wins over the tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from shopfuse.encoders.base import ImageEncoder, l2_normalize
from shopfuse.encoders.scene import SceneTag, SceneTagger, encode_and_tag, scene_tagger_for
from shopfuse.errors import MissingDependencyError
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality

__all__ = ["IMAGE", "SCENE_ATTRIBUTES", "ImageExtractor", "scene_attributes"]

SCENE_ATTRIBUTES = {"scene": "string", "shot": "string", "photo_scenes": "string", "photo_shots": "string"}
"""Attribute columns the photos' tags fill (filterable: ``scene = 'outdoor'``, ``shot = 'on_model'``)."""


def scene_attributes(tags: list[SceneTag]) -> dict[str, str]:
    """A product's scene attributes from its photos' tags (main photo first)."""
    return {
        "scene": tags[0].scene,
        "shot": tags[0].shot,
        "photo_scenes": ", ".join(t.scene for t in tags),
        "photo_shots": ", ".join(t.shot for t in tags),
    }


@dataclass(slots=True)
class ImageExtractor:
    """Encodes up to ``max_images`` photos per product in one batch, averages them, tags each photo."""

    encoder: ImageEncoder
    tagger: SceneTagger | None = None

    def fingerprint(self) -> str:
        """The image space, and the scene tagger's rules."""
        space = self.encoder.image_info.space
        return f"{space};{self.tagger.version}" if self.tagger is not None else space

    def extract(self, batch: Batch) -> None:
        """Photo vectors and scene attributes for every record with a readable photo."""
        photos: list[list[Image.Image]] = [batch.photos(i) for i in range(len(batch.records))]
        flat = [image for images in photos for image in images]
        if not flat:
            return
        tags: list[SceneTag] | None = None
        if self.tagger is None:
            vectors = self.encoder.encode_images(flat)
        else:
            try:
                vectors, tags = encode_and_tag(self.encoder, self.tagger, flat)
            except MissingDependencyError as exc:
                vectors = self.encoder.encode_images(flat)
                for i, images in enumerate(photos):
                    if images:
                        batch.missing_package(i, "image", exc)
        start = 0
        for record, images in zip(batch.records, photos, strict=True):
            if images:
                mean = vectors[start : start + len(images)].mean(axis=0)
                record.vectors[IMAGE.name] = l2_normalize(mean)[0]
                if tags is not None:
                    found = scene_attributes(tags[start : start + len(images)])
                    for name, value in found.items():
                        record.product.attributes.setdefault(name, value)
                start += len(images)


def _build(components: Components) -> Extractor | None:
    if components.image is None:
        return None
    return ImageExtractor(components.image, scene_tagger_for(components.image))


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
        attributes=dict(SCENE_ATTRIBUTES),
        media=True,
    )
)
