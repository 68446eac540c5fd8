"""A Ray cluster of several nodes on this machine, for tests and benchmarks of the Ray ingest.

:func:`local_cluster` starts a head node with ``ray start --head`` and joins more nodes with
``ray start --address``, every node on its own free ports (several nodes on one machine would
otherwise collide on the per-node services), ``cpus_per_node`` CPUs each. It yields a
:class:`LocalCluster` with the ``address`` to connect to and :meth:`LocalCluster.add_node`.

The cluster gets its own short ``--temp-dir`` (Ray's socket paths must stay under 108 characters)
and ``RAY_AUTH_MODE=disabled`` (a local cluster, set in this process too for its drivers, restored
on exit). On exit only the processes of *this* cluster are stopped: those of this user whose command
line names its temp dir or which hold a file under it open (every Ray process keeps a log of its
session there, and Ray's agents rename themselves, so the command line alone misses some).
``ray stop`` is not used: it stops every Ray cluster of the user on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from shopfuse.errors import ConfigError, MissingDependencyError

__all__ = ["LocalCluster", "cluster_pids", "free_ports", "local_cluster", "stop_processes"]

MIN_OBJECT_STORE_MB = 80
"""Ray refuses object stores under 75 MiB; a little headroom."""
MAX_TEMP_DIR_CHARS = 40
"""Longest temp dir accepted: Ray nests session and socket paths under it (108-character limit)."""
NODE_PORT_OPTIONS = (
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--node-manager-port",
    "--object-manager-port",
)
"""Per-node services given a port of their own (their defaults collide between nodes on one machine)."""
TIMEOUT_S = 180.0
"""Longest a ``ray start`` may take."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that nothing listens on right now.

    All probes are held open together, so the ports differ from each other.
    """
    if count < 0:
        raise ConfigError(f"free_ports: count must be at least 0, got {count}")
    with ExitStack() as stack:
        probes = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        return [int(probe.getsockname()[1]) for probe in probes]


def node_port_args(ports: list[int] | None = None) -> list[str]:
    """``ray start`` options giving each per-node service its own free port (or the given ``ports``)."""
    chosen = free_ports(len(NODE_PORT_OPTIONS)) if ports is None else ports
    if len(chosen) != len(NODE_PORT_OPTIONS):
        raise ConfigError(f"node_port_args: need {len(NODE_PORT_OPTIONS)} ports, got {len(chosen)}")
    pairs = zip(NODE_PORT_OPTIONS, chosen, strict=True)
    return [part for option, port in pairs for part in (option, str(port))]


def _ray_cli() -> Path:
    """The ``ray`` command installed next to this interpreter."""
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        found = shutil.which("ray")
        if found is None:
            raise MissingDependencyError("ray[data]", "distributed", "start a local Ray cluster")
        ray = Path(found)
    return ray


def _belongs(entry: Path, marker: str) -> bool:
    """Whether process ``entry`` (a ``/proc/<pid>`` folder) names ``marker`` or holds a file under it open."""
    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    if re.search(re.escape(marker) + r"(/|\s|$)", command):
        return True
    for fd in (entry / "fd").iterdir():
        with suppress(OSError):
            if os.readlink(fd).startswith(marker + os.sep):
                return True
    return False


def cluster_pids(marker: str | Path) -> list[int]:
    """Processes of this user, this one excepted, that belong to the cluster whose temp dir is ``marker``."""
    marker = os.path.abspath(marker).rstrip(os.sep)
    if not marker:
        raise ConfigError("cluster_pids: the marker must be a folder other than /")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid == os.getuid() and _belongs(entry, marker):
                pids.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def stop_processes(marker: str | Path, grace_s: float = 3.0) -> int:
    """SIGTERM, then SIGKILL, every process of the cluster whose temp dir is ``marker``; how many.

    Raises :class:`RuntimeError` naming the pids still running after SIGKILL.
    """
    seen: set[int] = set()
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 1.0), (signal.SIGKILL, 1.0)):
        pids = cluster_pids(marker)
        seen.update(pids)
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        if not pids:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.1)
    left = cluster_pids(marker)
    if left:
        raise RuntimeError(f"processes of the Ray cluster in {marker} still running after SIGKILL: {left}")
    return len(seen)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass(slots=True)
class LocalCluster:
    """A running local cluster: connect to ``address``; :meth:`add_node` joins one more node."""

    address: str
    temp_dir: str
    cpus_per_node: int
    object_store_mb: int
    env: dict[str, str] = field(repr=False)
    nodes: int = 0
    stopped: int = 0
    """How many processes were stopped on exit (set when the context ends)."""

    def _common(self) -> list[str]:
        return [
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            str(self.cpus_per_node),
            "--object-store-memory",
            str(self.object_store_mb * 1024 * 1024),
            "--disable-usage-stats",
            *node_port_args(),
        ]

    def start_head(self) -> None:
        """``ray start --head`` on this cluster's port and temp dir."""
        port = self.address.rsplit(":", 1)[1]
        client_port = str(free_ports(1)[0])
        head = ["--head", "--port", port, "--include-dashboard=false"]
        head += ["--ray-client-server-port", client_port]
        _run_ray(["start", *head, "--temp-dir", self.temp_dir, *self._common()], self.env)
        self.nodes = 1

    def add_node(self) -> None:
        """Join one more node (``cpus_per_node`` CPUs, its own ports) to the cluster."""
        if self.nodes < 1:
            raise ConfigError("add_node: the cluster's head is not running")
        _run_ray(["start", "--address", self.address, *self._common()], self.env)
        self.nodes += 1


def _run_ray(args: list[str], env: dict[str, str]) -> None:
    """Run the ``ray`` CLI; a failure raises with the end of its output."""
    done = subprocess.run(
        [str(_ray_cli()), *args], env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args[:2])} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")


def check_arguments(nodes: int, cpus_per_node: int, object_store_mb: int) -> None:
    """Raise :class:`ConfigError` naming the argument that cannot make a cluster."""
    if nodes < 1:
        raise ConfigError(f"local_cluster: nodes must be at least 1, got {nodes}")
    if cpus_per_node < 1:
        raise ConfigError(f"local_cluster: cpus_per_node must be at least 1, got {cpus_per_node}")
    if object_store_mb < MIN_OBJECT_STORE_MB:
        raise ConfigError(
            f"local_cluster: object_store_mb must be at least {MIN_OBJECT_STORE_MB} (Ray's minimum), "
            f"got {object_store_mb}"
        )


@contextmanager
def local_cluster(
    nodes: int = 2, cpus_per_node: int = 1, object_store_mb: int = 300
) -> Iterator[LocalCluster]:
    """A local Ray cluster of ``nodes`` nodes on free ports; stops its own processes on exit.

    See the module docstring. The temp dir (under the system's, kept short) is removed on exit.
    """
    check_arguments(nodes, cpus_per_node, object_store_mb)
    _ray_cli()
    temp = tempfile.mkdtemp(prefix="sfray")
    if len(temp) > MAX_TEMP_DIR_CHARS:
        shutil.rmtree(temp, ignore_errors=True)
        raise ConfigError(
            f"local_cluster: temp dir {temp} is longer than {MAX_TEMP_DIR_CHARS} characters, too long for "
            "Ray's socket paths; set TMPDIR to a short folder such as /tmp"
        )
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    cluster = LocalCluster(f"127.0.0.1:{free_ports(1)[0]}", temp, cpus_per_node, object_store_mb, env)
    try:
        cluster.start_head()
        for _ in range(nodes - 1):
            cluster.add_node()
        yield cluster
    finally:
        try:
            cluster.stopped = stop_processes(temp)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
            if previous is None:
                os.environ.pop("RAY_AUTH_MODE", None)
            else:
                os.environ["RAY_AUTH_MODE"] = previous
