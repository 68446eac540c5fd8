"""shopfuse: multimodal product understanding and search that runs offline on a laptop.

The public API: open a store with :class:`Engine`, ingest catalogues, search by text or photo.
"""

from typing import TYPE_CHECKING, Any

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig
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
from shopfuse.types import Hit, Modality, Problem, Product

if TYPE_CHECKING:
    from shopfuse.catalog.load import Catalog, load_catalog
    from shopfuse.engine import Engine
    from shopfuse.tasks.ingest import IngestReport

__version__ = "0.1.0"

_LAZY = {
    "Catalog": "shopfuse.catalog.load",
    "load_catalog": "shopfuse.catalog.load",
    "Engine": "shopfuse.engine",
    "IngestReport": "shopfuse.tasks.ingest",
}
"""Names imported on first use: they pull in torch, LanceDB and the encoders (~1.5 s), which
``shopfuse --help`` and a command's usage errors do not need."""


def __getattr__(name: str) -> Any:
    """Import the heavy public names when they are first asked for (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shopfuse' has no attribute {name!r}")


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
