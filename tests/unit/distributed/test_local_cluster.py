"""The local Ray cluster helper's cheap parts: argument checks, port choice, stopping only its own processes.

Starting a real cluster is covered by tests/integration/test_ray_ingest.py (via tests/helpers/ray_cluster.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopfuse.distributed import local_cluster as lc
from shopfuse.errors import ConfigError


@pytest.mark.parametrize(
    ("nodes", "cpus", "store_mb", "named"),
    [(0, 1, 300, "nodes"), (2, 0, 300, "cpus_per_node"), (2, 1, 10, "object_store_mb")],
)
def test_bad_arguments_are_refused_before_anything_starts(
    nodes: int, cpus: int, store_mb: int, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_ray(*args: object, **kwargs: object) -> None:
        raise AssertionError("ray must not be started for bad arguments")

    monkeypatch.setattr(lc, "_run_ray", no_ray)
    with pytest.raises(ConfigError, match=named), lc.local_cluster(nodes, cpus, store_mb):
        pass


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = lc.free_ports(12)
    assert len(set(ports)) == 12
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def test_free_ports_refuses_a_negative_count() -> None:
    with pytest.raises(ConfigError, match="count"):
        lc.free_ports(-1)
    assert lc.free_ports(0) == []


def test_node_port_args_give_every_per_node_service_its_own_port() -> None:
    args = lc.node_port_args()
    options, ports = args[::2], [int(port) for port in args[1::2]]
    assert options == list(lc.NODE_PORT_OPTIONS)
    assert len(set(ports)) == len(ports)
    first = lc.node_port_args([1, 2, 3, 4, 5, 6])[:4]
    assert first == ["--dashboard-agent-listen-port", "1", "--dashboard-agent-grpc-port", "2"]
    with pytest.raises(ConfigError, match="need 6 ports"):
        lc.node_port_args([1, 2])


def test_cluster_pids_and_stop_touch_only_processes_of_the_marker(tmp_path: Path) -> None:
    ours, other = tmp_path / "sfrayA", tmp_path / "sfrayAB"  # one name a prefix of the other
    ours.mkdir()
    other.mkdir()
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    with (ours / "log").open("w") as log_ours, (other / "log").open("w") as log_other:
        mine = subprocess.Popen(sleep, stdout=log_ours)  # holds a file under the marker open
        named = subprocess.Popen([*sleep, str(ours)])  # names the marker on its command line
        theirs = subprocess.Popen(sleep, stdout=log_other)
    try:
        deadline = time.monotonic() + 10
        while set(lc.cluster_pids(ours)) != {mine.pid, named.pid} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(lc.cluster_pids(ours)) == {mine.pid, named.pid}
        assert lc.stop_processes(ours, grace_s=1.0) == 2
        assert mine.wait(timeout=10) is not None
        assert named.wait(timeout=10) is not None
        assert theirs.poll() is None
        assert lc.cluster_pids(ours) == []
    finally:
        for process in (mine, named, theirs):
            process.kill()
            process.wait(timeout=10)


def test_cluster_pids_refuses_the_root_folder() -> None:
    with pytest.raises(ConfigError, match="marker"):
        lc.cluster_pids("/")
