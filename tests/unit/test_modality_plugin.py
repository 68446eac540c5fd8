"""A new modality is a module plus its registration: it flows through ingest, store, search and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopfuse.engine import Engine
from shopfuse.modalities import Batch, Components, ModalitySpec, register_modality
from shopfuse.registry import registry


@dataclass
class DescriptionExtractor:
    """A toy modality: the product's description alone, through the text encoder."""

    components: Components

    def fingerprint(self) -> str:
        return "description:" + self.components.text.text_info.space

    def extract(self, batch: Batch) -> None:
        owners = [r for r in batch.records if r.product.description]
        if owners:
            vectors = self.components.text.encode_text([r.product.description or "" for r in owners])
            for record, vector in zip(owners, vectors, strict=True):
                record.vectors["description"] = vector


@pytest.fixture
def plugin() -> Iterator[ModalitySpec]:
    """The toy modality, registered for one test."""
    spec = register_modality(
        ModalitySpec(
            name="description",
            fields=("description",),
            encoder="text_encoder",
            tower="text",
            label="description",
            column=lambda c: c.text.text_info,
            build=DescriptionExtractor,
            order=15,
        )
    )
    yield spec
    registry.unregister("modality", "description")


def test_a_registered_modality_is_ingested_stored_searched_and_explained(
    plugin: ModalitySpec, tmp_path: Path
) -> None:
    rows = [
        {"id": "a", "title": "Shirt", "description": "a waterproof mountain jacket for hiking"},
        {"id": "b", "title": "Mug", "description": "a ceramic mug for coffee"},
    ]
    catalog = tmp_path / "c.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    engine = Engine.open(tmp_path / "store")
    report = engine.ingest(catalog, progress=False)
    assert report.added == 2
    assert engine.store.modality_counts()["description"] == 2
    assert "description" in engine.modalities()
    top = engine.search_text("rain jacket for the mountains", k=1)[0]
    assert top.id == "a"
    assert "description" in top.contributions


def test_unregistered_modalities_are_gone() -> None:
    assert "description" not in registry.names("modality")
