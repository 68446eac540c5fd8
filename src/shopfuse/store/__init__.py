"""Vector + metadata stores behind one Protocol."""

from shopfuse.store.base import Record, StoredHit, StoreManifest, VectorStore, check_encoder
from shopfuse.store.lance import LanceStore
from shopfuse.store.milvus import MilvusStore
from shopfuse.store.reference import exact_search

__all__ = [
    "LanceStore",
    "MilvusStore",
    "Record",
    "StoreManifest",
    "StoredHit",
    "VectorStore",
    "check_encoder",
    "exact_search",
]
