"""Catalogues for the content commands: JSONL with an ``attributes`` object, or any catalogue file.

JSONL lines are ``{"id", "title"?, "description"?, "image"?, "lang"?, "attributes"?: {key: value or
[values]}}``. A Taobao-style line ``{"content": "类型#上衣*颜色#白色", "summary": "..."}`` is read as
attributes and description, its id its line number. CSV and Parquet catalogues (and JSONL without
an ``attributes`` object) go through the ingest reader with its field mapping; their extra columns
are the attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.content.facts import ProductFacts, parse_key_values
from shopfuse.errors import CatalogError

__all__ = ["MAX_LINE_BYTES", "catalog_records", "jsonl_objects", "load_products"]

MAX_LINE_BYTES = 1 << 20
"""A longer line is refused (a product's text and attributes fit in far less)."""


def load_products(path: str | Path, mapping: FieldMapping | None = None) -> list[ProductFacts]:
    """Every product of a catalogue as facts; a malformed line is an error naming the file and line."""
    file = Path(path)
    if not file.is_file():
        raise CatalogError(f"{file}: no such catalogue file")
    if file.suffix.lower() in (".jsonl", ".ndjson") and _nested(file):
        return [facts for _, facts in catalog_records(file)]
    from shopfuse.catalog.load import load_catalog

    catalog = load_catalog(file, mapping)
    if not catalog.products and catalog.problems:
        raise CatalogError(f"{file}: no usable product; first problem: {catalog.problems[0]}")
    return [
        ProductFacts.from_record(
            {
                "id": p.id,
                "title": p.title,
                "description": p.description,
                "lang": p.lang,
                "attributes": p.attributes,
            }
        )
        for p in catalog.products
    ]


def _nested(file: Path) -> bool:
    """Whether the JSONL uses the content format (an ``attributes`` object or ``content`` string)."""
    with file.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    first = json.loads(raw[:MAX_LINE_BYTES])
                except ValueError:
                    return True  # let the strict reader name the line
                return isinstance(first, dict) and (
                    isinstance(first.get("attributes"), dict) or isinstance(first.get("content"), str)
                )
    return True


def jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each non-blank line of a JSON-lines file, read as it goes.

    A missing file, a line over :data:`MAX_LINE_BYTES`, a line that is not JSON (or not UTF-8) or
    not an object is a :class:`CatalogError` naming the file (and the line).
    """
    file = Path(path)
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise CatalogError(f"{file}: file not found") from None
    except OSError as exc:
        raise CatalogError(f"{file}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                raise CatalogError(f"{file}:{number}: line longer than {MAX_LINE_BYTES} bytes")
            try:
                row = json.loads(raw)
            except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes not UTF-8
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise CatalogError(f"{file}:{number}: not valid JSON ({detail})") from None
            if not isinstance(row, dict):
                raise CatalogError(f"{file}:{number}: a line must be a JSON object, not {type(row).__name__}")
            yield number, row


def catalog_records(path: str | Path) -> Iterator[tuple[dict[str, Any], ProductFacts]]:
    """Each product of a content-format JSONL catalogue (see the module doc): its record (a Taobao-style
    line as attributes and description, ``id`` as the facts' id) and its facts. A bad line or an id
    given twice is a :class:`CatalogError` naming the file and line."""
    seen: dict[str, int] = {}
    for number, row in jsonl_objects(path):
        try:
            record = _record(row, number)
            facts = ProductFacts.from_record(record)
        except CatalogError as exc:
            raise CatalogError(f"{path}:{number}: {exc}") from None
        if facts.id in seen:
            raise CatalogError(f"{path}:{number}: id {facts.id!r} already on line {seen[facts.id]}")
        seen[facts.id] = number
        yield {**record, "id": facts.id}, facts


def _record(row: dict[str, Any], number: int) -> dict[str, Any]:
    record = dict(row)
    if isinstance(row.get("content"), str) and "attributes" not in row:
        record["attributes"] = parse_key_values(row["content"])
        record.setdefault("description", row.get("summary"))
        record.setdefault("id", str(number))
    attributes = record.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise CatalogError("'attributes' must be an object")
    for key, value in (attributes or {}).items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float | bool) or v is None for v in items):
            raise CatalogError(f"attribute {key!r} must be a string or a list of strings")
    for name in ("title", "description", "lang"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise CatalogError(f"{name!r} must be a string")
    return record
