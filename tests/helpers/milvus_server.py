"""A real Milvus standalone server (the ``milvus`` package's ``milvus-server``) for the tests.

One server per test session, shared by every module that asks for it: :func:`acquire` starts it
on first use (free port, temporary data folder, waits until pymilvus gets an answer) and
:func:`release` stops it when the last user lets go (the whole process group is killed, so the
``milvus`` binary the launcher runs goes too). Tests skip when ``milvus-server`` is not installed,
unless ``SHOPFUSE_REQUIRE_MILVUS`` is set (CI sets it): then a missing server is a failure.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from shopfuse.store.milvus_server import START_TIMEOUT, MilvusServer, start, wait_healthy

__all__ = ["START_TIMEOUT", "MilvusServer", "acquire", "drop_collections", "release", "start", "wait_healthy"]


def required() -> bool:
    """Whether a missing server must fail the tests instead of skipping them."""
    return bool(os.environ.get("SHOPFUSE_REQUIRE_MILVUS"))


def drop_collections(address: str, prefix: str) -> None:
    """Drop the collections of the store ``prefix`` (its data, meta and vector collections)."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri=f"http://{address}", timeout=10)
    try:
        for name in client.list_collections():
            if name == prefix or name.startswith((f"{prefix}_", f"{prefix}__")):
                client.drop_collection(name)
    finally:
        client.close()


_shared: MilvusServer | None = None
_folder: tempfile.TemporaryDirectory[str] | None = None
_users = 0


def acquire() -> str:
    """The shared server's ``host:port``, starting it on first use; skips if it is not installed."""
    global _shared, _folder, _users
    if _shared is None:
        if shutil.which("milvus-server") is None:
            message = "milvus-server is not installed (pip install --no-deps milvus==2.3.5)"
            if required():
                pytest.fail(f"SHOPFUSE_REQUIRE_MILVUS is set but {message}")
            pytest.skip(message)
        _folder = tempfile.TemporaryDirectory(prefix="shopfuse-milvus-")
        _shared = start(Path(_folder.name) / "data")
        atexit.register(_stop)
    _users += 1
    return _shared.address


def release() -> None:
    """Let go of the shared server; the last user stops it."""
    global _users
    _users -= 1
    if _users <= 0:
        _stop()


def _stop() -> None:
    global _shared, _folder
    if _shared is not None:
        _shared.kill()
        _shared = None
    if _folder is not None:
        _folder.cleanup()
        _folder = None
