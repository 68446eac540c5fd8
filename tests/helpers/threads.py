"""Running numeric code on one thread in tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One BLAS thread and one torch thread while the block runs, restored afterwards.

    On the shared 2-core box, two BLAS or torch threads competing with other processes busy-wait:
    a CCA fit on 40 pairs took 22 s with two OpenBLAS threads and 1.1 s with one.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not a shopfuse dependency; without it only torch is limited
        limits: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(threads)
