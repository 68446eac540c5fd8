"""Writes over HTTP: posted products checked and turned into a catalogue, and one writer thread.

Posted media paths follow one rule for checking and for reading: a relative path is taken
relative to the first media root, the result is resolved (``..`` removed, links followed) and
must lie inside a media root; the resolved absolute path is what ingest reads, so the file
checked is the file stored. Attribute names are validated, and attributes the store does not
have yet are refused unless the service allows new ones.

Writes run one at a time on a single writer thread, off the request threads: searches keep
being answered from the last committed version while a write encodes and commits, and a burst
of writes queues (up to a bound, then 503) instead of occupying the server's thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from queue import Queue
from typing import Any, TypeVar

from shopfuse.catalog.load import Catalog, build_catalog
from shopfuse.catalog.readers import RawRow, RawTable
from shopfuse.config import FieldLimits
from shopfuse.errors import ShopfuseError
from shopfuse.store.attributes import attribute_name_problem

__all__ = ["MEDIA_FIELDS", "PostError", "WriteQueue", "posted_catalog", "resolve_media_path"]

MEDIA_FIELDS = ("image", "images", "video", "audio")
SOURCE = "request"
"""The catalogue name problems of posted products report (never a server path)."""
T = TypeVar("T")
_log = logging.getLogger(__name__)


class PostError(ShopfuseError, ValueError):
    """A posted product is refused as a whole (the request writes nothing)."""


def resolve_media_path(path: str, roots: Sequence[Path]) -> Path:
    """``path`` resolved under the media roots, or :class:`PostError` saying why it is refused."""
    if not roots:
        raise PostError("posted media are refused: start the service with --media-root")
    if "\x00" in path:
        raise PostError("media path contains a NUL byte")
    if not path.strip():
        raise PostError("empty media path")
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else roots[0] / candidate).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise PostError(f"{path!r} is outside the allowed media folders")
    return resolved


def posted_catalog(
    products: Sequence[Mapping[str, Any]],
    *,
    roots: Sequence[Path],
    known_attributes: Mapping[str, str],
    allow_new_attributes: bool,
    limits: FieldLimits,
) -> Catalog:
    """Posted products as a validated catalogue, or :class:`PostError` naming the product and field."""
    rows: list[RawRow] = []
    columns: dict[str, None] = {}
    for position, item in enumerate(products, start=1):
        label = f"product {position} ({str(item.get('id'))[:100]!r})"
        values = dict(item)
        product_id = str(values.get("id", ""))
        if product_id != product_id.strip() or any(ord(c) < 32 or ord(c) == 127 for c in product_id):
            # a file's ids are cleaned; a client's id must be stored as sent, or be refused
            raise PostError(f"{label}: ids may not start or end with spaces or hold control characters")
        for name in MEDIA_FIELDS:
            value = values.get(name)
            if value is None:
                continue
            paths = value if isinstance(value, list) else [value]
            try:
                resolved = [str(resolve_media_path(str(p), roots)) for p in paths]
            except PostError as exc:
                raise PostError(f"{label} field {name!r}: {exc}") from exc
            values[name] = resolved if isinstance(value, list) else resolved[0]
        for name in values:
            if name in ("id", "title", "description", "lang", *MEDIA_FIELDS):
                continue
            reason = attribute_name_problem(name, limits.attribute_name_chars)
            if reason is not None:
                raise PostError(f"{label}: {reason}")
            if name not in known_attributes and not allow_new_attributes:
                raise PostError(
                    f"{label}: unknown attribute {name!r}; this service only stores the attributes the "
                    "store already has (start it with --allow-new-attributes to add others)"
                )
        columns.update(dict.fromkeys(values))
        rows.append(RawRow(position, values))
    table = RawTable(SOURCE, list(columns), rows)
    return build_catalog(table, limits=limits, base=roots[0] if roots else Path.cwd())


class WriteQueue:
    """One writer thread running submitted jobs in order; at most ``capacity`` waiting."""

    def __init__(self, capacity: int = 64, on_idle: Callable[[], None] | None = None) -> None:
        self.capacity = capacity
        self.on_idle = on_idle
        self._jobs: Queue[tuple[Callable[[], Any], Future[Any]] | None] = Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        return self._pending

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Queue ``job``; raises :class:`WriteQueueFullError` when ``capacity`` jobs are already waiting."""
        with self._lock:
            if self._pending >= self.capacity:
                raise WriteQueueFullError(f"{self._pending} writes are waiting; try again shortly")
            self._pending += 1
            # started on first use, and again after close(): an app may live through several
            # lifespans (a test client opened twice), and a write must never wait for no thread
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="shopfuse-writer", daemon=True)
                self._thread.start()
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future

    async def run(self, job: Callable[[], T]) -> T:
        """Queue ``job`` and wait for its result without holding a request thread."""
        return await asyncio.wrap_future(self.submit(job))

    def close(self) -> None:
        """Finish the queued jobs and stop the thread (a later submit starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            try:
                if future.set_running_or_notify_cancel():
                    future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._pending -= 1
                    idle = self._pending == 0
            if idle and self.on_idle is not None:
                try:
                    self.on_idle()
                except Exception:  # housekeeping must never stop the writer
                    _log.exception("housekeeping after writes failed")


class WriteQueueFullError(ShopfuseError):
    """Too many writes are waiting."""
