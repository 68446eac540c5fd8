"""Search: a text or photo query scored against every stored modality that shares its space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from shopfuse.encoders.base import EncoderInfo, ImageEncoder, TextEncoder
from shopfuse.errors import ConfigError, EncoderMismatchError
from shopfuse.store.base import VectorStore
from shopfuse.types import Hit

__all__ = ["Searcher"]


@dataclass(slots=True)
class Searcher:
    """Encodes queries with the store's own encoders and merges the per-modality results.

    A product's score is its best score over the columns searched, and each column's score is
    reported as that modality's contribution. Taking the maximum keeps the merge exact: the true
    top-k by maximum is inside the union of each column's top-k.
    """

    store: VectorStore
    text: TextEncoder
    image: ImageEncoder | None = None

    def text_query(self, query: str, *, k: int = 10, where: str | None = None) -> list[Hit]:
        """Products matching a text query in any language."""
        if not query or not query.strip():
            raise ConfigError("empty text query")
        vector = self.text.encode_text([query.strip()], role="query")[0]
        return self.vector_query(vector, self.text.text_info, k=k, where=where)

    def image_query(self, image: Image.Image, *, k: int = 10, where: str | None = None) -> list[Hit]:
        """Products that look like ``image``."""
        if self.image is None:
            raise ConfigError("this store has no image encoder, so it cannot be searched by photo")
        vector = self.image.encode_images([image])[0]
        return self.vector_query(vector, self.image.image_info, k=k, where=where)

    def vector_query(
        self, vector: np.ndarray, info: EncoderInfo, *, k: int = 10, where: str | None = None
    ) -> list[Hit]:
        """Search every column whose vectors live in ``info``'s space."""
        if k < 1:
            raise ConfigError("k must be at least 1")
        columns = [c for c, enc in self.store.manifest.encoders().items() if enc.space == info.space]
        if not columns:
            stored = ", ".join(f"{c}: {e.describe()}" for c, e in self.store.manifest.encoders().items())
            raise EncoderMismatchError(
                f"the query was encoded by {info.describe()}, but no stored vectors were made by "
                f"it or share its space (store has {stored}); search with the store's encoder"
            )
        merged: dict[str, Hit] = {}
        for column in columns:
            encoder = self.store.manifest.encoder(column)
            for found in self.store.search(column, vector, encoder=encoder, k=k, where=where):
                hit = merged.get(found.id)
                if hit is None:
                    fields = found.fields
                    hit = Hit(
                        id=found.id,
                        score=found.score,
                        title=fields.get("title"),
                        image=fields.get("image"),
                        attributes=fields.get("attributes", {}),
                    )
                    merged[found.id] = hit
                hit.contributions[column] = found.score
                hit.score = max(hit.score, found.score)
        return sorted(merged.values(), key=lambda h: (-h.score, h.id))[:k]
