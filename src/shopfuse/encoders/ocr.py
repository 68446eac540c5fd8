"""Text printed in product photos, read with PP-OCR through rapidocr (bundled ONNX weights)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.encoders._deps import package_version, require
from shopfuse.registry import registry

__all__ = ["RapidOcrReader"]


@registry.register("ocr", "rapidocr")
class RapidOcrReader:
    """PP-OCR detection + recognition, without the angle classifier.

    With ``gate`` the cheap detector runs first and recognition only on images where it found
    text boxes: most product photos carry no text, so this saves most of the cost. Lines read
    with less than ``min_confidence`` are dropped as noise.
    """

    def __init__(self, gate: bool = True, min_confidence: float = 0.6) -> None:
        self.gate = gate
        self.min_confidence = min_confidence

    @property
    def name(self) -> str:
        """Registry name and version."""
        return f"rapidocr@{package_version('rapidocr')}"

    @cached_property
    def _engine(self) -> Any:
        rapidocr = require("rapidocr", "rapidocr", "ocr", "OCR")
        # Any non-default model or language setting makes rapidocr download weights: keep defaults.
        return rapidocr.RapidOCR(params={"Global.log_level": "error"})

    def has_text(self, image: Image.Image) -> bool:
        """Whether the detector finds any text box in ``image``."""
        result = self._engine(_array(image), use_det=True, use_cls=False, use_rec=False)
        return result.boxes is not None and len(result.boxes) > 0

    def read(self, images: Sequence[Image.Image]) -> list[str]:
        """The confident text lines of each image joined by spaces; ``""`` where none."""
        return [self._read_one(image) for image in images]

    def _read_one(self, image: Image.Image) -> str:
        if self.gate and not self.has_text(image):
            return ""
        result = self._engine(_array(image), use_det=True, use_cls=False, use_rec=True)
        texts = result.txts or ()
        scores = result.scores or ()
        return " ".join(
            t.strip() for t, s in zip(texts, scores, strict=False) if s >= self.min_confidence and t.strip()
        )


def _array(image: Image.Image) -> np.ndarray:
    """RGB pixels as rapidocr expects them."""
    return np.asarray(image.convert("RGB"))
