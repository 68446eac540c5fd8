"""The impression log the service appends to: JSON-lines parts in one folder, one row per feedback.

Each writing process owns its part (``part-<UTC start>-<pid>-<random>.jsonl``, rotated after
:data:`ROWS_PER_PART` rows), so processes never share a file. A row is one JSON object and one
``write`` of the whole line (``O_APPEND``) under a lock: threads never interleave, and a crash can
leave at most one torn line, at the end of a part, which :func:`read_journal` leaves out (a torn
line cannot end in a newline, and every complete row does). A part whose write failed is closed and
the next row opens a new one, so a torn line is never followed by more rows in its file.

Rows hold ``timestamp`` (ISO, UTC), ``action``, ``position`` (optional), ``reward``,
``propensity``, ``policy``, ``impression_id`` and ``context`` (an object of scalars).
:func:`read_journal` reads the folder into a :class:`~shopfuse.creative.bandit_log.BanditLog`;
:func:`export_journal` writes it as CSV or Parquet that :func:`~shopfuse.creative.logs.read_log`
reads (``shopfuse creative evaluate --log``).
"""

from __future__ import annotations

import json
import math
import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.creative.bandit_log import BanditLog
from shopfuse.errors import CatalogError, ConfigError

__all__ = ["FIELDS", "ROWS_PER_PART", "Journal", "export_journal", "journal_rows", "read_journal"]

ROWS_PER_PART = 100_000
"""Rows written to one part before the writer opens the next."""
FIELDS = ("timestamp", "action", "position", "reward", "propensity", "policy", "impression_id")
"""The fixed fields of a row; context column names may not be one of them."""


class Journal:
    """Appends rows to this process's part under ``folder``; safe to share between threads."""

    def __init__(
        self, folder: str | Path, *, durable: bool = False, rows_per_part: int = ROWS_PER_PART
    ) -> None:
        self.folder = Path(folder)
        self.durable = durable
        """``fsync`` after every row (survives a power cut, costs a disk flush per row)."""
        self.rows_per_part = rows_per_part
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._rows = 0
        self.path: Path | None = None
        """The part being written (None before the first row)."""

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row (see the module doc) as one line, whole or not at all."""
        data = (json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = self._open()
            try:
                written = 0
                while written < len(data):  # a regular file takes it in one write; loop for safety
                    written += os.write(fd, data[written:])
                if self.durable:
                    os.fsync(fd)
            except OSError:
                self._close()  # a torn line stays the last line of its part
                raise
            self._rows += 1
            if self._rows >= self.rows_per_part:
                self._close()

    def close(self) -> None:
        """Close the current part (the next row opens a new one)."""
        with self._lock:
            self._close()

    def _open(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.path = self.folder / f"part-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        self._pid, self._rows = os.getpid(), 0
        return self._fd

    def _close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def journal_rows(folder: str | Path) -> list[dict[str, Any]]:
    """Every complete row of every part, oldest part first; a torn last line is left out.

    A line that is not a JSON object anywhere else is an error naming the part and line.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CatalogError(f"{root}: no such log folder")
    rows: list[dict[str, Any]] = []
    for part in sorted(root.glob("part-*.jsonl")):
        data = part.read_bytes()
        lines = data.split(b"\n")
        complete = lines[:-1]  # the text after the last newline is empty, or a torn row
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raise CatalogError(f"{part}: line {number}: not a JSON row ({exc})") from None
            if not isinstance(row, dict):
                raise CatalogError(f"{part}: line {number}: expected a JSON object")
            rows.append(_checked(row, part, number))
    return rows


def _checked(row: dict[str, Any], part: Path, number: int) -> dict[str, Any]:
    where = f"{part}: line {number}"
    for name in ("action", "reward", "propensity"):
        if name not in row:
            raise CatalogError(f"{where}: no {name!r}")
    reward, propensity = row["reward"], row["propensity"]
    if not isinstance(reward, int | float) or not math.isfinite(reward):
        raise CatalogError(f"{where}: 'reward' must be a number")
    if not isinstance(propensity, int | float) or not 0 < propensity <= 1:
        raise CatalogError(f"{where}: 'propensity' must be in (0, 1]")
    if not isinstance(row.get("context", {}), dict):
        raise CatalogError(f"{where}: 'context' must be an object")
    return row


def read_journal(folder: str | Path) -> BanditLog:
    """The folder's rows as a :class:`BanditLog` (oldest part first, rows in written order).

    A context column is numeric when every row has it as a number (booleans as 0/1), else text
    (``""`` where a row lacks it). ``position`` is kept when every row has one.
    """
    rows = journal_rows(folder)
    if not rows:
        raise CatalogError(f"{folder}: the log has no rows yet")
    action = np.asarray([str(r["action"]) for r in rows], dtype=object)
    reward = np.asarray([float(r["reward"]) for r in rows])
    propensity = np.asarray([float(r["propensity"]) for r in rows])
    stamps = [r.get("timestamp") for r in rows]
    timestamp = None
    if all(isinstance(s, str) for s in stamps):
        try:
            naive = [datetime.fromisoformat(str(s)).astimezone(UTC).replace(tzinfo=None) for s in stamps]
            timestamp = np.asarray(naive, dtype="datetime64[ns]")
        except ValueError as exc:
            raise CatalogError(f"{folder}: a timestamp is not ISO ({exc})") from None
    positions = [r.get("position") for r in rows]
    position = np.asarray(positions, dtype=np.int64) if all(isinstance(p, int) for p in positions) else None
    names = list(dict.fromkeys(k for r in rows for k in r.get("context", {})))
    context: dict[str, np.ndarray] = {}
    for name in names:
        values = [r.get("context", {}).get(name) for r in rows]
        if all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            context[name] = np.asarray([float(v) for v in values])
        else:
            context[name] = np.asarray(["" if v is None else str(v) for v in values], dtype=object)
    return BanditLog(
        action=action,
        reward=reward,
        propensity=propensity,
        timestamp=timestamp,
        position=position,
        context=context,
        source=str(folder),
    )


def export_journal(folder: str | Path, out: str | Path) -> int:
    """Write the folder's log as one CSV or Parquet file (by ``out``'s suffix); returns the rows.

    The columns are ``timestamp, action, position?, reward, propensity`` and the context columns,
    the names :func:`~shopfuse.creative.logs.read_log` recognises.
    """
    import pyarrow as pa

    log = read_journal(folder)
    columns: dict[str, Any] = {}
    if log.timestamp is not None:
        columns["timestamp"] = pa.array(
            log.timestamp.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC")
        )
    columns["action"] = pa.array(log.action.tolist(), type=pa.string())
    if log.position is not None:
        columns["position"] = pa.array(log.position)
    columns["reward"] = pa.array(log.reward)
    columns["propensity"] = pa.array(log.propensity)
    for name, values in log.context.items():
        if name in columns:
            raise ConfigError(f"context column {name!r} has the name of a log field")
        columns[name] = pa.array(
            values.tolist(), type=pa.float64() if values.dtype.kind == "f" else pa.string()
        )
    table = pa.table(columns)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, temporary)
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        if log.timestamp is not None:  # read_log reads "%Y-%m-%d %H:%M:%S" or an ISO cast
            table = table.set_column(
                0, "timestamp", pa.array([str(np.datetime_as_string(t, unit="us")) for t in log.timestamp])
            )
        pacsv.write_csv(table, temporary)
    else:
        raise ConfigError(f"{target}: export to .csv or .parquet, not {suffix or 'no extension'}")
    temporary.replace(target)
    return len(log)
