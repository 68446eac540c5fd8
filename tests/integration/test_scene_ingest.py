"""Scene and shot tags through ingest: stored as attributes, filterable, added to an older store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from tests.conftest import write_subset

PACKSHOTS = ("18439", "13670", "15521")  # backpack, football, flip-flop on white (hand labels)
WORN = ("18755", "19380")  # a woman in a dress (face), a man in shorts (face cut off)
FLAT = ("10001",)  # a garment laid flat


@pytest.fixture(scope="module")
def catalogue(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real fashion products whose photos were labelled by hand."""
    wanted = set(PACKSHOTS + WORN + FLAT)
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        rows = [i for i, row in enumerate(csv.DictReader(handle)) if row["id"] in wanted]
    assert len(rows) == len(wanted)
    return write_subset(fashion_csv, tmp_path_factory.mktemp("scene") / "six.csv", rows)


def test_scene_and_shot_are_filterable(catalogue: Path, tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "store")
    report = engine.ingest(catalogue, FASHION_MAPPING, progress=False)
    assert (report.added, report.errors) == (6, 0)
    types = engine.info()["attributes"]
    assert {types[name] for name in ("scene", "shot", "photo_scenes", "photo_shots")} == {"string"}

    studio = engine.search_text("product", k=10, where="scene = 'studio'")
    assert {h.id for h in studio} == set(PACKSHOTS + WORN + FLAT)
    assert engine.search_text("product", k=10, where="scene = 'outdoor'") == []
    worn = engine.search_text("clothes", k=10, where="shot = 'on_model'")
    assert {h.id for h in worn} == set(WORN)
    packshots = engine.search_text("bag", k=10, where="shot = 'packshot'")
    assert {h.id for h in packshots} == set(PACKSHOTS)
    [stored] = engine.store.get(["18755"])
    assert stored["attributes"]["photo_shots"] == "on_model"


def test_an_older_store_gains_the_tags(
    catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopfuse.modalities.image as image_modality

    with monkeypatch.context() as patch:  # a store made before photos were tagged
        patch.setattr(image_modality, "scene_tagger_for", lambda encoder: None)
        old = Engine.open(tmp_path / "store")
        old.ingest(catalogue, FASHION_MAPPING, progress=False)
        assert "scene" not in old.info()["attributes"]
        assert old.search_text("bag", k=3)  # and it is searchable as ever

    engine = Engine.open(tmp_path / "store")
    again = engine.ingest(catalogue, FASHION_MAPPING, progress=False)
    assert again.updated == 6  # the tagger is part of the photos' fingerprint: re-encoded once
    assert engine.info()["attributes"]["scene"] == "string"
    assert {h.id for h in engine.search_text("bag", k=10, where="shot = 'packshot'")} == set(PACKSHOTS)
    assert engine.ingest(catalogue, FASHION_MAPPING, progress=False).unchanged == 6


def test_video_keyframes_are_tagged(shared_data: Path, tmp_path: Path) -> None:
    clips = shared_data / "videos" / "tryon-clips"
    catalogue = tmp_path / "clips.jsonl"
    rows = [{"id": "jeans", "title": "Flared jeans", "video": str(clips / "lower1.mp4")}]
    catalogue.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    engine = Engine.open(tmp_path / "store")
    report = engine.ingest(catalogue, progress=False)
    assert report.errors == 0
    moments = engine.moments.store()
    assert moments is not None
    ids = moments.ids_where("product_id = 'jeans'")
    assert ids
    tagged = moments.get(ids)
    # a model in a panelled room with a parquet floor (hand label: indoor / on_model)
    assert {m["attributes"]["scene"] for m in tagged} == {"indoor"}
    assert moments.ids_where("shot = 'on_model'")
