"""Configurations that validate, save and load themselves."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopfuse.errors import ConfigError

__all__ = [
    "AnnSettings",
    "ComponentSpec",
    "EngineConfig",
    "FieldLimits",
    "LearnMode",
    "OcrMode",
    "SavableConfig",
    "StoreBackend",
    "atomic_write_text",
    "cache_root",
]

OcrMode = Literal["off", "auto", "on"]
LearnMode = Literal["auto", "on", "off"]
StoreBackend = Literal["lance", "milvus"]


def cache_root() -> Path:
    """Where shopfuse keeps derived files (ONNX exports, joined models, Milvus work folders):
    ``$SHOPFUSE_CACHE``, else ``$XDG_CACHE_HOME/shopfuse``, else ``~/.cache/shopfuse``."""
    root = os.environ.get("SHOPFUSE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "shopfuse"
    )
    return Path(root)


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


class AnnSettings(BaseModel):
    """Approximate nearest-neighbour search for big stores: HNSW or IVF, scored by inner product.

    The Lance store builds an in-memory FAISS index (``faiss-cpu``, extra ``ann``) over a column
    once it holds ``min_rows`` vectors and uses it for unfiltered searches and for filtered ones
    whose filter matches at least ``min_rows`` of them (IVF visits the closest clusters that hold
    matches; HNSW scores the matches exactly); a filter matching fewer is scored exactly over its
    matches. The Milvus store builds a Milvus index of the same kind over every vector field.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["hnsw", "ivf"] = "ivf"
    """IVF by default: at a million product vectors it kept recall@10 >= 0.99 with and without
    filters within 30 ms p99, where HNSW (M 16, efSearch 64) reached 0.80 unfiltered and scores a
    filter's matches exactly (``benchmarks/results/million*.json``)."""
    min_rows: int = Field(default=100_000, ge=0)
    """Lance only: below this many vectors a column (or a filter's matches) is searched exactly."""
    m: int = Field(default=16, ge=2)
    """HNSW: links per node."""
    ef_construction: int = Field(default=80, ge=1)
    """HNSW: candidate list size while building."""
    ef_search: int = Field(default=64, ge=1)
    """HNSW: candidate list size while searching (raised to ``k`` when smaller)."""
    nlist: int | None = Field(default=None, ge=1)
    """IVF: number of clusters; default ``4 * sqrt(rows)`` (Lance) or 1024 (Milvus)."""
    nprobe: int = Field(default=16, ge=1)
    """IVF: clusters visited per query."""


class FieldLimits(BaseModel):
    """Size limits on what one catalogue row or posted product may hold (CLI ingest and the API).

    Text over a limit is cut at a character boundary and reported as a warning; a row over the
    id or attribute-count limits is refused and reported. Without limits a 0.25 MB title cost
    2 GB in ingest and a 1 MB title held the service's write lock for 81 s.
    """

    model_config = ConfigDict(extra="forbid")

    id_bytes: int = Field(default=200, ge=1)
    """Longest product id (UTF-8 bytes); longer ids are refused."""
    title_bytes: int = Field(default=1024, ge=1)
    """Longest title (UTF-8 bytes); longer titles are truncated."""
    description_bytes: int = Field(default=65_536, ge=1)
    """Longest description (UTF-8 bytes); longer ones are truncated."""
    attribute_value_bytes: int = Field(default=4096, ge=1)
    """Longest text attribute value (UTF-8 bytes); longer ones are truncated."""
    attributes_per_product: int = Field(default=200, ge=1)
    """Most non-empty attributes one product may carry; rows with more are refused."""
    attribute_name_chars: int = Field(default=64, ge=1)
    """Longest attribute (column) name; longer columns are not stored."""
    store_attributes: int = Field(default=500, ge=1)
    """Most attribute columns a store may hold; columns past it are not stored (reported)."""
    media_path_chars: int = Field(default=4096, ge=1)
    """Longest media path; longer ones are refused."""


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
    """A trained shop model folder (``shopfuse train``): adds fused product vectors in its joint space.
    A relative path is relative to the store's work folder (where a learned model lives)."""
    learn: LearnMode = "auto"
    """Whether ingest fits the shop model itself: ``auto`` once the catalogue is big enough
    (:data:`shopfuse.model.learning.MIN_PAIRS` photo+text products) and again after enough changes."""
    model_learned: bool = False
    """The model was learned by this store's ingest (not given with ``--model``)."""
    learn_changes: int = Field(default=0, ge=0)
    """Products added, updated or deleted since the learned model was fitted."""
    store_backend: StoreBackend = "lance"
    """Backend of a store in a local folder; a ``milvus://host:port/collection`` store is Milvus."""
    ann: AnnSettings | None = None
    """Approximate search for big stores (set when the store is created); ``None``: exact search."""
    milvus_filterable: list[str] = Field(default_factory=list)
    """Milvus only: string attributes stored as ``VARCHAR`` fields for fast filters (a JSON filter
    costs ~40 ms at 200k rows against ~4 ms); fixed when the store is created."""
    limits: FieldLimits = FieldLimits()
    """Size limits on catalogue rows and posted products."""
    modalities: list[str] | None = None
    """Registered modalities a new store is made with (``None``: all); an existing store keeps its columns."""
    speech: ComponentSpec | None = ComponentSpec(name="whisper")
    """Speech recogniser for the ``speech`` modality (product audio and video soundtracks)."""
    sound: ComponentSpec | None = ComponentSpec(name="yamnet")
    """Acoustic encoder and event tagger for the ``audio`` modality."""
    video_sample_fps: float = Field(default=2.0, gt=0, le=30)
    """Video frames looked at per second (shots, keyframes and motion come from these)."""
    video_max_frames: int = Field(default=240, ge=1, le=10_000)
    """Most frames looked at per video; longer videos are sampled more sparsely."""
    video_time_budget: float = Field(default=60.0, gt=0)
    """Seconds of decoding per video before the frames read so far are used (a warning says so)."""
    max_audio_seconds: float = Field(default=600.0, gt=0)
    """Seconds of a product's sound that are analysed (the rest is cut, with a warning)."""
    variant_attribute: str | None = None
    """An attribute naming each product's variant group (H&M's ``product_code``): search shows one
    hit per group, the others under its ``variants``, as it does for same-title near-identical photos."""
