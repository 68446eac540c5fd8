"""Posted products: one path rule, attribute checks, and the single writer thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shopfuse.config import FieldLimits
from shopfuse.service.writes import (
    PostError,
    WriteQueue,
    WriteQueueFullError,
    posted_catalog,
    resolve_media_path,
)


def test_media_paths_resolve_under_the_first_root_or_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "media"
    (root / "a").mkdir(parents=True)
    (tmp_path / "secret.jpg").write_bytes(b"x")
    (root / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    assert resolve_media_path("a/1.jpg", [root]) == (root / "a" / "1.jpg").resolve()
    assert resolve_media_path(str(root / "a" / "1.jpg"), [root]) == (root / "a" / "1.jpg").resolve()
    for bad, reason in [
        ("../secret.jpg", "outside"),
        ("a/../../secret.jpg", "outside"),
        ("link.jpg", "outside"),  # a link out of the root is followed, then refused
        ("/etc/passwd", "outside"),
        ("a/\x00.jpg", "NUL byte"),
        ("  ", "empty"),
    ]:
        with pytest.raises(PostError, match=reason):
            resolve_media_path(bad, [root])
    with pytest.raises(PostError, match="--media-root"):
        resolve_media_path("a/1.jpg", [])


def test_posted_catalogue_checks_attributes_and_rewrites_paths(tmp_path: Path) -> None:
    known = {"colour": "string"}
    limits = FieldLimits()
    catalog = posted_catalog(
        [{"id": "p1", "title": "Red", "image": "1.jpg", "colour": "red"}],
        roots=[tmp_path],
        known_attributes=known,
        allow_new_attributes=False,
        limits=limits,
    )
    [product] = catalog.products
    assert product.images == (str(tmp_path.resolve() / "1.jpg"),) and product.attributes == {"colour": "red"}
    assert catalog.source == "request"
    with pytest.raises(PostError, match=r"product 1 \('p2'\): unknown attribute 'size'"):
        posted_catalog(
            [{"id": "p2", "title": "t", "size": "M"}],
            roots=[tmp_path],
            known_attributes=known,
            allow_new_attributes=False,
            limits=limits,
        )
    grown = posted_catalog(
        [{"id": "p2", "title": "t", "size": "M"}],
        roots=[tmp_path],
        known_attributes=known,
        allow_new_attributes=True,
        limits=limits,
    )
    assert grown.attribute_columns == ["size"]


def test_the_writer_runs_jobs_in_order_on_one_thread_and_bounds_the_queue() -> None:
    release = threading.Event()
    queue = WriteQueue(capacity=3)
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        release.wait(5)
        seen.append((n, threading.current_thread().name))
        return n * 10

    futures = [queue.submit(lambda n=n: job(n)) for n in range(3)]
    with pytest.raises(WriteQueueFullError):
        queue.submit(lambda: job(99))
    release.set()
    assert [f.result(5) for f in futures] == [0, 10, 20]
    assert [n for n, _ in seen] == [0, 1, 2] and {name for _, name in seen} == {"shopfuse-writer"}
    failing = queue.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    deadline = time.time() + 5
    while queue.pending and time.time() < deadline:
        time.sleep(0.01)
    assert queue.pending == 0
    queue.close()
