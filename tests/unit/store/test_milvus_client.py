"""The Milvus client wrapper: a bounded wait for collections still loading, clear connection errors."""

from __future__ import annotations

from typing import Any

import pytest

from shopfuse.errors import StoreError
from shopfuse.store.milvus_client import RetryingClient, is_connection_error, is_loading_error, load_wait


class MilvusLikeError(Exception):
    """What pymilvus raises: a message and a numeric code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"<MilvusException: (code={code}, message={message})>")
        self.code = code
        self.message = message


class Flaky:
    """A client whose ``query`` fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def query(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return [{"id": "p1", "collection": collection}]


LOADING = MilvusLikeError(101, "collection not loaded[collection=4471]")


def test_a_loading_collection_is_retried_until_it_answers() -> None:
    client = Flaky(2, LOADING)
    wrapped = RetryingClient(client, "milvus://h:1/shop", wait=10)
    assert wrapped.query("shop", filter="") == [{"id": "p1", "collection": "shop"}]
    assert client.calls == 3


def test_a_collection_still_loading_after_the_wait_is_a_clear_error() -> None:
    client = Flaky(100, LOADING)
    wrapped = RetryingClient(client, "milvus://h:1/shop", wait=0.6)
    with pytest.raises(StoreError, match=r"milvus://h:1/shop is still loading .* SHOPFUSE_MILVUS_WAIT"):
        wrapped.query("shop")
    assert 1 <= client.calls <= 3  # bounded: no endless retry


def test_an_unreachable_server_is_a_store_error_and_other_errors_pass_through() -> None:
    down = MilvusLikeError(2, "Fail connecting to server on 127.0.0.1:1, server unavailable")
    with pytest.raises(StoreError, match="cannot reach the Milvus server at milvus://h:1/shop"):
        RetryingClient(Flaky(1, down), "milvus://h:1/shop", wait=5).query("shop")
    other = MilvusLikeError(65535, "cannot parse expression")
    client = Flaky(1, other)
    with pytest.raises(MilvusLikeError):
        RetryingClient(client, "milvus://h:1/shop", wait=5).query("shop")
    assert client.calls == 1


def test_error_kinds_and_wait_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_loading_error(LOADING) and not is_loading_error(ValueError("x"))
    assert is_connection_error(MilvusLikeError(2, "Fail connecting to server"))
    monkeypatch.setenv("SHOPFUSE_MILVUS_WAIT", "7")
    assert load_wait() == 7.0
    monkeypatch.setenv("SHOPFUSE_MILVUS_WAIT", "soon")
    with pytest.raises(StoreError, match="SHOPFUSE_MILVUS_WAIT"):
        load_wait()
