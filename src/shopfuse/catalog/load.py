"""Turning raw rows into validated :class:`Product` records through a field mapping."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.catalog.readers import RawRow, RawTable, read_table
from shopfuse.config import FieldLimits
from shopfuse.errors import CatalogError
from shopfuse.store.attributes import attribute_name_problem
from shopfuse.types import Problem, Product

__all__ = ["Catalog", "build_catalog", "load_catalog", "truncate_utf8"]


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
    path: str | Path,
    mapping: FieldMapping | None = None,
    *,
    limit: int | None = None,
    limits: FieldLimits | None = None,
) -> Catalog:
    """Read and validate a catalogue; rows that cannot become products are reported, not raised.

    ``limit`` keeps the first rows only (for trials on a large catalogue); ``limits`` bound the
    size of each field (defaults: :class:`FieldLimits`).
    """
    table = read_table(path)
    if limit is not None:
        table.rows = table.rows[:limit]
        table.problems = [p for p in table.problems if p.row <= limit]
    return build_catalog(table, mapping, limits=limits, base=Path(table.source).resolve().parent)


def build_catalog(
    table: RawTable,
    mapping: FieldMapping | None = None,
    *,
    limits: FieldLimits | None = None,
    base: Path,
) -> Catalog:
    """Validate raw rows (read from a file or posted to the API) into products.

    Relative media paths resolve against ``base``.
    """
    mapping = mapping or FieldMapping()
    limits = limits or FieldLimits()
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
    problems = list(table.problems)
    attributes = []
    for column in mapping.attribute_columns(table.columns):
        reason = attribute_name_problem(column, limits.attribute_name_chars)
        if reason is None:
            attributes.append(column)
        else:
            problems.append(Problem(table.source, 0, None, column[:100], f"{reason}; column not stored"))
    row_ids = {raw.row: raw.values.get(mapping.id) for raw in table.rows}
    problems = [_with_id(p, row_ids) for p in problems]
    products: list[Product] = []
    first_seen: dict[str, int] = {}
    seen: set[str] = set()
    for raw in table.rows:
        raw_id = raw.values.get(mapping.id)
        if raw_id is not None and str(raw_id).strip():
            seen.add(str(raw_id).strip())
        product = _to_product(raw, table, mapping, attributes, base, problems, limits)
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


def _with_id(problem: Problem, row_ids: dict[int, Any]) -> Problem:
    """A reader's problem (found before the id column was known) with its row's id filled in."""
    raw_id = row_ids.get(problem.row)
    if problem.id is not None or raw_id is None or not str(raw_id).strip():
        return problem
    return Problem(
        problem.source, problem.row, str(raw_id).strip(), problem.field, problem.reason, problem.severity
    )


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes: nothing to cut
        return text
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _to_product(
    raw: RawRow,
    table: RawTable,
    mapping: FieldMapping,
    attributes: list[str],
    base: Path,
    problems: list[Problem],
    limits: FieldLimits,
) -> Product | None:
    """Map one row; returns ``None`` (and reports why) when it cannot become a product."""
    source, row = table.source, raw.row
    values = raw.values
    raw_id = values.get(mapping.id)
    if raw_id is None or (isinstance(raw_id, float) and math.isnan(raw_id)) or not str(raw_id).strip():
        problems.append(Problem(source, row, None, mapping.id, "missing id; row skipped"))
        return None
    product_id = str(raw_id).strip()
    id_problem = _id_problem(product_id, limits)
    if id_problem is not None:
        problems.append(Problem(source, row, product_id[:100], mapping.id, f"{id_problem}; row skipped"))
        return None

    def cut(column: str, value: str, limit: int) -> str:
        """``value`` within ``limit`` bytes; a cut is reported as a warning on the row."""
        shorter = truncate_utf8(value, limit)
        if shorter != value:
            size = len(value.encode("utf-8", "surrogateescape"))
            reason = f"{size} bytes truncated to the limit of {limit}"
            problems.append(Problem(source, row, product_id, column, reason, "warning"))
        return shorter

    def text(column: str, limit: int | None = None) -> str | None:
        value = values.get(column)
        if value is None:
            return None
        cleaned = str(value).strip() or None
        return cut(column, cleaned, limit) if cleaned is not None and limit is not None else cleaned

    def first_media(column: str) -> str | None:
        """A video or audio path; of a list, the first (the rest are reported, not read)."""
        value: Any = values.get(column)
        if isinstance(value, list | tuple) or hasattr(value, "tolist"):
            items: list[Any] = list(value.tolist() if hasattr(value, "tolist") else value)
            paths = [str(v).strip() for v in items if v is not None and str(v).strip()]
            if len(paths) > 1:
                reason = f"{len(paths)} files given; only the first is read"
                problems.append(Problem(source, row, product_id, column, reason, "warning"))
            return paths[0] if paths else None
        return text(column)

    title = text(mapping.title, limits.title_bytes)
    if title is None and mapping.title in table.columns:
        problems.append(Problem(source, row, product_id, mapping.title, "empty title", "warning"))
    kept = {c: _clean(values.get(c)) for c in attributes}
    kept = {c: v for c, v in kept.items() if v is not None}
    if len(kept) > limits.attributes_per_product:
        reason = (
            f"{len(kept)} attributes, more than the limit of {limits.attributes_per_product}; row skipped"
        )
        problems.append(Problem(source, row, product_id, None, reason))
        return None
    kept = {c: cut(c, v, limits.attribute_value_bytes) if isinstance(v, str) else v for c, v in kept.items()}
    try:
        images = [
            _resolve(p, base, limits)
            for p in _image_list(values.get(mapping.image), values.get(mapping.images))
        ]
        video = _resolve_opt(first_media(mapping.video), base, limits)
        audio = _resolve_opt(first_media(mapping.audio), base, limits)
    except ValueError as exc:
        problems.append(Problem(source, row, product_id, None, f"{exc}; row skipped"))
        return None
    product = Product(
        id=product_id,
        title=title,
        description=text(mapping.description, limits.description_bytes),
        images=tuple(images),
        video=video,
        audio=audio,
        lang=text(mapping.lang, 35),
        attributes={c: kept.get(c) for c in attributes},
        source=source,
        row=row,
    )
    if product.text is None and not product.images and not product.video and not product.audio:
        problems.append(
            Problem(source, row, product_id, None, "no usable modality (no text, image, video or audio)")
        )
        return None
    return product


def _id_problem(product_id: str, limits: FieldLimits) -> str | None:
    """Why ``product_id`` cannot be stored, or None."""
    size = len(product_id.encode("utf-8", "surrogateescape"))
    if size > limits.id_bytes:
        return f"id of {size} bytes is longer than the limit of {limits.id_bytes}"
    if any(ord(c) < 32 or ord(c) == 127 for c in product_id):
        return "id contains control characters"
    return None


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


def _resolve(path: str, base: Path, limits: FieldLimits) -> str:
    """Absolute path; relative paths are relative to the catalogue's folder."""
    if "\x00" in path:
        raise ValueError("media path contains a NUL byte")
    if len(path) > limits.media_path_chars:
        raise ValueError(f"media path of {len(path)} characters is longer than {limits.media_path_chars}")
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate))


def _resolve_opt(path: str | None, base: Path, limits: FieldLimits) -> str | None:
    """:func:`_resolve` for an optional path."""
    return None if path is None else _resolve(path, base, limits)


def _clean(value: Any) -> Any:
    """Attribute value: strings stripped (empty -> None), NaN -> None, others unchanged."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
