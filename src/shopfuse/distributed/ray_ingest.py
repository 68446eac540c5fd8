"""Ingest on a Ray cluster: the changed products become a Ray Dataset, encoded by actor pools.

The pipeline is the local one (:func:`shopfuse.tasks.ingest.ingest`) cut into stages:

* the driver coerces attributes, hashes every product with :func:`~shopfuse.tasks.ingest.content_hash`
  and keeps those whose hash the store does not hold (incremental sync, resume after a kill);
* one actor pool decodes product photos (when a photo modality is active), then one actor pool per
  active modality (text, image, OCR...) runs that modality's extractor; each actor unpickles the
  :class:`~shopfuse.tasks.ingest.ProductEncoder` once, so its model loads once per actor, and gets
  batches sized for its encoder (the encoder's own ``batch_size``);
* the driver consumes the stream batch by batch: :meth:`~shopfuse.tasks.ingest.ProductEncoder.finish`
  (language detection, fusion with the shop model, the "no usable modality" check), then **one**
  :meth:`VectorStore.upsert` per batch. The driver's part *is* the local path: :class:`RayEncoding`
  is only the ``encoding`` step handed to :func:`~shopfuse.tasks.ingest.ingest`.

Writing through the driver's store (not ``lance-ray``'s writer) keeps every guarantee the store gives
the local path: the manifest and attribute columns, the moments table written before its product, one
commit per batch so a killed run resumes where it stopped, and the same code for Lance and Milvus.
Encoding, not writing, is the expensive part, so the driver is not the bottleneck.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.catalog.load import Catalog
from shopfuse.errors import ConfigError
from shopfuse.modalities import Batch, modality_spec, modality_specs
from shopfuse.optional import require
from shopfuse.store.base import Record, VectorStore
from shopfuse.tasks.ingest import IngestReport, ProductEncoder, ingest
from shopfuse.types import Problem

__all__ = ["RayEncoding", "RayStats", "connect", "ray_ingest"]

DECODE = "decode"
"""Name of the photo-decoding stage in :class:`RayStats`."""
ENV_PREFIXES = ("SHOPFUSE_", "HF_", "TRANSFORMERS_")
"""Environment the driver passes on to the cluster's workers (caches, offline switches)."""


@dataclass(slots=True)
class RayStats:
    """Where and how fast each stage ran: products, busy seconds and the nodes its actors ran on."""

    nodes: int = 0
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, stage: str, products: int, seconds: float, node: str) -> None:
        """Count one batch of ``stage`` that took ``seconds`` on ``node``."""
        entry = self.stages.setdefault(stage, {"products": 0, "seconds": 0.0, "nodes": []})
        entry["products"] += products
        entry["seconds"] += seconds
        if node not in entry["nodes"]:
            entry["nodes"].append(node)

    def per_actor_throughput(self) -> dict[str, float]:
        """Products per busy second of one actor, per stage."""
        return {
            name: round(s["products"] / s["seconds"], 2) if s["seconds"] else 0.0
            for name, s in self.stages.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "nodes": self.nodes,
            "stages": {
                name: {**s, "seconds": round(s["seconds"], 3), "nodes": len(s["nodes"])}
                for name, s in self.stages.items()
            },
            "per_actor_products_per_s": self.per_actor_throughput(),
        }


@dataclass(slots=True)
class _Item:
    """One product travelling through the stages, pickled into the dataset's ``payload`` column."""

    record: Record
    photos: list[Image.Image] | None = None
    problems: list[Problem] = field(default_factory=list)
    timings: list[tuple[str, int, float, str]] = field(default_factory=list)
    """``(stage, batch size, batch seconds, node)`` for the batches this product was in (first item only)."""


def _unpack(batch: dict[str, Any]) -> list[_Item]:
    return [pickle.loads(blob) for blob in batch["payload"]]


def _pack(items: list[_Item]) -> dict[str, np.ndarray]:
    payload = np.empty(len(items), dtype=object)
    payload[:] = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in items]
    return {"payload": payload}


def _attach(items: list[_Item], problems: list[Problem], stage: str, started: float) -> None:
    """Give each problem to the product it names; time the batch on its first product."""
    by_id = {item.record.product.id: item for item in items}
    for problem in problems:
        by_id.get(problem.id or "", items[0]).problems.append(problem)
    node = _node_id()
    items[0].timings.append((stage, len(items), time.perf_counter() - started, node))


def _node_id() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


class _DecodeStage:
    """Actor: reads and decodes product photos once, for every photo modality after it."""

    def __init__(self, encoder: bytes) -> None:
        self.components = pickle.loads(encoder).components

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        items = _unpack(batch)
        media = Batch([item.record for item in items], self.components)
        for i, item in enumerate(items):
            item.photos = media.photos(i)
        _attach(items, media.problems, DECODE, started)
        return _pack(items)


class _ModalityStage:
    """Actor: one modality's extractor, its model loaded once when the first batch comes."""

    def __init__(self, encoder: bytes, modality: str) -> None:
        self.components = pickle.loads(encoder).components
        self.modality = modality
        extractor = modality_spec(modality).build(self.components)
        if extractor is None:
            raise ConfigError(f"modality {modality!r} is switched off for this run; it has no stage")
        self.extractor = extractor

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        items = _unpack(batch)
        photos = {i: item.photos for i, item in enumerate(items) if item.photos is not None}
        media = Batch([item.record for item in items], self.components, _photos=photos)
        self.extractor.extract(media)
        _attach(items, media.problems, self.modality, started)
        return _pack(items)


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """Ray connected to ``address`` (``auto``: the cluster running on this machine, else a new local one).

    A connection made here is closed on exit; one already open (a test's) is used as it is.
    """
    ray = require("ray", "ray[data]", "distributed", "ingest on a Ray cluster (--ray)")
    require("ray.data", "ray[data]", "distributed", "ingest on a Ray cluster (--ray)")
    if ray.is_initialized():
        yield ray
        return
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    options: dict[str, Any] = {
        "runtime_env": {"env_vars": env},
        "log_to_driver": False,
        "logging_level": "WARNING",
    }
    try:
        ray.init(address=address, **options)
    except ConnectionError as exc:
        if address != "auto":
            raise ConfigError(f"--ray {address}: no Ray cluster answers there ({exc})") from exc
        ray.init(**options)
    try:
        yield ray
    finally:
        ray.shutdown()


def _stage_batch(modality: str, encoder: ProductEncoder, default: int) -> int:
    """Batch size for a modality's stage: its encoder's own, else ``default``."""
    kinds = {
        "text_encoder": encoder.components.text,
        "image_encoder": encoder.components.image,
        "ocr": encoder.components.ocr,
        "speech": encoder.components.speech,
        "sound": encoder.components.sound,
    }
    size = getattr(kinds.get(modality_spec(modality).encoder), "batch_size", None)
    return int(size) if isinstance(size, int) and size > 0 else default


@dataclass(slots=True)
class RayEncoding:
    """:class:`~shopfuse.tasks.ingest.Encoding` on the Ray cluster at ``address`` (see the module docstring).

    ``actors`` per stage defaults to the cluster's node count, spread over the nodes; ``stats``
    (when given) receives where each stage ran and how fast.
    """

    address: str = "auto"
    actors: int | None = None
    stats: RayStats | None = None

    def __call__(
        self, encoder: ProductEncoder, todo: list[Record], batch_size: int, progress: bool
    ) -> Iterator[tuple[int, list[Record], list[Problem]]]:
        if not todo:
            return
        with connect(self.address) as ray:
            for items in _encode(ray, todo, encoder, batch_size, progress, self.actors, self.stats):
                problems = [problem for item in items for problem in item.problems]
                kept, problems = encoder.finish([item.record for item in items], problems)
                yield len(items), kept, problems


def ray_ingest(
    catalog: Catalog,
    store: VectorStore,
    encoder: ProductEncoder,
    *,
    address: str = "auto",
    actors: int | None = None,
    stats: RayStats | None = None,
    **options: Any,
) -> IngestReport:
    """:func:`~shopfuse.tasks.ingest.ingest` (same ``options``) with the extractors on a Ray cluster.

    Same hashes, records, report, commits and resume as the local path: only the encoding moves.
    """
    return ingest(catalog, store, encoder, encoding=RayEncoding(address, actors, stats), **options)


def _encode(
    ray: Any,
    todo: list[Record],
    encoder: ProductEncoder,
    batch_size: int,
    progress: bool,
    actors: int | None,
    stats: RayStats | None,
) -> Iterator[list[_Item]]:
    """The encoded products, a store batch at a time, as the cluster finishes them."""
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = progress
    context.print_on_execution_start = False
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    size = actors or max(1, nodes)
    active = encoder.active
    photo_stage = any("image" in spec.fields for spec in modality_specs() if spec.name in active)
    stages = len(active) + int(photo_stage)
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    # every pool must fit at once beside Ray Data's own tasks, or the stream stalls
    share = max(0.05, min(1.0, round(cpus / (stages * size + 1), 2)))
    context.scheduling_strategy = "SPREAD"  # Ray Data's default, said here: each pool over the nodes
    # cloudpickle: the extractors hold lambdas; loaded models stay behind (LazyModels)
    blob = ray.cloudpickle.dumps(encoder)
    items = [{"payload": pickle.dumps(_Item(record))} for record in todo]
    # at least one block per actor of a pool (else some actors idle), about 8 products per block
    blocks = min(len(items), max(size, min(len(items) // 8, 200)))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    if photo_stage:
        ds = ds.map_batches(
            _DecodeStage,
            fn_constructor_args=(blob,),
            batch_size=_stage_batch("image", encoder, 32) if "image" in active else 32,
            batch_format="numpy",
            compute=ActorPoolStrategy(size=size),
            num_cpus=share,
        )
    for modality in active:
        ds = ds.map_batches(
            _ModalityStage,
            fn_constructor_args=(blob, modality),
            batch_size=_stage_batch(modality, encoder, 32),
            batch_format="numpy",
            compute=ActorPoolStrategy(size=size),
            num_cpus=share,
        )
    if stats is not None:
        stats.nodes = nodes
    for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
        done = _unpack(batch)
        if stats is not None:
            for item in done:
                for stage, count, seconds, node in item.timings:
                    stats.add(stage, count, seconds, node)
        yield done
