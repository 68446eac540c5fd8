"""Attribute column types: inferring them from values and coercing values into them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shopfuse.errors import StoreError

__all__ = [
    "ATTRIBUTE_TYPES",
    "RESERVED_NAMES",
    "attribute_name_problem",
    "attribute_type",
    "check_attribute_name",
    "coerce_attribute",
    "infer_attribute_type",
]

ATTRIBUTE_TYPES = ("string", "int64", "float64", "bool")
RESERVED_NAMES = frozenset(
    {"id", "title", "description", "lang", "image", "images", "video", "audio", "attributes"}
)
"""Product fields: an attribute may not take their names."""
_FORBIDDEN = frozenset('.`"[]{}\\')
"""Characters that name nested fields or quote names in the stores' filter and column syntax."""


def attribute_name_problem(name: str, max_chars: int = 64) -> str | None:
    """Why ``name`` cannot be an attribute (column) name, or None when it can.

    Names may hold letters of any script, digits, spaces and most punctuation, but not ``.``
    (a nested field to Lance), quotes, brackets or control characters, nor start with ``_``
    (shopfuse's own columns).
    """
    shown = repr(name[:80] + ("..." if len(name) > 80 else ""))
    if not name or not name.strip():
        return "empty attribute name"
    if name != name.strip():
        return f"attribute name {shown} starts or ends with spaces"
    if len(name) > max_chars:
        return f"attribute name {shown} is longer than {max_chars} characters"
    if name.startswith("_"):
        return f"attribute name {shown} starts with '_' (reserved for shopfuse's own columns)"
    if name in RESERVED_NAMES:
        return f"attribute name {shown} is a product field"
    bad = sorted({c for c in name if c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127})
    if bad:
        return f"attribute name {shown} contains {''.join(bad)!r}"
    return None


def check_attribute_name(name: str) -> None:
    """Refuse (``StoreError``) a name no store may take as an attribute column: the stores' last line
    behind catalogue and API validation, with a generous length (catalogues set their own)."""
    reason = attribute_name_problem(name, max_chars=1024)
    if reason is not None:
        raise StoreError(f"{reason}; exclude or rename the column")


def attribute_type(value: Any) -> str:
    """Arrow type name for a Python attribute value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def coerce_attribute(value: Any, kind: str) -> Any:
    """Convert ``value`` to the stored column type ``kind``; raises ``ValueError`` if it cannot."""
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if kind == "int64":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if kind == "float64":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    raise ValueError(f"unknown attribute type {kind!r}")


def infer_attribute_type(values: Iterable[Any]) -> str | None:
    """The narrowest type that holds every non-null value; ``None`` when all are null."""
    kinds = {attribute_type(v) for v in values if v is not None}
    if not kinds:
        return None
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {"int64", "float64"}:
        return "float64"
    return "string"
