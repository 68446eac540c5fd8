"""Ingest: encode what changed in a catalogue and store it, batch by batch, resumable after a kill."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from shopfuse.catalog.load import Catalog
from shopfuse.config import atomic_write_text
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.fusion.base import FusionOutput
from shopfuse.modalities import Batch, Components, Extractor, ModalitySpec, modality_specs
from shopfuse.store.attributes import coerce_attribute, infer_attribute_type
from shopfuse.store.base import Record, VectorStore
from shopfuse.store.moments import MomentTable
from shopfuse.types import Problem, Product

__all__ = ["PRODUCT", "IngestReport", "ProductEncoder", "ProductModel", "content_hash", "ingest"]

PRODUCT = "product"
"""The store column of fused product vectors (present when a trained model is used)."""


class ProductModel(Protocol):
    """What ingest needs of a trained model: fuse raw modality vectors into one product vector."""

    @property
    def joint_info(self) -> EncoderInfo:
        """Identity of the fused vectors."""
        ...

    def input_dims(self) -> dict[str, int]:
        """``{modality: raw vector width}`` the model takes."""
        ...

    def fuse(self, raw: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> FusionOutput:
        """Fused unit vectors and per-modality contributions."""
        ...

    def embed_tower(self, tower: str, vectors: np.ndarray) -> np.ndarray:
        """Raw vectors of one side of the aligner in the joint space."""
        ...


@dataclass(slots=True)
class ProductEncoder:
    """Turns products into records: one vector per declared modality the product has, then fused.

    The modalities are the registered :class:`~shopfuse.modalities.ModalitySpec` s named in
    ``modalities`` (default: all), each run by the extractor its spec builds from ``components``.
    """

    components: Components
    modalities: tuple[str, ...] | None = None
    model: ProductModel | None = None
    hash_model: bool = True
    """Whether the model's identity is part of content hashes. Off for a model the store learned
    itself: relearning then rewrites the fused vectors from the stored raw ones (no re-encoding)."""
    _extractors: list[tuple[ModalitySpec, Extractor]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for spec in modality_specs():
            if self.modalities is not None and spec.name not in self.modalities:
                continue
            extractor = spec.build(self.components)
            if extractor is not None:
                self._extractors.append((spec, extractor))

    @property
    def active(self) -> list[str]:
        """Names of the modalities this encoder fills."""
        return [spec.name for spec, _ in self._extractors]

    def derived_attributes(self) -> dict[str, str]:
        """Attribute columns the active modalities may add, with their types."""
        return {name: kind for spec, _ in self._extractors for name, kind in spec.attributes.items()}

    def fingerprint(self, product: Product | None = None) -> str:
        """What the vectors depend on besides content; part of every content hash.

        Modalities that are not in every store (video, sound) count only for products they
        read, so adding video to a store does not re-encode the products that have none.
        """
        parts = [
            extractor.fingerprint()
            for spec, extractor in self._extractors
            if spec.default or product is None or spec.feeds(product)
        ]
        if self.model is not None and self.hash_model:
            parts.append(self.model.joint_info.space)
        return "|".join(parts)

    def encode(
        self, products: Sequence[Product], hashes: Sequence[str]
    ) -> tuple[list[Record], list[Problem]]:
        """Records for the products that have at least one usable modality, and problems found."""
        records = [Record(p, h) for p, h in zip(products, hashes, strict=True)]
        batch = Batch(records, self.components)
        for _, extractor in self._extractors:
            extractor.extract(batch)
        return self.finish(records, batch.problems)

    def finish(self, records: list[Record], problems: list[Problem]) -> tuple[list[Record], list[Problem]]:
        """After the extractors ran (here, or on a cluster): language, fusion, and the products kept.

        A product with no vector at all is dropped with a problem naming the fields it lacks; one
        whose photos all failed is kept for its text, its photo problems made visible.
        """
        self._detect_language(records)
        self.fuse(records)
        kept = []
        for record in records:
            if record.vectors:
                kept.append(record)
                continue
            p = record.product
            problems.append(Problem(p.source, p.row, p.id, None, f"no usable modality: {self._missing(p)}"))
        return kept, problems

    def _missing(self, product: Product) -> str:
        """Why a product got no vector at all, naming the fields the active modalities read."""
        fields = sorted({f for spec, _ in self._extractors for f in spec.fields})
        return "none of " + ", ".join(fields) + " could be read"

    def fuse(self, records: list[Record]) -> None:
        """With a trained model: one fused product vector in its joint space, and contributions.

        Products with none of the modalities the model fuses (a video-only product under a model
        trained before the shop had videos) get the mean of their other modalities mapped through
        their declared towers instead, so they stay findable in the joint space.
        """
        if self.model is None:
            return
        names = self.model.input_dims()
        present = [r for r in records if any(name in r.vectors for name in names)]
        if present:
            raw, masks = {}, {}
            for name, dim in names.items():
                mask = np.array([name in r.vectors for r in present], dtype=bool)
                rows = np.zeros((len(present), dim), dtype=np.float32)
                for i, record in enumerate(present):
                    if mask[i]:
                        rows[i] = record.vectors[name]
                raw[name], masks[name] = rows, mask
            fused = self.model.fuse(raw, masks)
            for i, record in enumerate(present):
                record.vectors[PRODUCT] = fused.vectors[i]
                record.contributions = {
                    name: round(float(share[i]), 4)
                    for name, share in fused.contributions.items()
                    if masks[name][i]
                }
        towers = {spec.name: spec.tower for spec, _ in self._extractors if spec.tower is not None}
        for record in records:
            if PRODUCT in record.vectors:
                continue
            mapped = {
                name: self.model.embed_tower(tower, record.vectors[name][None, :])[0]
                for name, tower in towers.items()
                if name in record.vectors
            }
            if mapped:
                record.vectors[PRODUCT] = l2_normalize(np.mean(list(mapped.values()), axis=0))[0]
                record.contributions = {name: round(1 / len(mapped), 4) for name in mapped}

    def _detect_language(self, records: list[Record]) -> None:
        langid = self.components.langid
        if langid is None:
            return
        todo = [r for r in records if not r.product.lang and r.product.text]
        if not todo:
            return
        for record, lang in zip(todo, langid.detect([r.product.text or "" for r in todo]), strict=True):
            record.product.lang = lang


def content_hash(product: Product, fingerprint: str) -> str:
    """Digest of everything that shapes a product's record: fields, attributes, media bytes."""
    digest = hashlib.sha256()
    payload = {
        "title": product.title,
        "description": product.description,
        "images": list(product.images),
        "video": product.video,
        "audio": product.audio,
        "lang": product.lang,
        "attributes": product.attributes,
        "pipeline": fingerprint,
    }
    digest.update(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode())
    for path in (*product.images, product.video, product.audio):
        if path:
            digest.update(_file_digest(path))
    return digest.hexdigest()


def _file_digest(path: str) -> bytes:
    """SHA-1 of a media file's bytes, or a marker for an unreadable file."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha1").digest()
    except OSError as exc:
        return f"unreadable:{exc.errno}".encode()


@dataclass(slots=True)
class IngestReport:
    """What an ingest did, and every problem it met with file, row, field and reason."""

    source: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    report_path: str | None = None
    learning: dict[str, Any] | None = None
    """What learning did after the ingest (:meth:`shopfuse.engine.Engine.learn`); ``None``: not asked."""

    @property
    def stored(self) -> int:
        """Products written by this run."""
        return self.added + self.updated

    @property
    def errors(self) -> int:
        """Problems that cost a row."""
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        """Problems the row survived."""
        return sum(p.severity == "warning" for p in self.problems)

    def summary(self) -> str:
        """One line for people."""
        line = (
            f"{self.rows} rows: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.deleted} deleted, {self.skipped} skipped; {self.errors} errors, "
            f"{self.warnings} warnings in {self.seconds:.1f}s"
        )
        if self.problems:
            top = Counter(_reason_kind(p) for p in self.problems).most_common(3)
            line += " (" + "; ".join(f"{n}x {reason}" for reason, n in top) + ")"
        if self.learning is not None:
            learned = self.learning
            if learned.get("learned"):
                line += (
                    f"; learned the shop model from {learned['pairs']} photo+text products in "
                    f"{learned['seconds']}s (labels: {', '.join(learned['labels']) or 'none'})"
                )
            else:
                line += f"; model: {learned['reason']}"
        if self.report_path:
            line += f"; report: {self.report_path}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and problems."""
        return {
            "source": self.source,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "errors": self.errors,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "report": self.report_path,
            "learning": self.learning,
        }

    def write(self, path: str | Path) -> None:
        """Write the problems as JSON lines, preceded by one summary line."""
        lines = [json.dumps({"summary": self.to_dict()}, ensure_ascii=False)]
        lines += [json.dumps(p.to_dict(), ensure_ascii=False) for p in self.problems]
        atomic_write_text(path, "\n".join(lines) + "\n")
        self.report_path = str(path)


def _reason_kind(problem: Problem) -> str:
    """A problem's reason without the path, for grouping in the summary."""
    reason = problem.reason
    if ": " in reason and reason.startswith("/"):
        reason = reason.split(": ", 1)[1]
    return f"{problem.field}: {reason}" if problem.field else reason


class Encoding(Protocol):
    """Runs the encoder over the products to store, yielding ``(products done, records kept, problems)``
    per batch in the order the store should commit them."""

    def __call__(
        self, encoder: ProductEncoder, todo: list[Record], batch_size: int, progress: bool
    ) -> Iterator[tuple[int, list[Record], list[Problem]]]: ...


def encode_locally(
    encoder: ProductEncoder, todo: list[Record], batch_size: int, progress: bool
) -> Iterator[tuple[int, list[Record], list[Problem]]]:
    """The products encoded in this process, ``batch_size`` at a time, with a progress bar."""
    with tqdm(total=len(todo), desc="ingest", unit="product", disable=not progress) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            records, problems = encoder.encode([r.product for r in chunk], [r.content_hash for r in chunk])
            yield len(chunk), records, problems
            bar.update(len(chunk))


def ingest(
    catalog: Catalog,
    store: VectorStore,
    encoder: ProductEncoder,
    *,
    sync: bool = True,
    batch_size: int = 64,
    progress: bool = True,
    atomic: bool = False,
    max_attributes: int | None = None,
    optimize: bool = True,
    moments: MomentTable | None = None,
    moment_columns: dict[str, EncoderInfo] | None = None,
    encoding: Encoding | None = None,
) -> IngestReport:
    """Store every product of ``catalog`` whose content changed; with ``sync``, delete vanished ids.

    Each batch is one store commit, so a killed run resumes where it stopped: products already
    stored carry the hash of their content and are skipped next time. With ``atomic`` the
    products are still encoded batch by batch but stored in one commit at the end, so a killed
    run leaves all of them or none (for small catalogues, such as one posted request).
    ``max_attributes`` caps the store's attribute columns: new columns past it are not stored.
    ``optimize`` compacts the store after a run that changed it. ``moments`` receives the
    timed parts of product videos (with ``moment_columns``); they are written before their
    product, so a product whose hash is stored always has its moments. ``encoding`` runs the
    extractors (default :func:`encode_locally`; :class:`shopfuse.distributed.ray_ingest.RayEncoding`
    spreads them over a Ray cluster): everything else, hashes to commits, is this function.
    """
    started = time.perf_counter()
    report = IngestReport(catalog.source, rows=catalog.rows, problems=list(catalog.problems))
    report.skipped = len({(p.row) for p in catalog.problems if p.severity == "error"})
    _coerce_attributes(catalog, store, report, max_attributes)
    existing = store.hashes()
    todo: list[Record] = []
    for product in catalog.products:
        digest = content_hash(product, encoder.fingerprint(product))
        if existing.get(product.id) == digest:
            report.unchanged += 1
        else:
            todo.append(Record(product, digest))
    pending: list[Record] = []
    for done, records, problems in (encoding or encode_locally)(encoder, todo, batch_size, progress):
        report.problems.extend(problems)
        report.skipped += done - len(records)
        _ensure_derived(records, store, encoder.derived_attributes())
        if atomic:
            pending.extend(records)
        else:
            if moments is not None:
                moments.replace(records, moment_columns or {})
            store.upsert(records)
            _count_stored(records, existing, report)
    if pending:
        if moments is not None:
            moments.replace(pending, moment_columns or {})
        store.upsert(pending)
        _count_stored(pending, existing, report)
    if sync and catalog.products:
        vanished = sorted(set(existing) - catalog.seen_ids)
        report.deleted = store.delete(vanished)
        if moments is not None:
            moments.delete_products(vanished)
    if optimize and (report.stored or report.deleted):
        store.optimize()
    report.seconds = time.perf_counter() - started
    return report


def _ensure_derived(records: Sequence[Record], store: VectorStore, declared: dict[str, str]) -> None:
    """Add the attribute columns modalities derived (``video_seconds``...) once a product has one."""
    known = store.manifest.attributes
    needed = {
        name: kind
        for name, kind in declared.items()
        if name not in known and any(r.product.attributes.get(name) is not None for r in records)
    }
    if needed:
        store.ensure_attributes(needed)


def _count_stored(records: Sequence[Record], existing: dict[str, str], report: IngestReport) -> None:
    """Count stored records as added or updated."""
    for record in records:
        if record.product.id in existing:
            report.updated += 1
        else:
            report.added += 1


def _coerce_attributes(
    catalog: Catalog, store: VectorStore, report: IngestReport, max_attributes: int | None
) -> None:
    """Give attributes the store's column types; values that do not fit are reported and dropped."""
    inferred = {}
    for column in catalog.attribute_columns:
        kind = infer_attribute_type(p.attributes.get(column) for p in catalog.products)
        if kind is not None:
            inferred[column] = kind
    known = store.manifest.attributes
    new = [name for name in inferred if name not in known]
    if max_attributes is not None and len(known) + len(new) > max_attributes:
        room = max(0, max_attributes - len(known))
        for name in new[room:]:
            inferred.pop(name)
            report.problems.append(
                Problem(
                    catalog.source,
                    0,
                    None,
                    name[:100],
                    f"the store holds its limit of {max_attributes} attribute columns; column not stored",
                    "warning",
                )
            )
    types = store.ensure_attributes(inferred)
    for product in catalog.products:
        for name, value in list(product.attributes.items()):
            if value is None:
                continue
            if name not in types:
                product.attributes.pop(name)
                continue
            try:
                product.attributes[name] = coerce_attribute(value, types[name])
            except ValueError:
                product.attributes[name] = None
                report.problems.append(
                    Problem(
                        product.source,
                        product.row,
                        product.id,
                        name,
                        f"value {value!r} is not of the column's type {types[name]}; stored as null",
                        "warning",
                    )
                )
            if isinstance(product.attributes[name], float) and np.isnan(product.attributes[name]):
                product.attributes[name] = None
