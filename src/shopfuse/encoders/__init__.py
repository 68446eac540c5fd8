"""Encoders: one module per family, behind the Protocols of :mod:`shopfuse.encoders.base`.

Importing this package registers every built-in encoder; heavy model packages load lazily.
"""

from shopfuse.encoders import clip, image, langid, ocr, sound, speech, text
from shopfuse.encoders.base import (
    EncoderInfo,
    ImageEncoder,
    LanguageDetector,
    TextEncoder,
    TextReader,
    l2_normalize,
)

__all__ = [
    "EncoderInfo",
    "ImageEncoder",
    "LanguageDetector",
    "TextEncoder",
    "TextReader",
    "clip",
    "image",
    "l2_normalize",
    "langid",
    "ocr",
    "sound",
    "speech",
    "text",
]
