"""Turning raw rows into validated :class:`Product` records through a field mapping."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.catalog.readers import RawRow, RawTable, read_table
from shopfuse.errors import CatalogError
from shopfuse.types import Problem, Product

__all__ = ["Catalog", "load_catalog"]


@dataclass(slots=True)
class Catalog:
    """Validated products of one catalogue file, with the problems found in it."""

    source: str
    products: list[Product]
    attribute_columns: list[str]
    problems: list[Problem] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    """Every id present in the file, rows that failed validation included (sync never deletes them)."""
    rows: int = 0


def load_catalog(
    path: str | Path, mapping: FieldMapping | None = None, *, limit: int | None = None
) -> Catalog:
    """Read and validate a catalogue; rows that cannot become products are reported, not raised.

    ``limit`` keeps the first rows only (for trials on a large catalogue).
    """
    mapping = mapping or FieldMapping()
    table = read_table(path)
    if limit is not None:
        table.rows = table.rows[:limit]
        table.problems = [p for p in table.problems if p.row <= limit]
    columns = mapping.standard_columns()
    if columns["id"] not in table.columns:
        raise CatalogError(
            f"{table.source}: no id column {columns['id']!r} (columns: {', '.join(table.columns)}); "
            "map it with --field id=COLUMN"
        )
    content = [columns[f] for f in ("title", "description", "image", "images", "video", "audio")]
    if not any(c in table.columns for c in content):
        raise CatalogError(
            f"{table.source}: none of the content columns {content} exist "
            f"(columns: {', '.join(table.columns)}); map them with --field title=COLUMN, "
            "--field image=COLUMN ..."
        )
    attributes = mapping.attribute_columns(table.columns)
    base = Path(table.source).resolve().parent
    problems = list(table.problems)
    products: list[Product] = []
    first_seen: dict[str, int] = {}
    seen: set[str] = set()
    for raw in table.rows:
        raw_id = raw.values.get(mapping.id)
        if raw_id is not None and str(raw_id).strip():
            seen.add(str(raw_id).strip())
        product = _to_product(raw, table, mapping, attributes, base, problems)
        if product is None:
            continue
        if product.id in first_seen:
            problems.append(
                Problem(
                    table.source,
                    raw.row,
                    product.id,
                    columns["id"],
                    f"duplicate id (first seen at row {first_seen[product.id]}); row skipped",
                )
            )
            continue
        first_seen[product.id] = raw.row
        products.append(product)
    return Catalog(table.source, products, attributes, problems, seen, len(table.rows))


def _to_product(
    raw: RawRow,
    table: RawTable,
    mapping: FieldMapping,
    attributes: list[str],
    base: Path,
    problems: list[Problem],
) -> Product | None:
    """Map one row; returns ``None`` (and reports why) when it has no id or no content at all."""
    source, row = table.source, raw.row
    values = raw.values
    raw_id = values.get(mapping.id)
    if raw_id is None or (isinstance(raw_id, float) and math.isnan(raw_id)) or not str(raw_id).strip():
        problems.append(Problem(source, row, None, mapping.id, "missing id; row skipped"))
        return None
    product_id = str(raw_id).strip()

    def text(column: str) -> str | None:
        value = values.get(column)
        if value is None:
            return None
        return str(value).strip() or None

    title = text(mapping.title)
    if title is None and mapping.title in table.columns:
        problems.append(Problem(source, row, product_id, mapping.title, "empty title", "warning"))
    images = _image_list(values.get(mapping.image), values.get(mapping.images))
    product = Product(
        id=product_id,
        title=title,
        description=text(mapping.description),
        images=tuple(_resolve(p, base) for p in images),
        video=_resolve_opt(text(mapping.video), base),
        audio=_resolve_opt(text(mapping.audio), base),
        lang=text(mapping.lang),
        attributes={c: _clean(values.get(c)) for c in attributes},
        source=source,
        row=row,
    )
    if product.text is None and not product.images and not product.video and not product.audio:
        problems.append(
            Problem(source, row, product_id, None, "no usable modality (no text, image, video or audio)")
        )
        return None
    return product


def _image_list(single: Any, many: Any) -> list[str]:
    """Paths from the ``image`` field and the ``images`` list (a list, JSON array text or a|b|c)."""
    paths: list[str] = []
    if single is not None and str(single).strip():
        paths.append(str(single).strip())
    if isinstance(many, str):
        stripped = many.strip()
        if stripped.startswith("["):
            try:
                many = json.loads(stripped)
            except json.JSONDecodeError:
                many = [stripped]
        else:
            many = stripped.split("|")
    if isinstance(many, list | tuple):
        paths.extend(str(p).strip() for p in many if p is not None and str(p).strip())
    return list(dict.fromkeys(paths))


def _resolve(path: str, base: Path) -> str:
    """Absolute path; relative paths are relative to the catalogue's folder."""
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate))


def _resolve_opt(path: str | None, base: Path) -> str | None:
    """:func:`_resolve` for an optional path."""
    return None if path is None else _resolve(path, base)


def _clean(value: Any) -> Any:
    """Attribute value: strings stripped (empty -> None), NaN -> None, others unchanged."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
