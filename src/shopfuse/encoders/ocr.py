"""Text printed in product photos, read with PP-OCR through rapidocr (bundled ONNX weights)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.encoders._deps import package_version, require
from shopfuse.optional import LazyModels
from shopfuse.registry import registry

__all__ = ["RapidOcrReader"]


@registry.register("ocr", "rapidocr")
class RapidOcrReader(LazyModels):
    """PP-OCR detection, then recognition of the detected lines only; no angle classifier.

    Most product photos carry no text, yet the detector finds a box around almost every garment.
    With ``gate`` (the ``auto`` mode) a box must look like a line of text (at least twice as
    long as high, and under ``max_box_share`` of the photo unless four times as long as high)
    to be recognised at all,
    so recognition runs on a few photos only. Without it every detected box is recognised.
    Either way, lines read with less than ``min_confidence`` or shorter than two characters are
    dropped: the recogniser reads confident single letters into any texture.
    """

    def __init__(
        self,
        gate: bool = True,
        min_confidence: float = 0.8,
        max_box_share: float = 0.25,
        detect_side: int = 320,
    ) -> None:
        self.gate = gate
        self.min_confidence = min_confidence
        self.max_box_share = max_box_share
        self.detect_side = detect_side

    @property
    def name(self) -> str:
        """Registry name, version and the settings that change what is read."""
        gate = f"gate{self.max_box_share:g}" if self.gate else "all"
        return f"rapidocr@{package_version('rapidocr')}:{gate}:c{self.min_confidence:g}:d{self.detect_side}"

    @cached_property
    def _engine(self) -> Any:
        rapidocr = require("rapidocr", "rapidocr", "ocr", "OCR")
        # Only these settings are safe: a non-default model or language makes rapidocr download.
        return rapidocr.RapidOCR(params={"Global.log_level": "error", "Det.limit_side_len": self.detect_side})

    def text_boxes(self, image: Image.Image) -> list[np.ndarray]:
        """Detected text boxes (4x2 corner arrays), filtered by shape when gating, top to bottom."""
        rgb = image.convert("RGB")
        # rapidocr keeps flags between calls: always pass all three.
        found = self._engine(rgb, use_det=True, use_cls=False, use_rec=False)
        boxes = [] if found.boxes is None else [np.asarray(b, dtype=np.float32) for b in found.boxes]
        if self.gate:
            boxes = [b for b in boxes if self._looks_like_a_line(b, rgb.size)]
        return sorted(boxes, key=lambda b: (float(b[:, 1].min()), float(b[:, 0].min())))

    def read(self, images: Sequence[Image.Image]) -> list[str]:
        """The confident text lines of each image joined by spaces; ``""`` where none."""
        return [self._read_one(image) for image in images]

    def _read_one(self, image: Image.Image) -> str:
        rgb = image.convert("RGB")
        lines = []
        for box in self.text_boxes(rgb):
            left, top = np.floor(box.min(axis=0)).astype(int)
            right, bottom = np.ceil(box.max(axis=0)).astype(int)
            crop = rgb.crop((max(left, 0), max(top, 0), min(right, rgb.width), min(bottom, rgb.height)))
            if crop.width < 4 or crop.height < 4:
                continue
            result = self._engine(crop, use_det=False, use_cls=False, use_rec=True)
            for text, score in zip(result.txts or (), result.scores or (), strict=False):
                cleaned = " ".join(str(text).split())
                if float(score) >= self.min_confidence and len(cleaned) >= 2:
                    lines.append(cleaned)
        return " ".join(lines)

    def _looks_like_a_line(self, box: np.ndarray, size: tuple[int, int]) -> bool:
        width = float(np.linalg.norm(box[1] - box[0]))
        height = float(np.linalg.norm(box[3] - box[0]))
        long_side, short_side = max(width, height), max(min(width, height), 1.0)
        share = width * height / float(size[0] * size[1])
        aspect = long_side / short_side
        # a big box passes only when it is very elongated, like a banner line
        return aspect >= 2.0 and (share < self.max_box_share or aspect >= 4.0)
