"""A real Milvus standalone server (the ``milvus`` package's ``milvus-server``) for the tests.

One server per test session, shared by every module that asks for it: :func:`acquire` starts it
on first use (free port, temporary data folder, waits until pymilvus gets an answer) and
:func:`release` stops it when the last user lets go (the whole process group is killed, so the
``milvus`` binary the launcher runs goes too). Tests skip when ``milvus-server`` is not installed,
unless ``SHOPFUSE_REQUIRE_MILVUS`` is set (CI sets it): then a missing server is a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.processes import free_port

START_TIMEOUT = 180.0
"""Seconds to wait for a healthy server (about 8 s on an idle machine)."""


@dataclass
class MilvusServer:
    """A running ``milvus-server`` process: its launcher process, proxy port and data folder."""

    process: subprocess.Popen[bytes]
    port: int
    data: Path

    @property
    def address(self) -> str:
        """``host:port`` of the proxy, what ``milvus://`` URIs name."""
        return f"127.0.0.1:{self.port}"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the launcher and the ``milvus`` binary it started, and wait for them."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        for pid in self.binaries():  # in case the launcher put it in another process group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def binaries(self) -> list[int]:
        """Process ids of the ``milvus`` binaries running from this server's data folder."""
        binary = str(self.data / "bin" / "milvus")
        found = []
        for entry in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                if entry.read_bytes().split(b"\0")[0].decode(errors="replace") == binary:
                    found.append(int(entry.parent.name))
        return found


def required() -> bool:
    """Whether a missing server must fail the tests instead of skipping them."""
    return bool(os.environ.get("SHOPFUSE_REQUIRE_MILVUS"))


def start(data: Path, port: int | None = None, timeout: float = START_TIMEOUT) -> MilvusServer:
    """Start ``milvus-server`` on ``data``; returns once a client can list its collections."""
    executable = shutil.which("milvus-server")
    if executable is None:
        raise FileNotFoundError("milvus-server is not installed (pip install --no-deps milvus==2.3.5)")
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "server.log").open("ab")
    process = subprocess.Popen(
        [executable, "--data", str(data), "--proxy-port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the milvus binary is killed with it
    )
    log.close()
    server = MilvusServer(process, port, data)
    try:
        wait_healthy(server, timeout)
    except BaseException:
        server.kill()
        raise
    return server


def wait_healthy(server: MilvusServer, timeout: float) -> None:
    """Wait until the server answers ``list_collections``; raises with its log tail if it does not."""
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"milvus-server exited with {server.process.returncode}: {_log_tail(server)}")
        try:
            client = MilvusClient(uri=f"http://{server.address}", timeout=5)
            client.list_collections()
            client.close()
            return
        except Exception as exc:  # pymilvus raises MilvusException or grpc errors while it starts
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"milvus-server was not healthy in {timeout:.0f} s ({last}): {_log_tail(server)}")


def _log_tail(server: MilvusServer) -> str:
    """The end of the launcher's output and of the server's own error log."""
    parts = []
    for log in (server.data / "server.log", server.data / "logs" / "milvus-stderr.log"):
        if log.exists():
            parts.append(f"{log.name}: {log.read_text(errors='replace')[-1500:]}")
    return "\n".join(parts)


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
