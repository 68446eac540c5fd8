"""``shopfuse check``: open a store, find and name its damage, and repair what can be repaired.

Above the stores (it opens them through :mod:`shopfuse.store.locate`); the bookkeeping it reads is
:mod:`shopfuse.store.integrity`, which the stores themselves use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from shopfuse.errors import ConfigError, StoreDamagedError, StoreError
from shopfuse.store.base import CheckReport, Damage
from shopfuse.store.integrity import INTEGRITY_FILE, TableIntegrity, advice
from shopfuse.store.lance import TABLE_FOLDER
from shopfuse.store.locate import backend_of, open_store, read_engine_config

__all__ = ["check_store", "describe", "open_once", "repair_store"]

T = TypeVar("T")


def check_store(location: str | Path) -> CheckReport:
    """Check the store at ``location``; damage that stops it opening becomes a problem, not an error."""
    problems: list[Damage] = []
    try:
        if read_engine_config(location) is None:
            raise StoreError(f"no shopfuse store at {location}")
    except StoreDamagedError as exc:
        problems.append(Damage(exc.part, exc.reason))
    except ConfigError as exc:
        problems.append(Damage("engine.json", f"cannot be read ({exc})"))
    try:
        store = open_store(location)
    except StoreDamagedError as exc:
        start = time.perf_counter()
        report = CheckReport(str(location), backend_of(location), [*problems, Damage(exc.part, exc.reason)])
        if report.backend == "lance":
            _also_verify_files(Path(location), report)
        report.seconds = time.perf_counter() - start
    else:
        report = _closing(store, lambda opened: opened.check())  # times itself, not the imports
        report.problems[:0] = problems
    return report


def open_once(location: str | Path) -> None:
    """Open the store at ``location`` and close it again: raises the damage that opening finds."""
    _closing(open_store(location), lambda store: None)


def repair_store(location: str | Path, report: CheckReport) -> list[str]:
    """Make a damaged store usable again for ``shopfuse ingest``; returns what was done.

    A damaged table is moved into ``damaged/`` (ingest then rebuilds it); when only some vectors
    are bad, those products are deleted (ingest re-encodes them). A missing or unreadable
    ``store.json`` or ``engine.json`` cannot be rebuilt here: restore it from a backup.
    """
    parts = {d.part for d in report.problems}
    configs = sorted(parts & {"store.json", "engine.json"})
    if configs:
        raise StoreError(f"cannot repair {location}: {advice(str(location), configs[0])}")
    if not report.problems:
        return []
    if report.backend == "lance":
        integrity = TableIntegrity(Path(location), TABLE_FOLDER, strict=False)
        if parts == {INTEGRITY_FILE}:
            moved = integrity.set_aside(table=False)
            _closing(open_store(location), lambda store: store.optimize())  # optimize records afresh
            return [f"moved {INTEGRITY_FILE} to {moved} and recorded the current files afresh"]
        if not all(d.ids for d in report.problems):
            moved = integrity.set_aside()
            integrity.start()
            return [f"moved the damaged table to {moved}; ingest the catalogue to rebuild it"]
    if not all(d.ids for d in report.problems):
        raise StoreError(
            f"cannot repair {location} here: restore it from a backup, or ingest the catalogue anew"
        )
    ids = sorted({pid for d in report.problems for pid in d.ids})
    removed = _closing(open_store(location), lambda store: store.delete(ids))
    return [f"deleted {removed} products with bad vectors; ingest the catalogue to re-encode them"]


def describe(report: CheckReport, repaired: Sequence[str] = ()) -> str:
    """A human-readable report, ending with the recovery advice when damage was found."""
    lines = [f"store      {report.store} ({report.backend})"]
    recorded = "" if report.recorded_rows is None else f" (recorded: {report.recorded_rows})"
    lines.append(f"products   {report.rows}{recorded}")
    for column, count in report.vectors.items():
        lines.append(f"  {column:<7} {count:>7} vectors")
    lines.append(f"files      {report.files_checked} checksummed ({report.bytes_checked / 1e6:.1f} MB)")
    lines.append(f"time       {report.seconds:.2f} s")
    lines.extend(f"note: {note}" for note in report.notes)
    lines.extend(f"done: {action}" for action in repaired)
    if report.ok:
        lines.append("ok: no damage found")
        return "\n".join(lines)
    lines.extend(f"DAMAGED {d.part}: {d.message}" for d in report.problems)
    first = report.problems[0]
    products = len({pid for d in report.problems for pid in d.ids})
    if not all(d.ids for d in report.problems):
        products = 0
    lines.append(advice(report.store, first.part, products=products) + ".")
    return "\n".join(lines)


def _also_verify_files(folder: Path, report: CheckReport) -> None:
    """Add checksum findings to a report on a store that would not open (names every bad file)."""
    known = {d.part for d in report.problems}
    if INTEGRITY_FILE in known:
        return
    integrity = TableIntegrity(folder, TABLE_FOLDER, strict=False)
    extra = CheckReport(report.store, report.backend)
    integrity.verify_files(extra)
    # a missing folder already names everything in it
    folders = tuple(part for part in known if part.endswith("/"))
    report.problems.extend(
        d for d in extra.problems if d.part not in known and not d.part.startswith(folders)
    )
    report.notes.extend(extra.notes)
    report.files_checked, report.bytes_checked = extra.files_checked, extra.bytes_checked
    report.recorded_rows = extra.recorded_rows


def _closing(store: Any, use: Callable[[Any], T]) -> T:
    """``use(store)``, then close the store's connection (Milvus) if it has one."""
    try:
        return use(store)
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
