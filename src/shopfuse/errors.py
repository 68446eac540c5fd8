"""The one exception hierarchy of shopfuse: catch ``ShopfuseError`` to catch them all."""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ConfigError",
    "EncoderMismatchError",
    "FilterError",
    "MediaError",
    "MissingDependencyError",
    "ShopfuseError",
    "StoreDamagedError",
    "StoreError",
]


class ShopfuseError(Exception):
    """Base class of every error shopfuse raises on purpose."""


class ConfigError(ShopfuseError, ValueError):
    """A configuration, field mapping or option is invalid."""


class CatalogError(ShopfuseError, ValueError):
    """A catalogue file cannot be read at all (unknown format, unreadable, no id column...)."""


class MediaError(ShopfuseError, ValueError):
    """A media file (image, video, audio) is missing, corrupt, too large or unsupported."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StoreError(ShopfuseError):
    """The vector store is missing, corrupt, or was asked something it cannot do."""


class EncoderMismatchError(StoreError):
    """A query vector was made by another encoder than the one that made the store's vectors."""


class StoreDamagedError(StoreError):
    """A store file or folder (``part``) is missing or corrupt; the message says how to recover."""

    def __init__(self, store: str, part: str, reason: str, advice: str) -> None:
        super().__init__(f"damaged store {store}: {part} {reason}. {advice}")
        self.store = store
        self.part = part
        self.reason = reason


class FilterError(StoreError, ValueError):
    """A search filter (``where``) is outside the filter language or could not be evaluated."""


class MissingDependencyError(ShopfuseError, ImportError):
    """An optional package needed by the requested component is not installed."""

    def __init__(self, package: str, extra: str, purpose: str, *, how: str | None = None) -> None:
        how = how or f"pip install 'shopfuse[{extra}]'"
        super().__init__(f"{purpose} needs the package {package!r}; install it with `{how}`")
        self.package = package
        self.extra = extra
