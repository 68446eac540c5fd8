"""Modalities as plug-ins: each module declares one :class:`ModalitySpec` and registers it.

Importing this package registers the built-in modalities: text, image, OCR, video, speech and
audio. A new modality is a module like these that calls :func:`register_modality`.
"""

from shopfuse.modalities import image, ocr, sound, speech, text, video
from shopfuse.modalities.base import (
    Batch,
    Components,
    Extractor,
    JointMapper,
    ModalitySpec,
    Tower,
    modality_spec,
    modality_specs,
    register_modality,
)

__all__ = [
    "Batch",
    "Components",
    "Extractor",
    "JointMapper",
    "ModalitySpec",
    "Tower",
    "image",
    "modality_spec",
    "modality_specs",
    "ocr",
    "register_modality",
    "sound",
    "speech",
    "text",
    "video",
]
