"""The LRU of encoded queries: hits skip the encoder, keys include the encoder's space and role."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shopfuse.encoders.base import EncoderInfo
from shopfuse.tasks.search import QueryVectorCache
from shopfuse.types import TextRole


class _Counting:
    """A text encoder that counts the texts it encodes."""

    def __init__(self, space: str) -> None:
        self.space = space
        self.encoded: list[str] = []

    @property
    def text_info(self) -> EncoderInfo:
        return EncoderInfo("counting", "1", 4, self.space)

    def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
        self.encoded.extend(texts)
        rows = np.array(
            [[len(t), ord(t[0]) if t else 0, 1.0 if role == "query" else 0.0, 1.0] for t in texts]
        )
        return rows.astype(np.float32).reshape(-1, 4)


def test_hits_skip_the_encoder_and_are_read_only() -> None:
    cache, encoder = QueryVectorCache(size=10), _Counting("a")
    first = cache.encode(encoder, ["shoes", "红色连衣裙"])
    again = cache.encode(encoder, ["红色连衣裙", "shoes", "bag"])
    assert encoder.encoded == ["shoes", "红色连衣裙", "bag"]
    np.testing.assert_array_equal(again[:2], first[::-1])
    assert cache.stats() == {"entries": 3, "size": 10, "hits": 2, "misses": 3, "batches": 2}
    stored = cache._items[("a", "query", "shoes")]
    with pytest.raises(ValueError):
        stored[0] = 1.0  # shared by every caller, so never writable


def test_keys_hold_space_and_role_and_the_oldest_go_first() -> None:
    cache = QueryVectorCache(size=2)
    a, b = _Counting("a"), _Counting("b")
    cache.encode(a, ["x"])
    cache.encode(b, ["x"])
    cache.encode(a, ["x"], role="passage")
    assert a.encoded == ["x", "x"] and b.encoded == ["x"]
    assert len(cache) == 2 and ("a", "query", "x") not in cache._items
    assert cache.encode(a, []).shape == (0, 4)
    off = QueryVectorCache(size=0)
    off.encode(a, ["y"])
    off.encode(a, ["y"])
    assert a.encoded[-2:] == ["y", "y"] and len(off) == 0


def test_concurrent_misses_are_encoded_together_once() -> None:
    cache, encoder = QueryVectorCache(size=100), _Counting("a")
    texts = [f"query {i % 20}" for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        vectors = list(pool.map(lambda t: cache.encode(encoder, [t])[0], texts))
    assert sorted(encoder.encoded) == sorted({*texts})  # each distinct text encoded exactly once
    assert all(v[0] == len(t) for v, t in zip(vectors, texts, strict=True))
    assert cache.stats()["batches"] <= 20


def test_an_encoder_error_reaches_every_waiter_and_is_not_cached() -> None:
    class Broken(_Counting):
        def encode_text(self, texts: Sequence[str], *, role: TextRole = "passage") -> np.ndarray:
            raise RuntimeError("model gone")

    cache = QueryVectorCache()
    with pytest.raises(RuntimeError, match="model gone"):
        cache.encode(Broken("a"), ["x"])
    assert len(cache) == 0 and cache.encode(_Counting("a"), ["x"]).shape == (1, 4)
