"""Read replicas: several ``shopfuse serve`` processes over one store that one writer changes.

A replica (``--read-only``, or ``--writer URL``) refuses writes with 409 and names the writer
(``X-Shopfuse-Writer`` header), so writes go to one place. Every replica follows the store with a
:class:`StoreFollower`: a thread that checks the store's version every ``reload_interval`` seconds
(one cheap metadata read) and, when another process committed, brings the replica up to date off
the request path:

* new or changed products (the store's version moved): the store's in-memory snapshots (fields,
  vectors) are reloaded by the follower thread while requests keep being answered from the
  previous snapshot; the next request after the reload answers from the new one;
* a changed schema (the store folder's ``store.json`` / ``engine.json`` changed: a new
  attribute, vector column or model): a whole new :class:`~shopfuse.engine.Engine` is opened and
  warmed beside the old one, then swapped in with one assignment; requests already running
  finish on the old engine, which is freed when they end.

No request waits for a reload and none fails during one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException

from shopfuse.engine import Engine
from shopfuse.service.settings import ServiceSettings
from shopfuse.store.lance import MANIFEST
from shopfuse.store.locate import CONFIG_FILE

__all__ = ["WRITER_HEADER", "StoreFollower", "replica_refusal", "schema_signature"]

WRITER_HEADER = "X-Shopfuse-Writer"
SCHEMA_FILES = (MANIFEST, CONFIG_FILE)
"""Files of a local store whose change means a new schema (attributes, columns, model)."""
WRITE_COUNTERS = ("learn_changes",)
"""Keys of those files that writes move without changing the schema."""
_log = logging.getLogger(__name__)


def replica_refusal(settings: ServiceSettings) -> HTTPException | None:
    """The 409 a read replica answers to a write (naming the writer), or None on a writer."""
    if not settings.read_only and not settings.writer_url:
        return None
    where = (
        f"send writes to the writer at {settings.writer_url}"
        if settings.writer_url
        else ("send writes to the store's writer service")
    )
    return HTTPException(
        409,
        f"this service is a read-only replica: {where}",
        headers={WRITER_HEADER: settings.writer_url} if settings.writer_url else None,
    )


def schema_signature(location: str | Path) -> str | None:
    """A digest of the store folder's schema files (None: not a local folder, e.g. a Milvus URI).

    Counters that every write moves (``learn_changes`` in ``engine.json``) are left out: they
    change no answer, and reopening the engine after each write would reload the encoders.
    """
    folder = Path(location)
    if "://" in str(location) or not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for name in SCHEMA_FILES:
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None  # missing or unreadable (the store writes these files atomically)
        if isinstance(data, dict):
            for counter in WRITE_COUNTERS:
                data.pop(counter, None)
        digest.update(json.dumps(data, sort_keys=True).encode())
    return digest.hexdigest()


class StoreFollower:
    """Follows a store another process writes: reloads snapshots, swaps engines on schema changes.

    ``get_engine`` / ``set_engine`` read and replace the engine the service answers from;
    ``interval``: seconds between version checks.
    """

    def __init__(
        self,
        get_engine: Callable[[], Engine],
        set_engine: Callable[[Engine], None],
        interval: float,
    ) -> None:
        if interval <= 0:
            raise ValueError("the reload interval must be positive")
        self._get_engine = get_engine
        self._set_engine = set_engine
        self.interval = interval
        engine = get_engine()
        self.version = engine.store.version
        self.schema = schema_signature(engine.location)
        self.reloads = 0
        """Versions loaded since start (each a snapshot reload or an engine swap)."""
        self.swaps = 0
        """Engines swapped in after a schema change."""
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the polling thread (a daemon: it never keeps a process alive)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="shopfuse-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the polling thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def check(self) -> bool:
        """Check the store now and load a newer version if there is one; True if one was loaded."""
        with self._lock:
            engine = self._get_engine()
            schema = schema_signature(engine.location)
            if schema != self.schema:
                fresh = Engine.open(engine.location, create=False)
                fresh.query_cache.size = engine.query_cache.size
                fresh.searcher()  # encoders and model load now, not in a request
                fresh.store.refresh()
                self._set_engine(fresh)  # one assignment: new requests use it, running ones finish
                self.schema, self.version = schema, fresh.store.version
                self.swaps += 1
                self.reloads += 1
                return True
            version = engine.store.version
            if version == self.version:
                return False
            engine.store.refresh()  # the new snapshots load here; requests answer from the old ones
            self.version = version
            self.reloads += 1
            return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.perf_counter()
            try:
                if self.check():
                    _log.info(
                        "loaded store version %s in %.2f s", self.version, time.perf_counter() - started
                    )
                self.last_error = None
            except Exception as exc:  # a failed reload keeps serving the last good version
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.exception("reloading the store failed; still serving version %s", self.version)
