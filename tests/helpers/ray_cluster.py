"""A two-node Ray cluster on this machine (head + one worker, one CPU each) for the Ray ingest tests.

A thin wrapper of :func:`shopfuse.distributed.local_cluster.local_cluster`, which stops only the
processes of the cluster it started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shopfuse.distributed.local_cluster import local_cluster


@contextmanager
def two_node_cluster(object_store_mb: int = 300) -> Iterator[str]:
    """Start a head and a second node on free ports (auth off for this local cluster); yield the address."""
    with local_cluster(nodes=2, cpus_per_node=1, object_store_mb=object_store_mb) as cluster:
        yield cluster.address
