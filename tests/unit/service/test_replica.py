"""Read replicas without servers: the 409 refusal, the schema signature, the follower's decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shopfuse.service import replica
from shopfuse.service.replica import WRITER_HEADER, StoreFollower, replica_refusal, schema_signature
from shopfuse.service.settings import ServiceSettings


def test_only_replicas_refuse_and_they_name_the_writer() -> None:
    assert replica_refusal(ServiceSettings()) is None
    plain = replica_refusal(ServiceSettings(read_only=True))
    assert plain is not None and plain.status_code == 409 and not plain.headers
    named = replica_refusal(ServiceSettings(writer_url="http://writer:8000"))
    assert named is not None and named.status_code == 409
    assert "http://writer:8000" in named.detail and named.headers == {WRITER_HEADER: "http://writer:8000"}


def _folder(tmp_path: Path, attributes: dict[str, str], learn_changes: int) -> Path:
    (tmp_path / "store.json").write_text(json.dumps({"columns": {}, "attributes": attributes}))
    (tmp_path / "engine.json").write_text(json.dumps({"model": None, "learn_changes": learn_changes}))
    return tmp_path


def test_the_schema_signature_moves_with_the_schema_not_with_write_counters(tmp_path: Path) -> None:
    before = schema_signature(_folder(tmp_path, {"colour": "string"}, 1))
    assert before is not None
    assert schema_signature(_folder(tmp_path, {"colour": "string"}, 7)) == before
    assert schema_signature(_folder(tmp_path, {"colour": "string", "fabric": "string"}, 7)) != before
    assert schema_signature("milvus://host:19530/products") is None


class _Store:
    def __init__(self) -> None:
        self.version = 1
        self.refreshed = 0

    def refresh(self) -> None:
        self.refreshed += 1


class _Engine:
    def __init__(self, location: Path) -> None:
        self.location = location
        self.store = _Store()
        self.query_cache = type("Cache", (), {"size": 5})()
        self.warmed = False

    def searcher(self) -> None:
        self.warmed = True


def test_the_follower_reloads_new_versions_and_swaps_engines_on_schema_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path, {"colour": "string"}, 0)
    served: list[Any] = [_Engine(folder)]
    follower = StoreFollower(lambda: served[-1], served.append, interval=0.1)
    assert follower.check() is False  # nothing new

    served[-1].store.version = 2  # another process committed
    assert follower.check() is True
    assert served[-1].store.refreshed == 1 and len(served) == 1 and follower.version == 2

    _folder(tmp_path, {"colour": "string"}, 3)  # a write counter only: no new engine
    assert follower.check() is False and len(served) == 1

    opened: list[_Engine] = []

    def open_engine(location: Path, create: bool = True) -> _Engine:
        assert create is False
        opened.append(_Engine(location))
        return opened[-1]

    monkeypatch.setattr(replica.Engine, "open", open_engine)
    _folder(tmp_path, {"colour": "string", "fabric": "string"}, 3)  # a new attribute
    assert follower.check() is True
    assert served[-1] is opened[0] and len(served) == 2  # swapped in
    assert opened[0].warmed and opened[0].store.refreshed == 1 and opened[0].query_cache.size == 5
    assert follower.swaps == 1 and follower.check() is False


def test_the_follower_needs_a_positive_interval(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        StoreFollower(lambda: _Engine(tmp_path), lambda _: None, interval=0)  # type: ignore[arg-type,return-value]
