"""Two local ``milvus-server`` processes at once: every port (embedded etcd's too) is a free one."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from shopfuse.store.milvus_server import ETCD_CONFIG, MilvusServer, etcd_ports, start
from tests.helpers import milvus_server


def test_etcd_ports_are_free_and_kept_for_a_restart(tmp_path: Path) -> None:
    client, peer = etcd_ports(tmp_path)
    assert client != peer
    assert {client, peer}.isdisjoint({2379, 2380})
    assert f"listen-peer-urls: http://127.0.0.1:{peer}" in (tmp_path / ETCD_CONFIG).read_text()
    assert etcd_ports(tmp_path) == (client, peer)  # a restart on the same folder keeps them


def test_two_servers_run_at_once(tmp_path: Path) -> None:
    """About 16 s: two servers, each with its own embedded etcd and metrics port."""
    if shutil.which("milvus-server") is None:
        if milvus_server.required():
            pytest.fail("SHOPFUSE_REQUIRE_MILVUS is set but milvus-server is not installed")
        pytest.skip("milvus-server is not installed")
    from pymilvus import MilvusClient

    servers: list[MilvusServer] = []
    try:
        servers.append(start(tmp_path / "one"))
        servers.append(start(tmp_path / "two"))
        assert servers[0].port != servers[1].port
        for server in servers:
            assert server.process.poll() is None
            client = MilvusClient(uri=f"http://{server.address}", timeout=10)
            assert client.list_collections() == []
            client.close()
            config = (server.data / "configs" / "milvus.yaml").read_text()
            assert f"path: {server.data / ETCD_CONFIG}" in config  # etcd reads our ports
            etcd_client, _ = etcd_ports(server.data)
            socket.create_connection(("127.0.0.1", etcd_client), timeout=5).close()  # it listens there
    finally:
        for server in servers:
            server.kill()
