"""The limits and keys of one running service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServiceSettings"]


@dataclass(slots=True)
class ServiceSettings:
    """Limits and keys of one running service."""

    api_keys: Sequence[str] = ()
    """Keys that may write (ingest, delete); none: the API is read-only."""
    media_roots: Sequence[str | Path] = ()
    """Folders that posted products' media paths must lie under; none: posted media are refused."""
    image_roots: Sequence[str] | None = None
    """Folders whose photos ``GET /products/{id}/images/{n}`` may serve; None: the media roots plus
    the folders of the photos stored when the service starts; empty: no photos are served."""
    max_upload_bytes: int = 10_000_000
    max_upload_pixels: int = 40_000_000
    max_k: int = 100
    max_offset: int = 1000
    """Deepest result a page may start at (``offset``): deeper pages rank most of the catalogue."""
    max_products_per_request: int = 1000
    max_request_bytes: int = 16_000_000
    """Largest request body (a photo upload or a JSON batch of products); larger ones get 413."""
    allow_new_attributes: bool = False
    """Whether posted products may add attributes the store does not have (capped by the store's
    ``limits.store_attributes``); by default only a catalogue ingest adds attributes."""
    allowed_hosts: Sequence[str] = ("*",)
    """Host header values served (``*``: any); others get 400, which stops DNS-rebinding pages."""
    max_pending_writes: int = 64
    """Write requests that may wait for the writer thread; more get 503."""
    optimize_every: int = 50
    """Compact the store after this many writes, when the writer is idle (each compaction
    rewrites the table, so doing it after every small write slowed concurrent searches)."""
    read_only: bool = False
    """A read replica: writes (products, deletes, interactions) are refused with 409, so that one
    writer service changes the store; see :mod:`shopfuse.service.replica`."""
    writer_url: str | None = None
    """The writer service's URL, named in a replica's 409 answers (implies ``read_only``)."""
    reload_interval: float = 0.0
    """Seconds between checks for a store version written by another process (0: no follower
    thread; reads still see other processes' commits, the first request after one reloading)."""
