"""Which store backend a location holds, and where a store's engine config lives.

A location is a folder (a Lance store, or a Milvus Lite store when it holds ``milvus.db``) or a
``milvus://host:port/collection`` URI. A folder keeps the engine config in ``engine.json``; a
Milvus server store keeps it as a document in its meta collection, so it travels with the
collection. Reports and caches of a URI store go to a local work folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shopfuse.config import EngineConfig, StoreBackend, cache_root
from shopfuse.encoders.base import EncoderInfo
from shopfuse.errors import ConfigError, StoreError
from shopfuse.registry import registry
from shopfuse.store.base import VectorStore
from shopfuse.store.integrity import damaged
from shopfuse.store.milvus import LITE_FILE, MilvusStore, is_milvus_uri, parse_location, read_document_at

__all__ = [
    "CONFIG_FILE",
    "backend_of",
    "create_store",
    "open_store",
    "read_engine_config",
    "work_folder",
    "write_engine_config",
]

CONFIG_FILE = "engine.json"
CONFIG_DOCUMENT = "engine"


def backend_of(location: str | Path, preferred: StoreBackend = "lance") -> StoreBackend:
    """The backend at ``location``: Milvus for a URI or a folder holding ``milvus.db``, else Lance.

    ``preferred`` decides for a folder that holds no store yet.
    """
    if is_milvus_uri(location):
        return "milvus"
    folder = Path(location)
    if (folder / LITE_FILE).exists():
        return "milvus"
    if (folder / "store.json").exists():
        return "lance"
    return preferred


def work_folder(location: str | Path) -> Path:
    """A local folder for reports and caches: the store folder, or one per Milvus collection."""
    if not is_milvus_uri(location):
        return Path(location)
    parsed = parse_location(location)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{parsed.uri.split('://', 1)[1]}-{parsed.collection}")
    return cache_root() / "milvus" / name


def create_store(location: str | Path, columns: dict[str, EncoderInfo], config: EngineConfig) -> VectorStore:
    """A new empty store at ``location`` with the backend and ANN settings of ``config``."""
    factory: Any = registry.get("store", backend_of(location, config.store_backend))
    extra = (
        {"filterable": config.milvus_filterable}
        if factory is MilvusStore and config.milvus_filterable
        else {}
    )
    store: VectorStore = factory.create(location, columns, ann=config.ann, **extra)
    return store


def open_store(location: str | Path) -> VectorStore:
    """The existing store at ``location``."""
    factory: Any = registry.get("store", backend_of(location))
    store: VectorStore = factory(location)
    return store


def read_engine_config(location: str | Path) -> EngineConfig | None:
    """The engine config saved with the store at ``location``; ``None`` when there is no store."""
    if not is_milvus_uri(location):
        saved = Path(location) / CONFIG_FILE
        if not saved.is_file() and (Path(location) / "store.json").is_file():
            raise damaged(location, CONFIG_FILE, "is missing (it names the encoders that made the vectors)")
        return EngineConfig.load(saved) if saved.is_file() else None
    text = read_document_at(parse_location(location), CONFIG_DOCUMENT)
    if text is None:
        return None
    try:
        return EngineConfig.model_validate_json(text)
    except ValueError as exc:
        raise ConfigError(f"invalid engine config stored with {location}: {exc}") from exc


def write_engine_config(location: str | Path, store: VectorStore, config: EngineConfig) -> None:
    """Save ``config`` with the store: ``engine.json`` in a folder, a meta document in Milvus."""
    if not is_milvus_uri(location):
        config.save(Path(location) / CONFIG_FILE)
    elif isinstance(store, MilvusStore):
        store.write_document(CONFIG_DOCUMENT, config.model_dump_json())
    else:
        raise StoreError(f"{location} is a Milvus location but the store is {type(store).__name__}")
