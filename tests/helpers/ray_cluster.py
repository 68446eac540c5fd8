"""A two-node Ray cluster on this machine (head + one worker, one CPU each) for the Ray ingest tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.processes import free_port


def _ray(*args: str, env: dict[str, str]) -> None:
    """Run the ``ray`` CLI next to this interpreter; a failure raises with its output."""
    ray = str(Path(sys.executable).with_name("ray"))
    done = subprocess.run([ray, *args], env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args[:2])} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")


def _node_ports() -> list[str]:
    """Free ports for the per-node services that would otherwise collide on one machine."""
    options = (
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--metrics-export-port",
        "--runtime-env-agent-port",
        "--node-manager-port",
        "--object-manager-port",
    )
    return [part for option in options for part in (option, str(free_port()))]


@contextmanager
def two_node_cluster(object_store_mb: int = 300) -> Iterator[str]:
    """Start a head and a second node with ``ray start`` on free ports; yield the address; ``ray stop``.

    Token authentication is off for this local test cluster (in this process too, for its drivers).
    """
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    temp = tempfile.mkdtemp(prefix="sfray")  # short: Ray's socket paths must stay under 108 chars
    port = free_port()
    address = f"127.0.0.1:{port}"
    memory = str(object_store_mb * 1024 * 1024)
    common = ["--num-cpus", "1", "--object-store-memory", memory, "--disable-usage-stats"]
    try:
        _ray(
            "start",
            "--head",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard=false",
            "--ray-client-server-port",
            str(free_port()),
            "--temp-dir",
            temp,
            *common,
            *_node_ports(),
            env=env,
        )
        _ray(
            "start", "--address", address, "--node-ip-address", "127.0.0.1", *common, *_node_ports(), env=env
        )
        yield address
    finally:
        subprocess.run(
            [str(Path(sys.executable).with_name("ray")), "stop", "--force"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(temp, ignore_errors=True)
        if previous is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = previous
