"""A local Milvus standalone server (the ``milvus`` package's ``milvus-server`` 2.3) on free ports.

Used by the tests (``tests/helpers/milvus_server.py``) and the benchmarks, which may run at the
same time on one machine. The launcher (``milvus/__init__.py`` of the ``milvus`` wheel) fills
its ``config.yaml.template`` and resolves each ``*_port`` it knows from a fixed start (proxy
19530, root coord 53100, ...), but two of the server's ports are not in that template:

* the embedded etcd listens on etcd's own defaults, 2379 (clients) and 2380 (peers), whatever
  ``--etcd-port`` says (that only sets the address Milvus *connects* to). Milvus reads an etcd
  configuration file from ``etcd.config.path``; the launcher cannot add that key (its
  ``--extra-config`` only replaces keys already in the template), so :data:`LAUNCHER` wraps the
  launcher and adds it to the written ``milvus.yaml``;
* the metrics/health HTTP server listens on 9091 unless the ``METRICS_PORT`` variable says otherwise.

:func:`start` gives every port a free one (the proxy's may be chosen) and records etcd's in
``etcd-embed.yaml`` in the data folder, so a restart on the same folder keeps them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["START_TIMEOUT", "MilvusServer", "free_port", "start", "wait_healthy"]

START_TIMEOUT = 180.0
"""Seconds to wait for a healthy server (about 8 s on an idle machine)."""
ETCD_CONFIG = "etcd-embed.yaml"
"""The embedded etcd's configuration, in the server's data folder."""
INTERNAL_PORTS = (
    "proxy_internal_port",
    "root_coord_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)
"""The launcher's other port settings: given free ports too, so two servers starting together
cannot both pick the same one."""

LAUNCHER = """
import sys
import milvus

etcd_config = sys.argv.pop(1)
original = milvus.MilvusServerConfig.write_config


def write_config(self):
    original(self)
    path = self.base_data_dir + "/configs/milvus.yaml"
    text = open(path, encoding="utf-8").read()
    text = text.replace("\\netcd:\\n", "\\netcd:\\n  config:\\n    path: " + etcd_config + "\\n", 1)
    open(path, "w", encoding="utf-8").write(text)


milvus.MilvusServerConfig.write_config = write_config
sys.exit(milvus.main())
"""
"""``milvus-server`` with ``etcd.config.path`` added to the configuration it writes."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def etcd_ports(data: Path) -> tuple[int, int]:
    """``(client, peer)`` ports of the embedded etcd: those recorded in ``data``, else new free ones."""
    config = data / ETCD_CONFIG
    if config.is_file():
        found = {}
        for line in config.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            found[key.strip()] = value.strip().rsplit(":", 1)[-1]
        with contextlib.suppress(KeyError, ValueError):
            return int(found["listen-client-urls"]), int(found["listen-peer-urls"])
    client, peer = free_port(), free_port()
    config.write_text(
        f"name: default\n"
        f"listen-client-urls: http://127.0.0.1:{client}\n"
        f"advertise-client-urls: http://127.0.0.1:{client}\n"
        f"listen-peer-urls: http://127.0.0.1:{peer}\n"
        f"initial-advertise-peer-urls: http://127.0.0.1:{peer}\n"
        f"initial-cluster: default=http://127.0.0.1:{peer}\n",
        encoding="utf-8",
    )
    return client, peer


def start(data: Path, port: int | None = None, timeout: float = START_TIMEOUT) -> MilvusServer:
    """Start ``milvus-server`` on ``data`` (proxy on ``port`` or a free one); returns once it answers."""
    if shutil.which("milvus-server") is None:
        raise FileNotFoundError("milvus-server is not installed (pip install --no-deps milvus==2.3.5)")
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    client, _ = etcd_ports(data)
    command = [sys.executable, "-c", LAUNCHER, str(data / ETCD_CONFIG), "--data", str(data)]
    command += ["--proxy-port", str(port), "--etcd-port", str(client)]
    for name in INTERNAL_PORTS:
        command += [f"--{name.replace('_', '-')}", str(free_port())]
    log = (data / "server.log").open("ab")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "METRICS_PORT": str(free_port())},
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
            raise RuntimeError(f"milvus-server exited with {server.process.returncode}: {log_tail(server)}")
        try:
            client = MilvusClient(uri=f"http://{server.address}", timeout=5)
            client.list_collections()
            client.close()
            return
        except Exception as exc:  # pymilvus raises MilvusException or grpc errors while it starts
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"milvus-server was not healthy in {timeout:.0f} s ({last}): {log_tail(server)}")


def log_tail(server: MilvusServer) -> str:
    """The end of the launcher's output and of the server's own error log."""
    parts = []
    for log in (server.data / "server.log", server.data / "logs" / "milvus-stderr.log"):
        if log.exists():
            parts.append(f"{log.name}: {log.read_text(errors='replace')[-1500:]}")
    return "\n".join(parts)
