"""Impression logs and action tables: what was shown, to whom, with what probability, and the click.

A log is CSV or Parquet with one impression per row::

    timestamp, action, position?, reward (or click), propensity, <context columns...>

``propensity`` is the logging policy's probability of the action it took (at that position when
positions are logged). Every other column is context: numbers (user-item affinities, ages) or
categories (hashed user features, segments). :class:`LogMapping` names the columns; the Open Bandit
Dataset's names (``item_id``, ``click``, ``propensity_score``) are recognised without one.

An action table lists the actions (creatives or items) with ``action`` (or ``item_id``), an optional
``product_id`` (the engine's product, for its vectors and attributes), and feature columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.creative.bandit_log import BanditLog
from shopfuse.creative.journal import read_journal
from shopfuse.errors import CatalogError, ConfigError

__all__ = [
    "ALIASES",
    "ActionTable",
    "BanditLog",
    "LogMapping",
    "read_actions",
    "read_log",
]

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time", "ts"),
    "action": ("action", "item_id", "creative_id", "creative", "arm"),
    "position": ("position", "slot"),
    "reward": ("reward", "click", "clicked", "conversion"),
    "propensity": ("propensity", "propensity_score", "action_prob", "pscore"),
}
"""Column names recognised for each field when no mapping names it (Open Bandit's included)."""

MAX_ROWS = 20_000_000
"""A longer log is refused (read it in parts)."""


@dataclass(frozen=True, slots=True)
class LogMapping:
    """Which column holds each field; ``None`` finds it by :data:`ALIASES`."""

    timestamp: str | None = None
    action: str | None = None
    position: str | None = None
    reward: str | None = None
    propensity: str | None = None
    context: tuple[str, ...] | None = None
    """Context columns; ``None`` takes every other column (an unnamed index column is dropped)."""

    @classmethod
    def from_options(cls, pairs: Iterable[str]) -> LogMapping:
        """From ``field=column`` options (``reward=click``, ``context=age,segment``)."""
        values: dict[str, Any] = {}
        for pair in pairs:
            key, sep, column = pair.partition("=")
            key, column = key.strip(), column.strip()
            if not sep or not column:
                raise ConfigError(f"expected FIELD=COLUMN, got {pair!r}")
            if key == "context":
                values["context"] = tuple(c.strip() for c in column.split(",") if c.strip())
            elif key in ALIASES:
                values[key] = column
            else:
                raise ConfigError(f"unknown log field {key!r}; fields: {', '.join([*ALIASES, 'context'])}")
        return cls(**values)


def _table(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix in (".csv", ".tsv", ".txt"):
            options = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            return pacsv.read_csv(path, parse_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CatalogError(f"{path}: cannot be read ({exc})") from None
    raise CatalogError(f"{path}: logs are CSV, TSV or Parquet, not {suffix or 'a file without extension'}")


def _find(columns: list[str], field_name: str, given: str | None, path: Path, required: bool) -> str | None:
    if given is not None:
        if given not in columns:
            raise CatalogError(
                f"{path}: no column {given!r} for {field_name} (columns: {', '.join(columns)})"
            )
        return given
    for alias in ALIASES[field_name]:
        if alias in columns:
            return alias
    if required:
        raise CatalogError(
            f"{path}: no {field_name} column (looked for {', '.join(ALIASES[field_name])}); "
            f"name it with --map {field_name}=COLUMN (columns: {', '.join(columns)})"
        )
    return None


def _floats(table: Any, column: str, path: Path) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    array = table.column(column)
    try:
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise CatalogError(f"{path}: column {column!r} must hold numbers") from None
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise CatalogError(f"{path}: column {column!r} is empty or not a number on row(s) {_rows(bad)}")
    return values


def _rows(index: np.ndarray) -> str:
    shown = ", ".join(str(int(i) + 1) for i in index[:5])
    return shown + (f" and {len(index) - 5} more" if len(index) > 5 else "")


def read_log(path: str | Path, mapping: LogMapping | None = None) -> BanditLog:
    """Read and check an impression log; a bad value is an error naming the file, column and rows.

    ``path`` may also be the folder the service appends feedback to (``SHOPFUSE_CREATIVE_LOG``).

    Propensities must be in (0, 1]: a logged action with probability 0 cannot have been taken
    (a log that rounds small probabilities to 0 needs them fixed at the source).
    """
    import pyarrow.compute as pc

    file = Path(path)
    if file.is_dir():  # the service's feedback log: a folder of JSON-lines parts
        return read_journal(file)
    mapping = mapping or LogMapping()
    table = _table(file)
    if table.num_rows == 0:
        raise CatalogError(f"{file}: the log has no rows")
    if table.num_rows > MAX_ROWS:
        raise CatalogError(f"{file}: {table.num_rows} rows; at most {MAX_ROWS} per file")
    columns = list(table.column_names)
    action_col = _find(columns, "action", mapping.action, file, True)
    reward_col = _find(columns, "reward", mapping.reward, file, True)
    propensity_col = _find(columns, "propensity", mapping.propensity, file, True)
    time_col = _find(columns, "timestamp", mapping.timestamp, file, False)
    position_col = _find(columns, "position", mapping.position, file, False)
    assert action_col and reward_col and propensity_col
    action = np.asarray([str(a) for a in table.column(action_col).to_pylist()], dtype=object)
    if any(a in ("", "None") for a in action):
        bad = np.flatnonzero([a in ("", "None") for a in action])
        raise CatalogError(f"{file}: column {action_col!r} is empty on row(s) {_rows(bad)}")
    reward = _floats(table, reward_col, file)
    propensity = _floats(table, propensity_col, file)
    bad = np.flatnonzero((propensity <= 0) | (propensity > 1))
    if len(bad):
        raise CatalogError(
            f"{file}: propensity must be in (0, 1]; column {propensity_col!r} is not on row(s) {_rows(bad)}"
        )
    timestamp = None
    if time_col is not None:
        import pyarrow as pa

        try:
            stamps = table.column(time_col)
            if not pa.types.is_timestamp(stamps.type):
                stamps = pc.strptime(stamps, format="%Y-%m-%d %H:%M:%S", unit="ns", error_is_null=True)
                if stamps.null_count:
                    stamps = pc.cast(table.column(time_col), pa.timestamp("ns", tz="UTC"))
            timestamp = stamps.cast(pa.timestamp("ns", tz="UTC")).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise CatalogError(f"{file}: column {time_col!r} is not a timestamp ({exc})") from None
        timestamp = np.asarray(timestamp, dtype="datetime64[ns]")
    position = None
    if position_col is not None:
        position = _floats(table, position_col, file).astype(np.int64)
    used = {action_col, reward_col, propensity_col, time_col, position_col}
    context_cols = (
        list(mapping.context)
        if mapping.context is not None
        else [c for c in columns if c not in used and c.strip() and not c.startswith("Unnamed")]
    )
    context: dict[str, np.ndarray] = {}
    for column in context_cols:
        if column not in columns:
            raise CatalogError(f"{file}: no context column {column!r}")
        values = table.column(column)
        numeric = values.type.id in _NUMERIC_TYPE_IDS()
        if numeric:
            context[column] = _floats(table, column, file)
        else:
            context[column] = np.asarray(
                ["" if v is None else str(v) for v in values.to_pylist()], dtype=object
            )
    return BanditLog(
        action=action,
        reward=reward,
        propensity=propensity,
        timestamp=timestamp,
        position=position,
        context=context,
        source=str(file),
    )


def _NUMERIC_TYPE_IDS() -> set[int]:  # noqa: N802
    import pyarrow as pa

    return {
        t.id
        for t in (
            pa.int8(),
            pa.int16(),
            pa.int32(),
            pa.int64(),
            pa.uint8(),
            pa.float32(),
            pa.float64(),
            pa.bool_(),
        )
    }


@dataclass(slots=True)
class ActionTable:
    """The actions with their features (numbers, and categories one-hot encoded)."""

    ids: list[str]
    features: np.ndarray
    """``(len(ids), d)`` float features, standardised."""
    feature_names: list[str]
    product_ids: list[str | None]

    def index(self) -> dict[str, int]:
        """``{action id: row}``."""
        return {a: i for i, a in enumerate(self.ids)}

    def features_of(self, actions: Sequence[str]) -> np.ndarray:
        """Feature rows of ``actions``; an action the table does not list is an error."""
        where = self.index()
        missing = sorted({a for a in actions if a not in where})
        if missing:
            raise ConfigError(f"actions not in the action table: {', '.join(missing[:10])}")
        return self.features[[where[a] for a in actions]]


def read_actions(path: str | Path, *, max_categories: int = 64) -> ActionTable:
    """Read an action table (CSV or Parquet): ``action`` or ``item_id``, ``product_id``?, features.

    Numeric columns are standardised; a categorical column becomes one-hot columns (its
    ``max_categories`` most frequent values; the rest share one column).
    """
    file = Path(path)
    table = _table(file)
    columns = list(table.column_names)
    id_col = _find(columns, "action", None, file, True)
    assert id_col
    ids = [str(v) for v in table.column(id_col).to_pylist()]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        twice = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
        raise CatalogError(f"{file}: action id(s) listed twice: {', '.join(twice[:10])}")
    product_ids: list[str | None] = (
        [None if v is None else str(v) for v in table.column("product_id").to_pylist()]
        if "product_id" in columns
        else [None] * len(ids)
    )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in columns:
        if column in (id_col, "product_id") or not column.strip() or column.startswith("Unnamed"):
            continue
        values = table.column(column)
        if values.type.id in _NUMERIC_TYPE_IDS():
            x = _floats(table, column, file)
            std = x.std()
            blocks.append(((x - x.mean()) / (std if std > 0 else 1.0))[:, None])
            names.append(column)
        else:
            labels = ["" if v is None else str(v) for v in values.to_pylist()]
            counts: dict[str, int] = {}
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
            kept = sorted(counts, key=lambda v: (-counts[v], v))[:max_categories]
            onehot = np.zeros((len(labels), len(kept) + 1))
            place = {v: i for i, v in enumerate(kept)}
            for row, label in enumerate(labels):
                onehot[row, place.get(label, len(kept))] = 1.0
            blocks.append(onehot[:, : len(kept) + (1 if len(counts) > len(kept) else 0)])
            names += [f"{column}={v}" for v in kept] + (
                [f"{column}=other"] if len(counts) > len(kept) else []
            )
    features = np.hstack(blocks) if blocks else np.zeros((len(ids), 0))
    return ActionTable(ids, features.astype(np.float64), names, product_ids)
