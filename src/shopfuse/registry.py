"""One registry for every pluggable component, looked up by kind and name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from shopfuse.errors import ConfigError

__all__ = ["Registry", "registry"]

Factory = Callable[..., Any]

BUILT_IN = (
    "shopfuse.encoders",
    "shopfuse.store",
    "shopfuse.alignment",
    "shopfuse.fusion",
    "shopfuse.recommend.methods",
    "shopfuse.modalities",
    "shopfuse.content",
    "shopfuse.creative",
)
"""Packages whose modules register the built-in components; imported on the first lookup, so
importing shopfuse (and ``shopfuse --help``) does not load torch and LanceDB."""


class Registry:
    """Maps ``(kind, name)`` to a factory; components register themselves on import."""

    def __init__(self, built_in: tuple[str, ...] = ()) -> None:
        self._factories: dict[str, dict[str, Factory]] = {}
        self._built_in = built_in
        self._loaded = False

    def _load_built_in(self) -> None:
        """Import the built-in component packages once (they register themselves)."""
        if not self._loaded:
            self._loaded = True
            for module in self._built_in:
                importlib.import_module(module)

    def register(self, kind: str, name: str) -> Callable[[Factory], Factory]:
        """Decorator registering ``factory`` as component ``name`` of ``kind``."""

        def decorate(factory: Factory) -> Factory:
            entries = self._factories.setdefault(kind, {})
            if name in entries and entries[name] is not factory:
                raise ConfigError(f"{kind} {name!r} is registered twice")
            entries[name] = factory
            return factory

        return decorate

    def unregister(self, kind: str, name: str) -> None:
        """Remove an entry (a plug-in being unloaded; tests that register a temporary one)."""
        self._factories.get(kind, {}).pop(name, None)

    def names(self, kind: str) -> list[str]:
        """Sorted names registered under ``kind``."""
        self._load_built_in()
        return sorted(self._factories.get(kind, {}))

    def kinds(self) -> list[str]:
        """Sorted kinds that have at least one entry."""
        self._load_built_in()
        return sorted(self._factories)

    def get(self, kind: str, name: str) -> Factory:
        """The factory of ``name``; a clear error lists the valid names."""
        self._load_built_in()
        entries = self._factories.get(kind, {})
        if name not in entries:
            valid = ", ".join(sorted(entries)) or "none"
            raise ConfigError(f"unknown {kind} {name!r}; choose one of: {valid}")
        return entries[name]

    def create(self, kind: str, name: str, **params: Any) -> Any:
        """Build component ``name`` of ``kind`` with ``params``."""
        return self.get(kind, name)(**params)


registry = Registry(BUILT_IN)
