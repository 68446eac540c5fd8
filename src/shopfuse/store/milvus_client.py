"""A pymilvus client whose failures name the store: unreachable servers and collections still loading.

Every call goes through :class:`RetryingClient`: a server that cannot be reached becomes a
:class:`~shopfuse.errors.StoreError` naming the URI, and a collection the server is still loading
(after a restart, Milvus reloads collections and answers code 101 "collection not loaded" for a
while; about 25 s for a small store after ``kill -9``) is retried with a bounded wait, then
reported as a clear error. Other Milvus errors pass through unchanged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from shopfuse.errors import StoreError

__all__ = ["DEFAULT_WAIT", "RetryingClient", "is_connection_error", "is_loading_error", "load_wait"]

DEFAULT_WAIT = 60.0
"""Seconds to wait for a collection the server is loading; ``SHOPFUSE_MILVUS_WAIT`` overrides it."""
NOT_LOADED = 101
"""Milvus's code for "collection not loaded", answered while a restarted server reloads it."""
_LOADING_WORDS = ("not loaded", "collection not loaded", "is loading", "loading progress")
_CONNECTION_WORDS = ("fail connecting", "failed to connect", "unavailable", "connection refused", "deadline")


def load_wait() -> float:
    """Seconds to wait for a loading collection (``SHOPFUSE_MILVUS_WAIT``, default 60)."""
    text = os.environ.get("SHOPFUSE_MILVUS_WAIT", "")
    try:
        return max(0.0, float(text)) if text else DEFAULT_WAIT
    except ValueError as exc:
        raise StoreError(f"SHOPFUSE_MILVUS_WAIT must be a number of seconds, not {text!r}") from exc


def is_loading_error(exc: BaseException) -> bool:
    """Whether ``exc`` says a collection is not (yet) loaded."""
    if getattr(exc, "code", None) == NOT_LOADED:
        return True
    message = str(getattr(exc, "message", "") or exc).lower()
    return any(word in message for word in _LOADING_WORDS)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the server could not be reached (gRPC or pymilvus wording)."""
    if type(exc).__name__ in ("_InactiveRpcError", "MilvusUnavailableException"):
        return True
    message = str(getattr(exc, "message", "") or exc).lower()
    return any(word in message for word in _CONNECTION_WORDS)


class RetryingClient:
    """Wraps a ``MilvusClient``: the same methods, with clear errors and a bounded wait for loading."""

    def __init__(self, client: Any, where: str, *, wait: float | None = None) -> None:
        self._client = client
        self._where = where
        self._wait = load_wait() if wait is None else wait

    @property
    def raw(self) -> Any:
        """The wrapped pymilvus client."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method
        return self._wrap(name, method)

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self._wait
            delay = 0.5
            while True:
                try:
                    return method(*args, **kwargs)
                except StoreError:
                    raise
                except Exception as exc:
                    if is_loading_error(exc):
                        if time.monotonic() + delay <= deadline:
                            time.sleep(delay)
                            delay = min(delay * 2, 5.0)
                            continue
                        raise StoreError(
                            f"the Milvus server at {self._where} is still loading the store's "
                            f"collections after {self._wait:.0f} s ({name}: {exc}); a restarted server "
                            "reloads them before it answers: retry later, or raise SHOPFUSE_MILVUS_WAIT"
                        ) from exc
                    if is_connection_error(exc):
                        raise StoreError(
                            f"cannot reach the Milvus server at {self._where} ({name}: {exc}); "
                            "is it running, and are the host and port right?"
                        ) from exc
                    raise

        return call
