"""Reading raw rows from CSV/TSV, JSONL and Parquet catalogues, reporting bad rows instead of failing."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfuse.errors import CatalogError
from shopfuse.types import Problem

__all__ = ["FORMATS", "RawRow", "RawTable", "read_table"]

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


@dataclass(slots=True)
class RawRow:
    """One row as read, before mapping; ``row`` counts data rows from 1."""

    row: int
    values: dict[str, Any]


@dataclass(slots=True)
class RawTable:
    """All rows of a catalogue file, its column names and the problems met while reading."""

    source: str
    columns: list[str]
    rows: list[RawRow]
    problems: list[Problem] = field(default_factory=list)


def read_table(path: str | Path) -> RawTable:
    """Read a catalogue file, choosing the reader by extension."""
    file = Path(path)
    if not file.is_file():
        raise CatalogError(f"catalogue not found: {file}")
    kind = FORMATS.get(file.suffix.lower())
    if kind is None:
        raise CatalogError(
            f"{file}: unsupported catalogue format {file.suffix!r}; use one of " + ", ".join(sorted(FORMATS))
        )
    if kind == "parquet":
        return _read_parquet(file)
    if kind == "jsonl":
        return _read_jsonl(file)
    return _read_delimited(file, "\t" if kind == "tsv" else ",")


def _repair(value: str, source: str, row: int, column: str, problems: list[Problem]) -> str:
    """Replace bytes that were not UTF-8 (kept as surrogates) and report the field."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(Problem(source, row, None, column, "non-UTF-8 bytes replaced with U+FFFD", "warning"))
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def _read_delimited(file: Path, delimiter: str) -> RawTable:
    """CSV/TSV with a header row; empty cells become ``None``; column types are inferred."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    source = str(file)
    problems: list[Problem] = []
    rows: list[RawRow] = []
    with file.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration as exc:
            raise CatalogError(f"{file}: empty catalogue (no header row)") from exc
        columns = [_repair(h, source, 0, h, problems).strip() for h in header]
        if len(set(columns)) != len(columns):
            raise CatalogError(f"{file}: duplicate column names in the header: {columns}")
        try:
            for number, cells in enumerate(reader, start=1):
                if not cells or all(not c.strip() for c in cells):
                    continue
                if len(cells) != len(columns):
                    problems.append(
                        Problem(
                            source,
                            number,
                            None,
                            None,
                            f"has {len(cells)} cells but the header has {len(columns)} columns",
                        )
                    )
                    continue
                values = {
                    col: (_repair(cell, source, number, col, problems) if cell.strip() else None)
                    for col, cell in zip(columns, cells, strict=True)
                }
                rows.append(RawRow(number, values))
        except csv.Error as exc:
            raise CatalogError(f"{file}: malformed CSV near data row {len(rows) + 1}: {exc}") from exc
    _infer_numbers(rows, columns)
    return RawTable(source, columns, rows, problems)


def _infer_numbers(rows: list[RawRow], columns: list[str]) -> None:
    """Turn CSV columns whose every value is an integer (or a number) into int (or float)."""
    for column in columns:
        values = [r.values[column] for r in rows if r.values[column] is not None]
        if not values:
            continue
        for cast in (_as_int, _as_float):
            try:
                converted = [cast(v) for v in values]
            except ValueError:
                continue
            iterator = iter(converted)
            for r in rows:
                if r.values[column] is not None:
                    r.values[column] = next(iterator)
            break


def _as_int(text: str) -> int:
    """Parse an integer, refusing codes with leading zeros (article ids like 0108775015)."""
    _refuse_leading_zero(text)
    return int(text)


def _as_float(text: str) -> float:
    """Parse a finite decimal number, refusing codes with leading zeros."""
    _refuse_leading_zero(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _refuse_leading_zero(text: str) -> None:
    stripped = text.strip().lstrip("+-")
    if len(stripped) > 1 and stripped[0] == "0" and stripped[1].isdigit():
        raise ValueError(text)


def _read_jsonl(file: Path) -> RawTable:
    """One JSON object per line; bad lines are reported and skipped."""
    source = str(file)
    problems: list[Problem] = []
    rows: list[RawRow] = []
    columns: dict[str, None] = {}
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            text = _repair(line.decode("utf-8", "surrogateescape"), source, number, "(line)", problems)
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(Problem(source, number, None, None, f"invalid JSON: {exc.msg}"))
                continue
            if not isinstance(value, dict):
                problems.append(Problem(source, number, None, None, "line is not a JSON object"))
                continue
            nested = value.pop("attributes", None) if isinstance(value.get("attributes"), dict) else None
            if nested:  # {"attributes": {"colour": "red"}} reads like a flat "colour" column
                value = {**{str(k): v for k, v in nested.items()}, **value}
            values = {str(k): (None if v == "" else v) for k, v in value.items()}
            columns.update(dict.fromkeys(values))
            rows.append(RawRow(number, values))
    return RawTable(source, list(columns), rows, problems)


def _read_parquet(file: Path) -> RawTable:
    """A Parquet file, read in record batches."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise CatalogError(f"{file}: not a readable Parquet file: {exc}") from exc
    columns = list(parquet.schema_arrow.names)
    source = str(file)
    problems: list[Problem] = []
    rows: list[RawRow] = []
    number = 0
    for batch in parquet.iter_batches():
        for values in batch.to_pylist():
            number += 1
            cells = {k: _from_binary(v, source, number, k, problems) for k, v in values.items()}
            rows.append(RawRow(number, {k: (None if v == "" else v) for k, v in cells.items()}))
    return RawTable(source, columns, rows, problems)


def _from_binary(value: Any, source: str, row: int, column: str, problems: list[Problem]) -> Any:
    """A Parquet binary cell as text (UTF-8, bad bytes replaced and reported); other values as they are."""
    if not isinstance(value, bytes | bytearray):
        return value
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        problems.append(
            Problem(
                source,
                row,
                None,
                column,
                "binary value is not UTF-8; bad bytes replaced with U+FFFD",
                "warning",
            )
        )
        return bytes(value).decode("utf-8", "replace")
