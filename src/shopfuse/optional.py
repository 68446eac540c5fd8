"""Importing optional packages with an error that names the extra to install."""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from shopfuse.errors import MissingDependencyError

__all__ = ["package_version", "require"]


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
