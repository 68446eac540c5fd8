"""Copy for stored or listed products: facts gathered, a generator built with the shop's phrasing.

:class:`CopyWriter` owns one generator and the lexicon of the whole catalogue. The phrase bank of
the default generator comes from the catalogue's own descriptions plus an optional corpus (any
catalogue with descriptions: the shop's past copy, another shop's), so a catalogue without a
single description still gets copy from the corpus, and from our own short phrases without one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shopfuse.content.base import Copy, CopyGenerator, CopyRequest
from shopfuse.content.claims import Lexicon
from shopfuse.content.facts import ProductFacts
from shopfuse.content.generate import PhraseGenerator
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = ["CopyWriter", "facts_with_predictions"]


def facts_with_predictions(
    records: Sequence[dict[str, Any]], predictions: Iterable[Any] = (), *, min_confidence: float = 0.5
) -> list[ProductFacts]:
    """Facts of stored products, with the model's recognised attributes (``AttributeRow``) above
    ``min_confidence`` where the product does not state them."""
    by_id: dict[str, dict[str, tuple[str, float]]] = {}
    for row in predictions:
        by_id[row.id] = {
            name: (str(p.value), float(p.confidence))
            for name, p in row.predicted.items()
            if name not in row.stated and row.known.get(name) is None and p.value is not None
        }
    return [
        ProductFacts.from_record(r, predicted=by_id.get(str(r["id"])), min_confidence=min_confidence)
        for r in records
    ]


@dataclass(slots=True)
class CopyWriter:
    """A copy generator with the catalogue's vocabulary and phrasing."""

    generator: CopyGenerator
    lexicon: Lexicon
    examples: int = 0
    """How many descriptions the phrase bank learned from."""

    @classmethod
    def build(
        cls,
        products: Iterable[ProductFacts],
        *,
        corpus: Iterable[ProductFacts] = (),
        generator: str = "phrases",
        options: dict[str, Any] | None = None,
    ) -> CopyWriter:
        """A writer for ``products``; its bank learns from their descriptions and ``corpus``'s."""
        listed = list(products)
        extra = list(corpus)
        lexicon = Lexicon.build([*listed, *extra])
        examples = [(f, f.description) for f in [*listed, *extra] if f.description]
        options = dict(options or {})
        if generator == "phrases":
            built: CopyGenerator = PhraseGenerator.from_examples(examples, lexicon=lexicon, **options)
        else:
            try:
                built = registry.create("copy_generator", generator, lexicon=lexicon, **options)
            except TypeError as exc:
                raise ConfigError(f"copy generator {generator!r}: {exc}") from None
        return cls(built, lexicon, len(examples))

    def write(self, facts: ProductFacts, request: CopyRequest) -> Copy:
        """Copy for one product, its time measured."""
        started = time.perf_counter()
        copy = self.generator.generate(facts, request)
        copy.seconds = time.perf_counter() - started
        return copy
