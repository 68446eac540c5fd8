"""Filters of the shared language (:mod:`shopfuse.store.filters`) written as Milvus boolean expressions.

The expression is written from the parsed tree, so no user text reaches Milvus. SQL's
three-valued logic is kept: a comparison with a missing value is *unknown*, and ``NOT`` of
unknown stays unknown (the row does not match). Each node is therefore translated to a pair of
expressions, one true where the SQL is true and one true where it is false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from shopfuse.errors import FilterError
from shopfuse.store.filters import And, Between, Comparison, Filter, In, IsNull, Not, Or, Value

__all__ = ["join_and", "to_milvus"]

_OPERATORS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

Pair = tuple[str, str]
"""``(true where the SQL is true, true where the SQL is false)``."""


def to_milvus(node: Filter, resolve: Callable[[str], str], *, exists: bool = False) -> str:
    """The Milvus expression for the filter ``node``; ``resolve(field)`` gives a field's expression.

    ``exists``: Milvus 2.3's dialect, which has no ``is null``: a JSON key is null when it is
    absent (``not exists doc["key"]``), so the store must leave out the keys of missing values.
    """
    return _pair(node, resolve, exists)[0]


def _pair(node: Filter, resolve: Callable[[str], str], exists: bool = False) -> Pair:
    """The pair of expressions for ``node``."""
    if isinstance(node, And | Or):
        pairs = [_pair(item, resolve, exists) for item in node.items]
        # De Morgan: an AND is false where any item is false, an OR where all items are
        joiner, negated = (" and ", " or ") if isinstance(node, And) else (" or ", " and ")
        return (
            "(" + joiner.join(true for true, _ in pairs) + ")",
            "(" + negated.join(false for _, false in pairs) + ")",
        )
    if isinstance(node, Not):
        true, false = _pair(node.item, resolve, exists)
        return false, true
    field = resolve(node.field)
    null, present = _null_tests(field, exists)
    if isinstance(node, IsNull):
        return f"({null})", f"({present})"
    if isinstance(node, Comparison):
        return _known(present, f"({field} {_OPERATORS[node.op]} {_value(node.value)})")
    if isinstance(node, In):
        # an OR of equalities: Milvus Lite has no `in` on JSON keys
        return _known(present, "(" + " or ".join(f"{field} == {_value(v)}" for v in node.values) + ")")
    if isinstance(node, Between):
        return _known(present, f"({field} >= {_value(node.low)} and {field} <= {_value(node.high)})")
    if exists and not _prefix_pattern(node.pattern):
        raise FilterError(
            f"invalid filter: LIKE {node.pattern!r} on a Milvus 2.3 server, which matches only "
            "prefixes ('abc%') or whole values without wildcards"
        )
    return _known(present, f"({field} like {_value(node.pattern)})")


def _prefix_pattern(pattern: str) -> bool:
    """Whether a LIKE pattern is a prefix (``abc%``) or a plain value, all Milvus 2.3 can match."""
    body = pattern[:-1] if pattern.endswith("%") else pattern
    return "%" not in body and "_" not in body


def _null_tests(field: str, exists: bool) -> Pair:
    """``(field is null, field is not null)`` in the dialect.

    A plain field is the id (never empty) or a filterable attribute's ``VARCHAR``, which cannot be
    null and holds ``""`` for a missing value, in either dialect.
    """
    if not field.startswith("doc["):
        return f'{field} == ""', f'{field} != ""'
    if not exists:
        return f"{field} is null", f"{field} is not null"
    return f"not (exists {field})", f"(exists {field})"  # parenthesised: 2.3 binds ``exists`` loosely


def _known(present: str, true: str) -> Pair:
    """The pair for a test that is unknown (neither true nor false) where the field is null."""
    return true, f"({present} and not {true})"


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
