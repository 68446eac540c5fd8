"""Product videos: shots with keyframes through the image encoder, on-screen text, and motion.

The product's ``video`` vector is the mean of its keyframe vectors (in the photo space, so a
photo query finds a video too, and the image tower maps it into the joint space). Each shot is
also kept as a *moment* (start, end, keyframe vector, on-screen text, motion), stored beside the
products, so a query can land on "00:12-00:18" of the video that shows the product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopfuse.encoders.base import EncoderInfo, ImageEncoder, l2_normalize
from shopfuse.encoders.scene import SceneTag, SceneTagger, encode_and_tag, scene_tagger_for
from shopfuse.modalities.base import Batch, Components, Extractor, ModalitySpec, register_modality
from shopfuse.store.base import Record
from shopfuse.types import Product

__all__ = ["MOMENT_ATTRIBUTES", "MOMENT_IMAGE", "MOMENT_JOINT", "MOMENT_OCR", "VIDEO", "VideoExtractor"]

MOMENT_IMAGE = "image"
MOMENT_OCR = "ocr"
MOMENT_JOINT = "product"
"""Moment columns: the keyframe's photo vector, its on-screen text, and (with a model) its joint vector."""
MOMENT_ATTRIBUTES = {"product_id": "string", "start": "float64", "end": "float64", "motion": "float64"}


@dataclass(slots=True)
class VideoExtractor:
    """Keyframes of every shot encoded in one image batch; OCR on them when OCR is on."""

    encoder: ImageEncoder
    components: Components
    tagger: SceneTagger | None = None
    """Tags each keyframe with a scene and shot (moment attributes ``scene``, ``shot``)."""

    def fingerprint(self) -> str:
        """Image space, shot settings, OCR reader and joint space: everything a moment depends on."""
        settings = self.components.video
        parts = [
            "video",
            self.encoder.image_info.space,
            f"fps{settings.sample_fps:g}:n{settings.max_frames}:cut{settings.cut_threshold:g}"
            f"/{settings.min_cut:g}x{settings.cut_ratio:g}"
            f":seg{settings.max_segment_seconds:g}",
        ]
        if self.components.ocr is not None and self.components.ocr_mode != "off":
            parts.append(self.components.ocr.name)
        if self.components.model is not None:
            parts.append(self.components.model.joint_info.space)
        if self.tagger is not None:
            parts.append(self.tagger.version)
        return ":".join(parts)

    def extract(self, batch: Batch) -> None:
        """Video vector, moments and ``video_*`` attributes for every record with a readable video."""
        owners = [(i, s) for i in range(len(batch.records)) if (s := batch.video(i)) is not None]
        if not owners:
            return
        frames = [segment.keyframe for _, summary in owners for segment in summary.segments]
        tags: list[SceneTag] | None = None
        if self.tagger is None:
            vectors = self.encoder.encode_images(frames)
        else:
            vectors, tags = encode_and_tag(self.encoder, self.tagger, frames)
        texts = self._read(frames)
        text_vectors = self._encode_texts(texts)
        joint = None
        if self.components.model is not None:
            joint = self.components.model.embed_tower("image", vectors)
        start = 0
        for i, summary in owners:
            record = batch.records[i]
            count = len(summary.segments)
            record.vectors[VIDEO.name] = l2_normalize(vectors[start : start + count].mean(axis=0))[0]
            moments = []
            for j, segment in enumerate(summary.segments):
                row = start + j
                moment = Record(
                    Product(
                        id=f"{record.product.id}#{j:03d}",
                        title=record.product.title,
                        video=record.product.video,
                        attributes={
                            "product_id": record.product.id,
                            "start": round(segment.start, 3),
                            "end": round(segment.end, 3),
                            "motion": round(segment.motion, 3),
                        },
                    ),
                    record.content_hash,
                    {MOMENT_IMAGE: vectors[row]},
                )
                if tags is not None:
                    moment.product.attributes.update(scene=tags[row].scene, shot=tags[row].shot)
                if texts[row]:
                    moment.ocr_text = texts[row]
                    moment.vectors[MOMENT_OCR] = text_vectors[row]
                if joint is not None:
                    moment.vectors[MOMENT_JOINT] = joint[row]
                moments.append(moment)
            record.moments = moments
            record.product.attributes.update(
                {
                    "video_seconds": round(summary.duration, 3),
                    "video_moments": count,
                    "video_motion": round(float(np.mean([s.motion for s in summary.segments])), 3),
                }
            )
            start += count

    def _read(self, frames: list) -> list[str]:
        reader = self.components.ocr
        if reader is None or self.components.ocr_mode == "off" or not frames:
            return [""] * len(frames)
        return [t.strip() for t in reader.read(frames)]

    def _encode_texts(self, texts: list[str]) -> dict[int, np.ndarray]:
        rows = [i for i, t in enumerate(texts) if t]
        if not rows:
            return {}
        vectors = self.components.text.encode_text([texts[i] for i in rows], role="passage")
        return dict(zip(rows, vectors, strict=True))


def moment_columns(components: Components) -> dict[str, EncoderInfo]:
    """The columns of a store's moments table for these components (``None`` entries left out)."""
    columns: dict[str, EncoderInfo] = {}
    if components.image is not None:
        columns[MOMENT_IMAGE] = components.image.image_info
    columns[MOMENT_OCR] = components.text.text_info
    if components.model is not None:
        columns[MOMENT_JOINT] = components.model.joint_info
    return columns


def _build(components: Components) -> Extractor | None:
    if components.image is None:
        return None
    return VideoExtractor(components.image, components, scene_tagger_for(components.image))


VIDEO = register_modality(
    ModalitySpec(
        name="video",
        fields=("video",),
        encoder="image_encoder",
        tower="image",
        label="video frames",
        column=lambda c: c.image.image_info if c.image is not None else None,
        build=_build,
        order=40,
        attributes={"video_seconds": "float64", "video_moments": "int64", "video_motion": "float64"},
        media=True,
        default=False,
    )
)
