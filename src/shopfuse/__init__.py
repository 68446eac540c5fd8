"""shopfuse: multimodal product understanding and search that runs offline on a laptop.

The public API: open a store with :class:`Engine`, ingest catalogues, search by text or photo.
"""

from shopfuse.catalog.load import Catalog, load_catalog
from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.engine import Engine
from shopfuse.errors import (
    CatalogError,
    ConfigError,
    EncoderMismatchError,
    FilterError,
    MediaError,
    MissingDependencyError,
    ShopfuseError,
    StoreDamagedError,
    StoreError,
)
from shopfuse.registry import registry
from shopfuse.tasks.ingest import IngestReport
from shopfuse.types import Hit, Modality, Problem, Product

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "CatalogError",
    "ComponentSpec",
    "ConfigError",
    "EncoderMismatchError",
    "Engine",
    "EngineConfig",
    "FieldMapping",
    "FilterError",
    "Hit",
    "IngestReport",
    "MediaError",
    "MissingDependencyError",
    "Modality",
    "Problem",
    "Product",
    "ShopfuseError",
    "StoreDamagedError",
    "StoreError",
    "__version__",
    "load_catalog",
    "registry",
]
