"""Importing optional packages with an error that names the extra to install."""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from shopfuse.errors import MissingDependencyError

__all__ = ["LazyModels", "package_version", "require"]


def require(module: str, package: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``package`` and ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package, extra, purpose) from exc


@functools.cache
def package_version(package: str) -> str:
    """Installed version of ``package``, or ``unknown``."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


class LazyModels:
    """Base of classes whose models load on first use (``functools.cached_property``).

    Pickling one leaves the loaded models out: a copy sent to another process (a Ray actor, a
    worker) loads its own on first use, as the original did. Loaded models hold native handles
    (ONNX sessions, TFLite interpreters, ctypes pointers) that cannot be pickled at all.
    """

    def __getstate__(self) -> dict[str, Any]:
        lazy = {
            name
            for klass in type(self).__mro__
            for name, member in vars(klass).items()
            if isinstance(member, functools.cached_property)
        }
        return {name: value for name, value in self.__dict__.items() if name not in lazy}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
