"""Damage found and named: checksums of a Lance table's files, vector audits, and ``shopfuse check``.

Lance never rewrites a file: a commit adds data files (``data/*.lance``), deletion files
(``_deletions/``) and a manifest (``_versions/*.manifest``), and :meth:`LanceStore.optimize`
removes the files of versions over an hour old. After every commit the store records the size and
SHA-256 of each file not recorded yet, with the table version and row count, in ``integrity.json``
beside ``store.json``, so a commit's bookkeeping costs the size of that commit. Opening a store
checks the cheap part (the table is there, not older than recorded, its files have their recorded
sizes); :func:`shopfuse.store.checking.check_store` re-hashes every file and reads every row.

This module sits below the stores (they call it on every commit and open); the functions that
open a store to check or repair it live above them, in :mod:`shopfuse.store.checking`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from shopfuse.config import SavableConfig
from shopfuse.errors import ConfigError, StoreDamagedError
from shopfuse.store.base import CheckReport, Damage

__all__ = [
    "INTEGRITY_FILE",
    "UNIT_NORM_TOLERANCE",
    "IntegrityRecord",
    "TableIntegrity",
    "VectorAudit",
    "advice",
    "damaged",
]

INTEGRITY_FILE = "integrity.json"
DAMAGED_FOLDER = "damaged"
"""Where ``shopfuse check --repair`` moves a damaged table; nothing is deleted."""
UNIT_NORM_TOLERANCE = 1e-5
"""Largest ``|norm - 1|`` of a stored vector. Encoders and fusion L2-normalise in float32, which
leaves at most 2.3e-7 (measured on 140k rows of 64-1,294 dims); zeroing one typical component of a
1,280-d unit vector moves its norm by about 2e-4."""
_FOLDERS = ("data", "_deletions", "_versions")
_SUFFIXES = (".lance", ".arrow", ".bin", ".manifest")
_EXAMPLES = 5
_CHUNK = 1 << 20


class FileSum(BaseModel):
    """Size and SHA-256 of one immutable table file."""

    model_config = ConfigDict(extra="forbid")

    size: int
    sha256: str


class IntegrityRecord(SavableConfig):
    """What a Lance store's table held after the last recorded commit."""

    format: int = 1
    table_version: int = 0
    rows: int = 0
    files: dict[str, FileSum] = Field(default_factory=dict)
    """``{path relative to the store folder: size and SHA-256}``."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def advice(location: str, part: str, *, products: int = 0) -> str:
    """How to recover from damage to ``part`` of the store at ``location``."""
    if part in ("store.json", "engine.json"):
        return f"Restore {part} from a backup of the store, or ingest the catalogue into a new store folder"
    if part == INTEGRITY_FILE:
        return (
            f"Run `shopfuse check --store {location} --repair` to set it aside and record the "
            "current files afresh"
        )
    ingest = f"`shopfuse ingest CATALOG --store {location}`"
    if products:
        return (
            f"Run `shopfuse check --store {location} --repair` to delete the {products} products "
            f"with bad vectors, then {ingest} re-encodes only the products that are missing; or "
            "restore the store folder from a backup"
        )
    return (
        f"Restore the store folder from a backup, or run `shopfuse check --store {location} --repair` "
        f"(it moves the damaged table into {DAMAGED_FOLDER}/, deleting nothing) and then {ingest}, "
        "which re-encodes the products that are missing and is resumable: an interrupted run "
        "re-encodes only what is still missing"
    )


def damaged(location: str | Path, part: str, reason: str) -> StoreDamagedError:
    """The error for damage to ``part``, with the advice that fits it."""
    return StoreDamagedError(str(location), part, reason, advice(str(location), part))


class TableIntegrity:
    """The integrity record of one Lance store folder, and the checks built on it."""

    def __init__(self, root: Path, table: str, *, strict: bool = True) -> None:
        self.root = root
        self.table = table
        """The table folder, relative to ``root`` (``lance/products.lance``)."""
        self.record: IntegrityRecord | None = None
        try:
            self.record = self.load()
        except StoreDamagedError:
            if strict:
                raise

    @property
    def file(self) -> Path:
        """The ``integrity.json`` file."""
        return self.root / INTEGRITY_FILE

    def load(self) -> IntegrityRecord | None:
        """The record on disk; ``None`` for a store written before records were kept."""
        if not self.file.exists():
            return None
        try:
            return IntegrityRecord.load(self.file)
        except ConfigError as exc:
            raise damaged(self.root, INTEGRITY_FILE, f"cannot be read ({exc})") from exc

    def start(self) -> None:
        """Record a new, empty store: from now on a missing table means lost products."""
        self.record = IntegrityRecord()
        self.record.save(self.file)

    def committed(self, version: int, rows: int, *, prune: bool = False) -> None:
        """Record the table after a commit: hash files not recorded yet; ``prune``: forget removed ones."""
        with self._locked():
            record = self.load() or IntegrityRecord()
            present = self._files()
            if prune:
                record.files = {rel: s for rel, s in record.files.items() if rel in present}
            for rel in present - set(record.files):
                path = self.root / rel
                record.files[rel] = FileSum(size=path.stat().st_size, sha256=sha256_of(path))
            # another process may have recorded a later commit meanwhile: never go back
            if version >= record.table_version:
                record.table_version, record.rows = version, rows
            record.save(self.file)
            self.record = record

    def check_open(self, version: int | None) -> None:
        """Raise :class:`StoreDamagedError` if the table is missing, older than recorded or lacks a file.

        ``version`` is that of the opened table, ``None`` when there is none. Costs one ``stat``
        per recorded file.
        """
        fault = self._open_fault(version)
        if fault is not None:
            # an optimize in another process may have removed files and recorded it since we read
            self.record = self.load()
            fault = self._open_fault(version)
        if fault is not None:
            raise damaged(self.root, *fault)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Turn Lance's errors while reading the table into :class:`StoreDamagedError` naming the part."""
        try:
            yield
        except (OSError, RuntimeError, ValueError) as exc:
            raise self.diagnose(exc) from exc

    def diagnose(self, exc: BaseException) -> StoreDamagedError:
        """The damage that explains a Lance error: a file it names, a recorded one gone bad, or the table."""
        fault = self._structure_fault()
        if fault is None:
            # Lance names a missing file by its path: match it under our table folder only
            folder = re.escape(Path(self.table).name)
            named = re.search(folder + r"/((?:data|_deletions|_versions)/[^\s,'\"]+)", str(exc))
            if named is not None:
                rel = f"{self.table}/{named.group(1)}"
                fault = self._file_fault(rel) or (rel, f"cannot be read ({_first_line(exc)})")
        if fault is None:
            fault = next(self._file_faults(), None)
        if fault is None:
            fault = (self.table, f"cannot be read ({_first_line(exc)})")
        return damaged(self.root, *fault)

    def verify_files(self, report: CheckReport) -> None:
        """Re-hash every recorded file into ``report``; files not recorded become notes."""
        record = self.record
        if record is None:
            report.notes.append(
                f"no {INTEGRITY_FILE}: the store was written before checksums were recorded (or the "
                "file was deleted), so files are checked by reading only; the next write records them"
            )
            return
        report.recorded_rows = record.rows
        for rel, expected in sorted(record.files.items()):
            fault = self._file_fault(rel)
            path = self.root / rel
            if fault is None:
                report.files_checked += 1
                report.bytes_checked += expected.size
                if sha256_of(path) != expected.sha256:
                    fault = (rel, "has changed since it was written (SHA-256 differs from the record)")
            if fault is not None:
                report.problems.append(Damage(*fault))
        unrecorded = sorted(self._files() - set(record.files))
        if unrecorded:
            report.notes.append(
                f"{len(unrecorded)} table files are not in {INTEGRITY_FILE} (written after the last "
                f"record by an interrupted or concurrent write; the scan reads what the table uses): "
                + ", ".join(unrecorded[:_EXAMPLES])
            )

    def check(self, table: Any, columns: dict[str, tuple[str, str, int]]) -> CheckReport:
        """The full check of the store: every recorded file re-hashed, every row read, vectors audited.

        ``table`` is the opened LanceDB table (``None`` before the first write); ``columns`` maps
        each vector column to its vector field, flag field and dims.
        """
        start = time.perf_counter()
        report = CheckReport(str(self.root), "lance")
        self.record = self.load()
        self.verify_files(report)
        if table is not None:
            try:
                table.checkout_latest()
                scan_lance(table, columns, self.table, report)
            except (OSError, RuntimeError, ValueError) as exc:
                error = self.diagnose(exc)
                if error.part not in {d.part for d in report.problems}:
                    report.problems.append(Damage(error.part, error.reason))
            else:
                counted = int(table.count_rows())
                if counted != report.rows:
                    report.problems.append(
                        Damage(self.table, f"reports {counted} products but {report.rows} rows were read")
                    )
                self.check_version(int(table.version), report.rows, report)
        report.seconds = time.perf_counter() - start
        return report

    def check_version(self, version: int, rows: int, report: CheckReport) -> None:
        """Compare the opened table's version and row count with the record."""
        record = self.record
        if record is None:
            return
        if version < record.table_version:
            report.problems.append(
                Damage(
                    f"{self.table}/_versions",
                    f"holds version {version} but version {record.table_version} was recorded: "
                    "the newest manifests are gone and the table went back to an older state",
                )
            )
        elif version > record.table_version:
            report.notes.append(
                f"the table is at version {version}, the record at {record.table_version}: a write "
                "was stopped before recording, or is running now; row counts not compared"
            )
        elif rows != record.rows:
            report.problems.append(
                Damage(self.table, f"holds {rows} products but {record.rows} were recorded")
            )

    def set_aside(self, *, table: bool = True) -> Path:
        """Move the record (and the table folder) into ``damaged/<time>/``; returns that folder."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.root / DAMAGED_FOLDER / stamp
        target.mkdir(parents=True, exist_ok=True)
        for path in (self.root / self.table, self.file) if table else (self.file,):
            if path.exists():
                shutil.move(str(path), str(target / path.name))
        self.record = None
        return target

    def _open_fault(self, version: int | None) -> tuple[str, str] | None:
        record = self.record
        if version is None:
            structure = self._structure_fault()
            if structure is not None:
                return structure
            if record is not None and (record.rows or record.files):
                return self.table, f"is missing, but {record.rows} products were recorded"
            return None
        if record is None:
            return None
        if version < record.table_version:
            gone = [
                rel for rel in record.files if rel.endswith(".manifest") and not (self.root / rel).exists()
            ]
            back = f"the table went back from recorded version {record.table_version} to {version}"
            if gone:
                return gone[0], f"is missing, so {back}"
            return f"{self.table}/_versions", f"lacks the newest manifests: {back}"
        return next(self._file_faults(), None)

    def _structure_fault(self) -> tuple[str, str] | None:
        """A missing folder that makes the whole table unreadable."""
        lance = Path(self.table).parent.as_posix()
        record = self.record
        has_rows = record is not None and (record.rows > 0 or bool(record.files))
        # connecting to LanceDB re-creates a deleted lance/ folder, empty
        if not (self.root / lance).is_dir() or not any((self.root / lance).iterdir()):
            return (f"{lance}/", "is missing") if has_rows else None
        table = self.root / self.table
        if not table.is_dir():
            return (f"{self.table}/", "is missing") if has_rows else None
        if not (table / "_versions").is_dir():
            return f"{self.table}/_versions/", "is missing, so no version of the table can be opened"
        return None

    def _file_faults(self) -> Iterator[tuple[str, str]]:
        record = self.record
        for rel in record.files if record is not None else {}:
            fault = self._file_fault(rel)
            if fault is not None:
                yield fault

    def _file_fault(self, rel: str) -> tuple[str, str] | None:
        """A recorded file that is missing or has another size than recorded."""
        expected = self.record.files.get(rel) if self.record is not None else None
        try:
            size = (self.root / rel).stat().st_size
        except FileNotFoundError:
            return rel, "is missing"
        if expected is not None and size != expected.size:
            kind = "truncated" if size < expected.size else "grown"
            return rel, f"is {size} bytes but {expected.size} were written ({kind})"
        return None

    def _files(self) -> set[str]:
        """Paths, relative to the store folder, of the table's immutable files on disk."""
        found = set()
        for folder in _FOLDERS:
            prefix = f"{self.table}/{folder}/"
            try:
                # scandir, not pathlib: thousands of files before an optimize, listed after every commit
                with os.scandir(self.root / prefix) as entries:
                    for entry in entries:
                        # Lance writes under temporary names (".tmpXXX", "name#1") and renames when done
                        name = entry.name
                        if name.endswith(_SUFFIXES) and not name.startswith(".") and entry.is_file():
                            found.add(prefix + name)
            except FileNotFoundError:
                continue
        return found

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise record updates of processes writing the same store (POSIX only)."""
        if sys.platform == "win32":
            yield
            return
        import fcntl

        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class VectorAudit:
    """Checks vectors batch by batch: flagged ones finite with unit norm, the others all zero."""

    def __init__(self) -> None:
        self.read: dict[str, int] = {}
        self._bad: dict[str, tuple[list[str], list[str]]] = {}

    def add(self, column: str, ids: Sequence[str], matrix: np.ndarray, flags: np.ndarray) -> None:
        """Audit one batch of ``column``: ``ids``, their ``(n, dim)`` vectors and has-vector flags."""
        values = np.asarray(matrix, dtype=np.float64)
        flags = np.asarray(flags, dtype=bool)
        finite = np.isfinite(values).all(axis=1)
        norms = np.linalg.norm(np.where(np.isfinite(values), values, 0.0), axis=1)
        not_unit = flags & ~(finite & (np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE))
        not_zero = ~flags & ~(finite & (norms == 0.0))
        self.read[column] = self.read.get(column, 0) + int(flags.sum())
        flagged, unflagged = self._bad.setdefault(column, ([], []))
        flagged.extend(ids[i] for i in np.flatnonzero(not_unit).tolist())
        unflagged.extend(ids[i] for i in np.flatnonzero(not_zero).tolist())

    def damage(self, part: str) -> list[Damage]:
        """One problem per column and kind; ``part`` names where ``{column}``'s vectors are kept."""
        found = []
        for column, (flagged, unflagged) in self._bad.items():
            where = part.format(column=column)
            if flagged:
                found.append(
                    Damage(
                        where,
                        f"{len(flagged)} of {self.read[column]} {column!r} vectors are not finite unit "
                        f"vectors (the encoders L2-normalise them), e.g. {_ids(flagged)}",
                        tuple(flagged),
                    )
                )
            if unflagged:
                found.append(
                    Damage(
                        where,
                        f"{len(unflagged)} products without a {column!r} vector hold a non-zero one, "
                        f"e.g. {_ids(unflagged)}",
                        tuple(unflagged),
                    )
                )
        return found


def scan_lance(table: Any, columns: dict[str, tuple[str, str, int]], part: str, report: CheckReport) -> None:
    """Read every column of every row of a LanceDB table into ``report``.

    ``columns``: ``{column: (vector field, flag field, dims)}``; ``part``: the table folder.
    """
    audit = VectorAudit()
    seen: set[str] = set()
    duplicates = 0
    reader = table.search().select(table.schema.names).limit(None).to_batches(4096)
    for batch in reader:
        ids = batch.column("id").to_pylist()
        report.rows += len(ids)
        duplicates += len(ids) - len(set(ids) - seen)
        seen.update(ids)
        for column, (vector, flag, dim) in columns.items():
            values = batch.column(vector)
            matrix = _flat(values).reshape(len(ids), dim)
            flags = batch.column(flag).fill_null(False).to_numpy(zero_copy_only=False)
            audit.add(column, ids, matrix, flags)
    if duplicates:
        report.problems.append(Damage(part, f"holds {duplicates} rows whose id another row has"))
    report.vectors = dict(audit.read)
    report.problems.extend(audit.damage(f"{part} (column {{column}})"))


def _flat(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The float values of a fixed-size-list column, one row after another."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.asarray(values.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_EXAMPLES])
    return shown + (", ..." if len(ids) > _EXAMPLES else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
