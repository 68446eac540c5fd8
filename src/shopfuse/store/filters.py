"""The one filter language of every store: a small SQL subset parsed into a typed tree.

Filters (``where``) arrive from HTTP users, so no user text ever reaches a database: the text is
parsed with sqlglot, every node is checked against a whitelist and turned into the frozen
dataclasses below, and each store writes its own query language from that tree (:func:`to_sql`
for Lance/DataFusion here, :func:`shopfuse.store.milvus_filter.to_milvus` for Milvus).

The language, with DataFusion's quoting (``'text'``, ``"name"`` or ``` `name` ```)::

    condition := condition AND condition | condition OR condition | NOT condition | ( condition )
               | field op value | value op field          op: = != <> < <= > >=
               | field [NOT] IN (value, ...) | field [NOT] BETWEEN value AND value
               | field [NOT] LIKE 'pattern' | field IS [NOT] NULL
    value     := 'text' | number | -number | TRUE | FALSE

Fields are the product fields in :data:`PRODUCT_FIELDS` and the store's attributes; names are
matched exactly, or ignoring case when unquoted and unambiguous. Names starting with ``_`` are
shopfuse's own columns and never filterable. Functions, casts, arithmetic, subqueries and
comparisons of two fields or two values are refused, and the ``MAX_*`` bounds keep the cost of
parsing and evaluating any accepted filter small: an attacker's
``length(repeat('a', 1000000000)) > 0`` used to cost 12-25 s and 3.8 GB in DataFusion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlglot import exp, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from shopfuse.errors import FilterError

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_LITERAL_CHARS",
    "MAX_NODES",
    "MAX_PATTERN_CHARS",
    "MAX_WILDCARDS",
    "PRODUCT_FIELDS",
    "And",
    "Between",
    "Comparison",
    "Filter",
    "In",
    "IsNull",
    "Like",
    "Not",
    "Or",
    "Value",
    "parse_filter",
    "store_fields",
    "to_arrow",
    "to_sql",
]

MAX_CHARS = 1_000
"""Longest filter text, checked before parsing."""
MAX_NODES = 100
"""Most conditions and AND/OR/NOT operators in one filter (values inside IN or BETWEEN not counted)."""
MAX_DEPTH = 20
"""Deepest nesting of conditions and of parentheses."""
MAX_LITERAL_CHARS = 256
"""Longest text or number value."""
MAX_IN_VALUES = 100
"""Most values in one ``IN (...)`` list."""
MAX_PATTERN_CHARS = 100
"""Longest ``LIKE`` pattern (patterns become matchers whose cost grows with their size)."""
MAX_WILDCARDS = 10
"""Most ``%`` and ``_`` wildcards in one ``LIKE`` pattern."""
MAX_LISTED_FIELDS = 30
"""Error messages name at most this many filterable fields."""
PRODUCT_FIELDS = ("id", "title", "description", "lang", "image", "video", "audio")
"""Product fields every store can filter on (all text), besides its attributes."""

Value = str | int | float | bool
Operator = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; a value written first is moved right and the operator flipped."""

    field: str
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class In:
    """``field IN (values)``."""

    field: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Between:
    """``field BETWEEN low AND high`` (both ends included)."""

    field: str
    low: Value
    high: Value


@dataclass(frozen=True, slots=True)
class Like:
    """``field LIKE pattern`` with SQL wildcards ``%`` and ``_``."""

    field: str
    pattern: str


@dataclass(frozen=True, slots=True)
class IsNull:
    """``field IS NULL``."""

    field: str


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` (two or more)."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` (two or more)."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT item``, with SQL's three-valued logic: NOT of unknown stays unknown."""

    item: Filter


Filter = Comparison | In | Between | Like | IsNull | And | Or | Not

_OPERATORS: dict[type[exp.Expression], Operator] = {
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_FLIPPED: dict[Operator, Operator] = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_INT64 = 2**63
_INTEGER = re.compile(r"\d+")
_OWN_NAME = re.compile(r"(?<![\w$])_\w*")
_ARITHMETIC = (
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.DPipe,
    exp.Neg,
    exp.BitwiseNot,
    exp.BitwiseAnd,
    exp.BitwiseOr,
    exp.BitwiseXor,
)
_KINDS = {"string": "text", "int64": "whole numbers", "float64": "numbers", "bool": "TRUE or FALSE"}
_SUPPORTED = (
    "use comparisons (=, !=, <, <=, >, >=), IN, BETWEEN, LIKE and IS [NOT] NULL of a field "
    "with values, joined by AND, OR and NOT"
)


class _FilterDialect(Dialect):
    """DataFusion's quoting: ``'string'``, ``"name"`` and ``` `name` ```; backslashes are plain text."""

    class Tokenizer(tokens.Tokenizer):
        IDENTIFIERS = ['"', "`"]  # noqa: RUF012  (sqlglot's own class attribute style)
        QUOTES = ["'"]  # noqa: RUF012


def store_fields(attributes: Mapping[str, str]) -> dict[str, str]:
    """Every field a store can filter on, with its type: the product fields, then the attributes."""
    return {**dict.fromkeys(PRODUCT_FIELDS, "string"), **attributes}


def parse_filter(where: str, fields: Collection[str] | Mapping[str, str]) -> Filter:
    """The tree of the filter ``where`` over ``fields``; :class:`FilterError` for anything else.

    ``fields`` maps names to attribute types (``string``, ``int64``, ``float64``, ``bool``) to
    also refuse values a field can never hold (``size = 'x'``), as Lance would while Milvus
    would quietly match nothing; whole-number fields take whole numbers only (``2.0`` is ``2``).
    """
    if len(where) > MAX_CHARS:
        raise FilterError(
            f"invalid filter: it has {len(where):,} characters, at most {MAX_CHARS:,} are allowed"
        )
    if not where.strip():
        raise FilterError("invalid filter: it is empty")
    dialect = _FilterDialect()
    try:
        found = dialect.tokenize(where)
    except TokenError as exc:
        raise FilterError("invalid filter: it cannot be read; is a quote left open?") from exc
    # sqlglot parses parentheses recursively: refuse deep nesting before it recurses
    depth = deepest = 0
    for token in found:
        depth += {tokens.TokenType.L_PAREN: 1, tokens.TokenType.R_PAREN: -1}.get(token.token_type, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise FilterError(f"invalid filter: parentheses nest {deepest} deep, at most {MAX_DEPTH} are allowed")
    try:
        trees = [tree for tree in dialect.parser().parse(found, where) if isinstance(tree, exp.Expression)]
    except ParseError as exc:
        raise FilterError(_parse_message(exc)) from exc
    except RecursionError as exc:  # a long chain of NOTs or minus signs
        raise FilterError(f"invalid filter: it nests more than {MAX_DEPTH} deep") from exc
    if not trees:
        raise FilterError("invalid filter: it holds no condition")
    if len(trees) > 1:
        raise FilterError("invalid filter: it must be one condition (remove the ';')")
    return _Reader(fields).condition(trees[0], 1)


def to_sql(node: Filter) -> str:
    """DataFusion SQL for ``node`` (Lance filters), written from the tree: names in backticks."""
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(to_sql(item) for item in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {to_sql(node.item)})"
    name = _sql_name(node.field)
    if isinstance(node, Comparison):
        return f"({name} {node.op} {_sql_value(node.value)})"
    if isinstance(node, In):
        return f"({name} IN ({', '.join(_sql_value(v) for v in node.values)}))"
    if isinstance(node, Between):
        return f"({name} BETWEEN {_sql_value(node.low)} AND {_sql_value(node.high)})"
    if isinstance(node, Like):
        return f"({name} LIKE {_sql_value(node.pattern)})"
    return f"({name} IS NULL)"


def to_arrow(node: Filter, columns: Collection[str]) -> Any:
    """A PyArrow compute expression for ``node``, with SQL's three-valued logic (as :func:`to_sql`).

    For filtering a table held in memory (``table.filter(expression)`` keeps the rows where it is
    true). ``IN`` is written as ORed equalities so that a null field stays unknown under ``NOT``,
    as in SQL; a field ``columns`` lacks is all nulls, as a column Lance adds later would be.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def field(name: str) -> Any:
        return pc.field(name) if name in columns else pc.scalar(pa.scalar(None, pa.null()))

    def build(item: Filter) -> Any:
        if isinstance(item, And | Or):
            parts = [build(part) for part in item.items]
            joined = parts[0]
            for part in parts[1:]:
                joined = (joined & part) if isinstance(item, And) else (joined | part)
            return joined
        if isinstance(item, Not):
            return ~build(item.item)
        value = field(item.field)
        if isinstance(item, Comparison):
            return _ARROW_OPS[item.op](value, pc.scalar(item.value))
        if isinstance(item, In):
            return build(Or(tuple(Comparison(item.field, "=", v) for v in item.values)))
        if isinstance(item, Between):
            return (value >= pc.scalar(item.low)) & (value <= pc.scalar(item.high))
        if isinstance(item, Like):
            return pc.match_like(value, item.pattern)
        return value.is_null()

    return build(node)


_ARROW_OPS: dict[Operator, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _sql_name(name: str) -> str:
    """A DataFusion identifier; Lance cannot name a column holding a backtick at all."""
    if "`" in name:
        raise FilterError(
            f"invalid filter: the field {name!r} cannot be filtered (its name holds a backtick)"
        )
    return f"`{name}`"


def _sql_value(value: Value) -> str:
    """A DataFusion literal: in strings only the quote is special (backslashes are plain text)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


class _Reader:
    """Turns a sqlglot tree into a :data:`Filter`, accepting only whitelisted nodes."""

    def __init__(self, fields: Collection[str] | Mapping[str, str]) -> None:
        self.fields = [name for name in fields if not name.startswith("_")]
        self.types = dict(fields) if isinstance(fields, Mapping) else {}
        self.nodes = 0

    def condition(self, node: exp.Expression, depth: int) -> Filter:
        """A boolean node at nesting ``depth``."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FilterError(f"invalid filter: it holds more than {MAX_NODES} conditions and operators")
        if depth > MAX_DEPTH:
            raise FilterError(f"invalid filter: it nests more than {MAX_DEPTH} deep")
        node = _unwrap(node)
        kind = type(node)
        if kind is exp.And or kind is exp.Or:
            items = tuple(self.condition(part, depth + 1) for part in _operands(node, kind))
            return And(items) if kind is exp.And else Or(items)
        if kind is exp.Not:
            return Not(self.condition(node.this, depth + 1))
        if kind in _OPERATORS:
            return self.comparison(node, _OPERATORS[kind])
        if kind is exp.In:
            return self.membership(node)
        if kind is exp.Between:
            _only(node, "this", "low", "high")
            field = self.field(node.this)
            return Between(field, self.value(node.args["low"], field), self.value(node.args["high"], field))
        if kind is exp.Is:
            _only(node, "this", "expression", "negate")
            if not isinstance(node.expression, exp.Null):
                raise FilterError(
                    f"invalid filter: {_shown(node)}: only IS NULL and IS NOT NULL are supported"
                )
            test = IsNull(self.field(node.this))
            return Not(test) if node.args.get("negate") else test
        if kind is exp.Like:
            return self.like(node)
        raise _refused(node)

    def comparison(self, node: exp.Expression, op: Operator) -> Comparison:
        """``field op value`` or ``value op field``."""
        _only(node, "this", "expression")
        left, right = _unwrap(node.this), _unwrap(node.expression)
        if isinstance(left, exp.Column) and isinstance(right, exp.Column):
            raise FilterError(
                f"invalid filter: {_shown(node)} compares two fields; compare a field with a value "
                "(text goes in single quotes: 'x'; double quotes name a field)"
            )
        if isinstance(left, exp.Column):
            field = self.field(left)
            return Comparison(field, op, self.value(right, field))
        if isinstance(right, exp.Column):
            field = self.field(right)
            return Comparison(field, _FLIPPED[op], self.value(left, field))
        # a function or arithmetic on either side is the clearer complaint
        self.value(left)
        self.value(right)
        raise FilterError(f"invalid filter: {_shown(node)} compares two values; compare a field with a value")

    def membership(self, node: exp.Expression) -> In:
        """``field IN (values)``."""
        if node.args.get("query") is not None:
            raise FilterError(f"invalid filter: {_shown(node)}: subqueries are not allowed")
        _only(node, "this", "expressions")
        field = self.field(node.this)
        if not node.expressions:
            raise FilterError(f"invalid filter: {_shown(node)}: IN needs at least one value")
        if len(node.expressions) > MAX_IN_VALUES:
            raise FilterError(
                f"invalid filter: IN has {len(node.expressions)} values, at most {MAX_IN_VALUES} are allowed"
            )
        return In(field, tuple(self.value(v, field) for v in node.expressions))

    def like(self, node: exp.Expression) -> Filter:
        """``field [NOT] LIKE 'pattern'`` with a bounded pattern."""
        _only(node, "this", "expression", "negate")
        field = self.field(node.this)
        pattern = _unwrap(node.expression)
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise FilterError(f"invalid filter: {_shown(node)}: LIKE needs a 'quoted' pattern")
        if self.types.get(field, "string") != "string":
            raise FilterError(
                f"invalid filter: {_shown(node)}: LIKE matches text, but {field!r} holds "
                f"{_KINDS.get(self.types[field], self.types[field])}"
            )
        text = pattern.this
        if len(text) > MAX_PATTERN_CHARS:
            raise FilterError(
                f"invalid filter: a LIKE pattern has {len(text)} characters, "
                f"at most {MAX_PATTERN_CHARS} are allowed"
            )
        wildcards = text.count("%") + text.count("_")
        if wildcards > MAX_WILDCARDS:
            raise FilterError(
                f"invalid filter: a LIKE pattern has {wildcards} wildcards (% and _), "
                f"at most {MAX_WILDCARDS} are allowed"
            )
        test = Like(field, text)
        return Not(test) if node.args.get("negate") else test

    def field(self, node: exp.Expression) -> str:
        """The product field or attribute a name means."""
        node = _unwrap(node)
        if not isinstance(node, exp.Column):
            if isinstance(node, exp.Literal | exp.Boolean | exp.Neg | exp.Null):
                raise FilterError(f"invalid filter: {_shown(node)} is a value where a field name belongs")
            raise _refused(node)
        if set(_set_args(node)) != {"this"} or not isinstance(node.this, exp.Identifier):
            raise FilterError(
                f"invalid filter: {_shown(node)} is not a field name (write names without a table)"
            )
        name, quoted = node.this.this, bool(node.this.args.get("quoted"))
        if name.startswith("_"):
            raise FilterError(f"invalid filter: field names cannot start with '_'; {self.listing()}")
        if name in self.fields:
            return name
        folded = [f for f in self.fields if f.lower() == name.lower()]
        if len(folded) == 1 and not quoted:
            return folded[0]
        raise FilterError(f"invalid filter: unknown field {_clipped(name)!r}; {self.listing()}")

    def value(self, node: exp.Expression, field: str | None = None) -> Value:
        """A text, number or boolean literal, of the type of ``field`` when that is known."""
        value = self.literal(node)
        kind = self.types.get(field or "")
        if kind is None or kind not in _KINDS:
            return value
        fits = {
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int64": isinstance(value, int | float) and not isinstance(value, bool),
            "float64": isinstance(value, int | float) and not isinstance(value, bool),
        }[kind]
        if fits and kind == "int64" and isinstance(value, float):
            # Lance refuses 2.0 for a whole-number column; Milvus would take 2.5 and compare
            fits = value.is_integer() and -_INT64 < value < _INT64
            value = int(value) if fits else value
        if not fits:
            raise FilterError(f"invalid filter: {field!r} holds {_KINDS[kind]}, not {_literal(value)}")
        return value

    def literal(self, node: exp.Expression) -> Value:
        """A text, number or boolean literal."""
        node = _unwrap(node)
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Literal) and node.is_string:
            text: str = node.this
            if len(text) > MAX_LITERAL_CHARS:
                raise FilterError(
                    f"invalid filter: a value has {len(text)} characters, "
                    f"at most {MAX_LITERAL_CHARS} are allowed"
                )
            return text
        if isinstance(node, exp.Literal):
            return _number(node.this)
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            return -_number(node.this.this)
        if isinstance(node, exp.Null):
            raise FilterError("invalid filter: compare with NULL using IS NULL or IS NOT NULL")
        if isinstance(node, exp.Column):
            raise FilterError(
                f"invalid filter: {_shown(node)} is a name where a value belongs; quote text: 'x'"
            )
        raise _refused(node)

    def listing(self) -> str:
        """The filterable fields, for error messages."""
        shown = ", ".join(self.fields[:MAX_LISTED_FIELDS]) or "none"
        more = len(self.fields) - MAX_LISTED_FIELDS
        return f"filterable fields: {shown}" + (f" and {more} more" if more > 0 else "")


def _literal(value: Value) -> str:
    """``value`` as the filter language writes it, for error messages."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(_clipped(value)) if isinstance(value, str) else repr(value)


def _unwrap(node: exp.Expression) -> exp.Expression:
    """``node`` without surrounding parentheses."""
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _operands(node: exp.Expression, kind: type[exp.Expression]) -> list[exp.Expression]:
    """The operands of a chain of ``kind`` (AND or OR) as one flat list, in order."""
    operands: list[exp.Expression] = []
    pending = [node]
    while pending:
        current = _unwrap(pending.pop())
        if type(current) is kind:
            _only(current, "this", "expression")
            pending += [current.expression, current.this]
        else:
            operands.append(current)
    return operands


def _set_args(node: exp.Expression) -> list[str]:
    """Names of the arguments that ``node`` has set."""
    return [key for key, value in node.args.items() if value not in (None, False, [])]


def _only(node: exp.Expression, *allowed: str) -> None:
    """Refuse ``node`` if it uses any argument besides ``allowed`` (ESCAPE, SYMMETRIC, ...)."""
    if set(_set_args(node)) - set(allowed):
        raise FilterError(f"invalid filter: {_shown(node)} is not supported; {_SUPPORTED}")


def _number(text: str) -> int | float:
    """A finite number in the range of a 64-bit integer or double."""
    if len(text) > MAX_LITERAL_CHARS:
        raise FilterError(f"invalid filter: a number has {len(text)} characters, at most {MAX_LITERAL_CHARS}")
    try:
        number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
    except ValueError as exc:
        raise FilterError(f"invalid filter: {_clipped(text)!r} is not a number") from exc
    if isinstance(number, int) and not -_INT64 < number < _INT64:
        raise FilterError(f"invalid filter: the number {_clipped(text)} is too large")
    if number != number or number in (float("inf"), float("-inf")):
        raise FilterError(f"invalid filter: {_clipped(text)!r} is not a finite number")
    return number


def _refused(node: exp.Expression) -> FilterError:
    """The error for a node outside the language, saying what it is."""
    shown = _shown(node)
    if isinstance(node, exp.Subquery | exp.Query):
        return FilterError(f"invalid filter: {shown}: subqueries are not allowed")
    if isinstance(node, exp.Func):
        return FilterError(f"invalid filter: {shown}: functions and casts are not allowed; {_SUPPORTED}")
    if isinstance(node, _ARITHMETIC):
        return FilterError(
            f"invalid filter: {shown}: arithmetic and concatenation are not allowed; {_SUPPORTED}"
        )
    if isinstance(node, exp.Column):
        return FilterError(
            f"invalid filter: {shown} alone is not a condition; "
            f"compare it with a value, e.g. {_clipped(node.sql())} = 'x'"
        )
    if isinstance(node, exp.Literal | exp.Boolean | exp.Null):
        return FilterError(f"invalid filter: the value {shown} alone is not a condition; {_SUPPORTED}")
    return FilterError(f"invalid filter: {shown} is not supported; {_SUPPORTED}")


def _shown(node: exp.Expression) -> str:
    """A short quote of the user's filter around ``node``, for error messages."""
    return repr(_clipped(node.sql(dialect=_FilterDialect)))


def _clipped(text: str) -> str:
    """``text`` cut to 60 characters, with ``_``-prefixed words (shopfuse's own columns) hidden."""
    text = _OWN_NAME.sub("_…", text)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_message(exc: ParseError) -> str:
    """A parse error in the user's terms, without sqlglot's terminal colour codes."""
    first = exc.errors[0] if exc.errors else {}
    near = _clipped(str(first.get("highlight") or "").strip())
    where = f" at column {first['col']}" if first.get("col") else ""
    near_text = f" near {near!r}" if near else ""
    return f"invalid filter: it cannot be parsed{where}{near_text}; {_SUPPORTED}"
