"""Every registered modality: a complete declaration, and a round trip ingest -> store -> search -> why.

A new modality fails here until it is given a probe: a query that should reach its column.
"""

from __future__ import annotations

from typing import Any

import pytest

from shopfuse.catalog.mapping import STANDARD_FIELDS
from shopfuse.engine import Engine
from shopfuse.modalities import ModalitySpec, modality_spec, modality_specs
from shopfuse.registry import registry
from shopfuse.store.attributes import ATTRIBUTE_TYPES

NAMES = registry.names("modality")

# modality -> (how to query, the query, the product that must come back with the modality in its why)
PROBES: dict[str, tuple[str, Any, str]] = {
    "text": ("text", "Lookbook one", "clip-narrated"),
    "image": ("photo", "photo-only", "photo-only"),
    "ocr": ("text", "summer sale", "banner"),
    "video": ("photo", "shown-in-music-clip", "clip-music"),
    "speech": ("text", "narrated", "clip-narrated"),
    "audio": ("filter", "audio_music = true", "clip-music"),
}
# a product whose media file for the modality is missing -> the field its warning names
MISSING = {
    "image": ("image-missing", "image"),
    "video": ("clip-missing", "video"),
    "speech": ("audio-missing", "audio"),
}


def test_the_built_in_modalities_are_registered() -> None:
    assert {"text", "image", "ocr", "video", "speech", "audio"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_declaration_is_complete(name: str, media_engine: Engine) -> None:
    spec = modality_spec(name)
    assert isinstance(spec, ModalitySpec)
    assert spec.name == name
    assert spec.fields and set(spec.fields) <= set(STANDARD_FIELDS)
    assert spec.encoder in registry.kinds()
    assert spec.tower in (None, "text", "image")
    assert spec.label
    assert set(spec.attributes.values()) <= set(ATTRIBUTE_TYPES)
    info = spec.column(media_engine.components())
    assert info is not None and info.dim > 0
    assert spec in modality_specs()
    assert set(spec.describe()) >= {"name", "fields", "encoder", "tower", "label", "attributes"}


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_ingest_store_search_why(name: str, media_engine: Engine, media_set: Any) -> None:
    assert name in PROBES, f"modality {name!r} has no probe in this contract test: add one"
    assert name in media_engine.store.manifest.columns
    assert media_engine.store.modality_counts()[name] >= 1
    how, query, expected = PROBES[name]
    if how == "filter":
        assert expected in media_engine.store.ids_where(query)
        return
    if how == "photo":
        photo_of = {"photo-only": media_set.photos[media_set.shots["clip-narrated"][0][0]]}
        photo_of["shown-in-music-clip"] = media_set.photos[media_set.shots["clip-music"][1][0]]
        hits = media_engine.search_image(photo_of[query], k=3)
    else:
        hits = media_engine.search_text(media_set.narrated if query == "narrated" else query, k=3)
    top = next((h for h in hits if h.id == expected), None)
    assert top is not None, [h.id for h in hits]
    assert name in top.contributions, top.contributions


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_media_is_a_warning_naming_the_field(name: str, media_engine: Engine) -> None:
    product, field = MISSING[name]
    problems = [p for p in media_engine.last_report.problems if p.id == product]  # type: ignore[attr-defined]
    assert problems and all(p.severity == "warning" for p in problems)
    assert field in {p.field for p in problems}
    assert media_engine.store.get([product])
