"""Configurations that validate, save and load themselves."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopfuse.errors import ConfigError

__all__ = ["ComponentSpec", "EngineConfig", "OcrMode", "SavableConfig", "atomic_write_text"]

OcrMode = Literal["off", "auto", "on"]


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` so that readers see the old or the new file, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SavableConfig(BaseModel):
    """A pydantic model that saves itself as JSON and loads back with validation."""

    model_config = ConfigDict(extra="forbid")

    def save(self, path: str | Path) -> None:
        """Write as indented JSON, atomically."""
        atomic_write_text(path, self.model_dump_json(indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read and validate; errors name the file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ConfigError(f"invalid config {path}: {exc}") from exc


class ComponentSpec(BaseModel):
    """A registry entry by name, with the parameters its factory takes."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class EngineConfig(SavableConfig):
    """Everything needed to rebuild the encoders that made a store's vectors."""

    text_encoder: ComponentSpec = ComponentSpec(name="use-multilingual")
    image_encoder: ComponentSpec | None = ComponentSpec(name="efficientnet-colour")
    ocr: OcrMode = "off"
    """off: no OCR; auto: recognise only where text detection finds text; on: always recognise."""
    ocr_min_confidence: float = 0.8
    detect_language: bool = True
    batch_size: int = Field(default=64, ge=1)
    max_images_per_product: int = Field(default=4, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    model: str | None = None
    """A trained shop model folder (``shopfuse train``): adds fused product vectors in its joint space."""
