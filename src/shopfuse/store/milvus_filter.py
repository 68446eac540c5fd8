"""Our SQL filter subset, parsed with sqlglot and rewritten as a Milvus boolean expression.

Filters arrive from HTTP users, so nothing is passed through as text: the SQL is parsed, every
node is checked against a whitelist (comparisons, ``AND``/``OR``/``NOT``, ``IN``, ``BETWEEN``,
``IS [NOT] NULL``, ``[NOT] LIKE``, parentheses, string/number/boolean literals, and names of
product fields or attributes) and the Milvus expression is written from the tree.

SQL's three-valued logic is kept: a comparison with a missing value is *unknown*, and ``NOT``
of unknown stays unknown (the row does not match). Each node is therefore translated to a pair
of expressions, one true where the SQL is true and one true where it is false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from shopfuse.encoders._deps import require
from shopfuse.errors import StoreError

__all__ = ["translate_filter"]

_COMPARISONS = {"EQ": "==", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

Pair = tuple[str, str]
"""``(true where the SQL is true, true where the SQL is false)``."""


def _dialect() -> Any:
    """A sqlglot dialect with DataFusion's quoting: ``'string'``, ``"name"`` and ``` `name` ```."""
    sqlglot = require("sqlglot", "sqlglot", "milvus", "filters on the Milvus store")
    from sqlglot import tokens
    from sqlglot.dialects.dialect import Dialect

    class FilterDialect(Dialect):
        class Tokenizer(tokens.Tokenizer):
            IDENTIFIERS = ['"', "`"]  # noqa: RUF012  (sqlglot's own class attribute style)
            QUOTES = ["'"]  # noqa: RUF012

    return sqlglot, FilterDialect


def translate_filter(where: str, resolve: Callable[[str, bool], str]) -> str:
    """The Milvus expression for the SQL filter ``where``.

    ``resolve(name, quoted)`` gives the Milvus expression of a product field or attribute
    (raising :class:`StoreError` for unknown names). Anything outside the whitelist raises
    ``StoreError("invalid filter ...")``.
    """
    sqlglot, dialect = _dialect()
    try:
        tree = sqlglot.parse_one(where, dialect=dialect)
    except Exception as exc:  # sqlglot's ParseError / TokenError
        raise StoreError(f"invalid filter {where!r}: {exc}") from exc
    try:
        return _Translator(resolve).node(tree)[0]
    except StoreError as exc:
        raise StoreError(f"invalid filter {where!r}: {exc}") from exc


class _Translator:
    """Walks a sqlglot tree, accepting only whitelisted nodes."""

    def __init__(self, resolve: Callable[[str, bool], str]) -> None:
        self.resolve = resolve

    def node(self, node: Any) -> Pair:
        """The pair of expressions for a boolean node."""
        kind = type(node).__name__
        if kind == "Paren":
            return self.node(node.this)
        if kind == "And":
            (at, af), (bt, bf) = self.node(node.this), self.node(node.expression)
            return f"({at} and {bt})", f"({af} or {bf})"
        if kind == "Or":
            (at, af), (bt, bf) = self.node(node.this), self.node(node.expression)
            return f"({at} or {bt})", f"({af} and {bf})"
        if kind == "Not":
            true, false = self.node(node.this)
            return false, true
        if kind in _COMPARISONS:
            return self.comparison(node, _COMPARISONS[kind])
        if kind == "In":
            return self.membership(node)
        if kind == "Between":
            field = self.field(node.this)
            low, high = self.literal(node.args["low"]), self.literal(node.args["high"])
            return self.known(field, f"({field} >= {low} and {field} <= {high})")
        if kind == "Is":
            if type(node.expression).__name__ != "Null":
                raise StoreError("only IS NULL and IS NOT NULL are supported")
            field = self.field(node.this)
            return f"({field} is null)", f"({field} is not null)"
        if kind == "Like":
            field = self.field(node.this)
            pattern = node.expression
            if not (type(pattern).__name__ == "Literal" and pattern.is_string):
                raise StoreError("LIKE needs a string pattern")
            true, false = self.known(field, f"({field} like {_string(pattern.this)})")
            return (false, true) if node.args.get("negate") else (true, false)
        raise StoreError(f"unsupported expression {node.sql()!r}")

    def comparison(self, node: Any, op: str) -> Pair:
        """``field op literal`` (either side may hold the field)."""
        left, right = node.this, node.expression
        if type(left).__name__ == "Column":
            field, value = self.field(left), self.literal(right)
        elif type(right).__name__ == "Column":
            field, value, op = self.field(right), self.literal(left), _FLIPPED[op]
        else:
            raise StoreError(f"{node.sql()!r} must compare a field with a value")
        return self.known(field, f"({field} {op} {value})")

    def membership(self, node: Any) -> Pair:
        """``field IN (literals)``: an OR of equalities (Milvus Lite has no ``in`` on JSON keys)."""
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            raise StoreError("IN takes a list of values")
        field = self.field(node.this)
        values = [self.literal(v) for v in node.expressions]
        if not values:
            raise StoreError("IN needs at least one value")
        return self.known(field, "(" + " or ".join(f"{field} == {v}" for v in values) + ")")

    @staticmethod
    def known(field: str, true: str) -> Pair:
        """The pair for a test that is unknown (neither true nor false) where ``field`` is null."""
        return true, f"({field} is not null and not {true})"

    def field(self, node: Any) -> str:
        """A product field or attribute name, resolved to its Milvus expression."""
        if type(node).__name__ != "Column" or node.table or type(node.this).__name__ != "Identifier":
            raise StoreError(f"{node.sql()!r} is not a field name")
        return self.resolve(node.this.this, bool(node.this.args.get("quoted")))

    @staticmethod
    def literal(node: Any) -> str:
        """A string, number or boolean literal as Milvus writes it."""
        kind = type(node).__name__
        if kind == "Literal":
            return _string(node.this) if node.is_string else _number(node.this)
        if kind == "Neg" and type(node.this).__name__ == "Literal" and not node.this.is_string:
            return _number("-" + node.this.this)
        if kind == "Boolean":
            return "true" if node.this else "false"
        raise StoreError(f"{node.sql()!r} is not a value")


def _string(value: str) -> str:
    """A Milvus string literal (double quotes, backslash escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _number(text: str) -> str:
    """A number literal, checked to be one."""
    try:
        number = float(text)
    except ValueError as exc:
        raise StoreError(f"{text!r} is not a number") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise StoreError(f"{text!r} is not a finite number")
    return text


def join_and(parts: Iterable[str]) -> str:
    """``a and b and ...`` of the non-empty ``parts``."""
    return " and ".join(f"({p})" for p in parts if p)
