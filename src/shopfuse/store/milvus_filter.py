"""Filters of the shared language (:mod:`shopfuse.store.filters`) written as Milvus boolean expressions.

The expression is written from the parsed tree, so no user text reaches Milvus. SQL's
three-valued logic is kept: a comparison with a missing value is *unknown*, and ``NOT`` of
unknown stays unknown (the row does not match). Each node is therefore translated to a pair of
expressions, one true where the SQL is true and one true where it is false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from shopfuse.store.filters import And, Between, Comparison, Filter, In, IsNull, Not, Or, Value

__all__ = ["join_and", "to_milvus"]

_OPERATORS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

Pair = tuple[str, str]
"""``(true where the SQL is true, true where the SQL is false)``."""


def to_milvus(node: Filter, resolve: Callable[[str], str]) -> str:
    """The Milvus expression for the filter ``node``; ``resolve(field)`` gives a field's expression."""
    return _pair(node, resolve)[0]


def _pair(node: Filter, resolve: Callable[[str], str]) -> Pair:
    """The pair of expressions for ``node``."""
    if isinstance(node, And | Or):
        pairs = [_pair(item, resolve) for item in node.items]
        # De Morgan: an AND is false where any item is false, an OR where all items are
        joiner, negated = (" and ", " or ") if isinstance(node, And) else (" or ", " and ")
        return (
            "(" + joiner.join(true for true, _ in pairs) + ")",
            "(" + negated.join(false for _, false in pairs) + ")",
        )
    if isinstance(node, Not):
        true, false = _pair(node.item, resolve)
        return false, true
    field = resolve(node.field)
    if isinstance(node, IsNull):
        return f"({field} is null)", f"({field} is not null)"
    if isinstance(node, Comparison):
        return _known(field, f"({field} {_OPERATORS[node.op]} {_value(node.value)})")
    if isinstance(node, In):
        # an OR of equalities: Milvus Lite has no `in` on JSON keys
        return _known(field, "(" + " or ".join(f"{field} == {_value(v)}" for v in node.values) + ")")
    if isinstance(node, Between):
        return _known(field, f"({field} >= {_value(node.low)} and {field} <= {_value(node.high)})")
    return _known(field, f"({field} like {_value(node.pattern)})")


def _known(field: str, true: str) -> Pair:
    """The pair for a test that is unknown (neither true nor false) where ``field`` is null."""
    return true, f"({field} is not null and not {true})"


def _value(value: Value) -> str:
    """A Milvus literal: strings in double quotes with backslash escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def join_and(parts: Iterable[str]) -> str:
    """``a and b and ...`` of the non-empty ``parts``."""
    return " and ".join(f"({p})" for p in parts if p)
