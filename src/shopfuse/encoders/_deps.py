"""The encoders' name for :mod:`shopfuse.optional` (other packages import that directly)."""

from shopfuse.optional import package_version, require

__all__ = ["package_version", "require"]
