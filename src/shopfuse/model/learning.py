"""Learning by default: when ingest fits the shop model, which labels it learns, and moving a store into it.

``shopfuse ingest`` (``--learn auto``) fits a model once the catalogue has :data:`MIN_PAIRS`
products with both a photo and text, and fits it again once :data:`REFRESH_SHARE` of the products
changed since. The model lives in the store's work folder; the store's fused ``product`` column is
then rewritten from the raw vectors already stored (:func:`refuse`), so nothing is encoded twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from shopfuse.modalities import modality_specs
from shopfuse.store.base import Record, VectorStore
from shopfuse.types import Product

__all__ = [
    "MIN_PAIRS",
    "REFRESH_SHARE",
    "Decision",
    "categorical_labels",
    "decide",
    "paired_products",
    "refuse",
    "stored_records",
]

MIN_PAIRS = 500
"""Photo+text products needed before ingest learns on its own (``--learn on`` learns from 50)."""
REFRESH_SHARE = 0.2
"""Share of the products that must change (added, updated, deleted) before the model is refitted."""
MAX_LABEL_VALUES = 200
MIN_LABEL_COVERAGE = 0.5
MIN_PER_VALUE = 5.0


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to fit now, and why (reported with the ingest)."""

    fit: bool
    reason: str


def decide(mode: str, *, pairs: int, changes: int, trained_on: int | None) -> Decision:
    """Fit or not: ``mode`` is ``auto``, ``on`` or ``off``; ``trained_on`` is the current model's size."""
    if mode == "off":
        return Decision(False, "learning is off (--learn off)")
    if pairs < 50:
        return Decision(False, f"{pairs} products have a photo and text; a model needs at least 50")
    if mode == "on" and trained_on is None:
        return Decision(True, f"--learn on: {pairs} photo+text products")
    if trained_on is None:
        if pairs < MIN_PAIRS:
            return Decision(
                False,
                f"{pairs} products have a photo and text, fewer than the {MIN_PAIRS} learning needs: "
                "serving the raw encoders (--learn on to learn anyway)",
            )
        return Decision(True, f"{pairs} photo+text products")
    due = max(1, round(REFRESH_SHARE * trained_on))
    if changes >= due or mode == "on":
        return Decision(True, f"{changes} products changed since the model learned from {trained_on}")
    return Decision(False, f"the model is current ({changes} of {due} changes before it is refitted)")


def paired_products(store: VectorStore) -> int:
    """Products that have both a photo and a text vector."""
    columns = store.manifest.columns
    if "image" not in columns or "text" not in columns:
        return 0
    return len(set(store.vectors("image")[0]) & set(store.vectors("text")[0]))


def categorical_labels(rows: Iterable[dict[str, Any]], types: dict[str, str]) -> list[str]:
    """Text attributes that look like categories: 2-200 values, on half the products, 5+ products a value.

    Attributes that modalities derive (``audio_tags``...) are not shop facts and are left out.
    """
    derived = {name for spec in modality_specs() for name in spec.attributes}
    candidates = [n for n, t in types.items() if t == "string" and n not in derived]
    counts: dict[str, Counter[str]] = {n: Counter() for n in candidates}
    total = 0
    for row in rows:
        total += 1
        attributes = row.get("attributes") or {}
        for name in candidates:
            value = attributes.get(name)
            if value is not None and str(value).strip():
                counts[name][str(value)] += 1
    labels = []
    for name, values in counts.items():
        covered = sum(values.values())
        if (
            total
            and 2 <= len(values) <= MAX_LABEL_VALUES
            and covered >= MIN_LABEL_COVERAGE * total
            and covered / len(values) >= MIN_PER_VALUE
        ):
            labels.append(name)
    return sorted(labels)


def stored_records(
    store: VectorStore,
    ids: Sequence[str],
    raw: dict[str, dict[str, Any]],
    hashes: dict[str, str] | None = None,
) -> list[Record]:
    """Records of stored products with their stored raw vectors (``raw``: column -> id -> vector).

    ``hashes`` (:meth:`VectorStore.hashes`) keeps each product's content hash; read once by a
    caller that asks for many batches.
    """
    hashes = store.hashes() if hashes is None else hashes
    records = []
    for row in store.get(ids):
        product = Product(
            id=row["id"],
            title=row.get("title"),
            description=row.get("description"),
            images=tuple(row.get("images") or ([row["image"]] if row.get("image") else [])),
            video=row.get("video"),
            audio=row.get("audio"),
            lang=row.get("lang"),
            attributes={k: v for k, v in (row.get("attributes") or {}).items() if v is not None},
        )
        vectors = {column: by_id[row["id"]] for column, by_id in raw.items() if row["id"] in by_id}
        record = Record(product, hashes.get(row["id"], ""), vectors, ocr_text=row.get("ocr_text"))
        records.append(record)
    return records


def refuse(
    store: VectorStore,
    fuse: Callable[[list[Record]], None],
    *,
    skip: Iterable[str] = (),
    batch_size: int = 1000,
    progress: bool = False,
) -> int:
    """Rewrite every product with the vectors ``fuse`` adds (the fused column), from its stored raw
    vectors; returns how many products were rewritten. Content hashes are kept."""
    skipped = set(skip)
    raw: dict[str, dict[str, Any]] = {}
    for column in store.manifest.columns:
        if column in skipped:
            continue
        ids, matrix = store.vectors(column)
        raw[column] = dict(zip(ids, matrix, strict=True))
    hashes = store.hashes()
    every = sorted(hashes)
    done = 0
    with tqdm(total=len(every), desc="fuse", unit="product", disable=not progress) as bar:
        for start in range(0, len(every), batch_size):
            records = stored_records(store, every[start : start + batch_size], raw, hashes)
            fuse(records)
            store.upsert(records)
            done += len(records)
            bar.update(len(records))
    return done
