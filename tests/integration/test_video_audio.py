"""Video and sound end to end on the constructed media catalogue: moments, filters, re-ingest, API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shopfuse.engine import Engine
from shopfuse.model.train import fused_modalities
from shopfuse.service import ServiceSettings, create_app


def test_a_photo_query_lands_on_the_moment_that_shows_the_product(
    media_engine: Engine, media_set: Any
) -> None:
    for clip, shots in media_set.shots.items():
        for product, start, end in shots:
            moments = media_engine.search_moments(media_set.photos[product], photo=True, k=10)
            in_clip = [m for m in moments if m.product_id == clip]
            assert in_clip, (clip, product)
            best = in_clip[0]
            assert abs(best.start - start) < 0.6 and abs(best.end - end) < 0.6, (clip, product, best)


def test_search_hits_carry_their_best_moments(media_engine: Engine, media_set: Any) -> None:
    product, start, _ = media_set.shots["clip-narrated"][1]
    hits = media_engine.search_image(media_set.photos[product], k=5)
    hit = next(h for h in hits if h.id == "clip-narrated")
    assert "video" in hit.contributions
    assert abs(hit.moments[0].start - start) < 0.6
    assert hit.to_dict()["moments"][0]["label"] == "00:03-00:06"


def test_narration_is_searchable_text_and_sound_is_filterable(media_engine: Engine, media_set: Any) -> None:
    top = media_engine.search_text(media_set.narrated, k=1)[0]
    assert top.id == "clip-narrated" and "speech" in top.contributions
    (row,) = media_engine.store.get(["clip-narrated"])
    assert row["attributes"]["speech_lang"] == "en"
    assert row["attributes"]["video_moments"] == 3
    assert set(media_engine.store.ids_where("audio_music = true")) == {"clip-music"}
    assert "clip-narrated" in media_engine.store.ids_where("audio_speech = true")
    assert "clip-silent" not in media_engine.store.ids_where("audio_speech = true OR audio_music = true")
    assert set(media_engine.store.ids_where("video_seconds > 5")) == {"clip-narrated", "clip-music"}


def test_models_learn_towers_for_video_and_speech(media_engine: Engine) -> None:
    assert fused_modalities(media_engine.store) == ["image", "text", "ocr", "video", "speech"]


def test_reingest_replaces_moments_and_delete_removes_them(media_set: Any, tmp_path: Path) -> None:
    folder = media_set.catalog.parent
    catalog = tmp_path / "catalog.jsonl"
    rows = [{"id": "c", "title": "clip", "video": str(folder / "narrated.mp4")}]
    catalog.write_text(json.dumps(rows[0]) + "\n")
    engine = Engine.open(tmp_path / "store")
    engine.ingest(catalog, progress=False)
    assert [m["label"] for m in engine.product_moments("c")] == ["00:00-00:03", "00:03-00:06", "00:06-00:09"]
    assert engine.ingest(catalog, progress=False).unchanged == 1
    shutil.copyfile(folder / "music.mp4", tmp_path / "other.mp4")
    rows[0]["video"] = str(tmp_path / "other.mp4")
    catalog.write_text(json.dumps(rows[0]) + "\n")
    assert engine.ingest(catalog, progress=False).updated == 1
    assert [m["label"] for m in engine.product_moments("c")] == ["00:00-00:03", "00:03-00:06"]
    engine.delete(["c"])
    assert engine.product_moments("c") == []
    assert engine.moments.store() is not None and engine.moments.store().count() == 0  # type: ignore[union-attr]


def test_api_lists_moments_searches_them_and_serves_the_video(media_engine: Engine, media_set: Any) -> None:
    client = TestClient(
        create_app(media_engine, ServiceSettings(image_roots=[str(media_set.catalog.parent)]))
    )
    product = client.get("/products/clip-narrated").json()
    assert [m["label"] for m in product["moments"]] == ["00:00-00:03", "00:03-00:06", "00:06-00:09"]
    assert product["video"] == "/products/clip-narrated/video" and "audio" not in product  # URLs, no paths
    found = client.get("/search", params={"q": media_set.narrated, "k": 3}).json()
    assert found["hits"][0]["id"] == "clip-narrated" and "speech" in found["hits"][0]["why"]
    assert client.get("/search/moments", params={"q": "summer", "k": 3}).status_code == 200
    video = client.get(product["video"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert client.get("/products/photo-only/video").status_code == 404
