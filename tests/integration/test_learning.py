"""Ingest learns the shop by default: too small keeps raw encoders, big enough learns, changes relearn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.model import learning
from shopfuse.model.learning import stored_records
from shopfuse.tasks.ingest import PRODUCT
from tests.conftest import write_subset


def test_too_small_to_learn_keeps_raw_encoders_and_says_so(fashion_subset: Path, tmp_path: Path) -> None:
    arguments = ["ingest", str(fashion_subset), "--store", str(tmp_path / "s")]
    result = CliRunner().invoke(app, [*arguments, "--field", "title=productDisplayName"])
    assert result.exit_code == 0, result.output
    assert "fewer than the 500 learning needs: serving the raw encoders" in result.output
    engine = Engine.open(tmp_path / "s")
    assert engine.model is None
    assert PRODUCT not in engine.store.manifest.columns


@pytest.fixture(scope="module")
def learned(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 240 real products that learned its model in ingest (threshold lowered to 200)."""
    root = tmp_path_factory.mktemp("learned")
    catalog = write_subset(fashion_csv, root / "c.csv", list(range(0, 9572, 40)))
    patch = pytest.MonkeyPatch()
    patch.setattr(learning, "MIN_PAIRS", 200)
    try:
        engine = Engine.open(root / "store")
        report = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    finally:
        patch.undo()
    assert report.learning is not None and report.learning["learned"], report.learning
    assert "articleType" in report.learning["labels"] and "baseColour" in report.learning["labels"]
    return root


def test_the_learned_model_is_kept_in_the_store_and_served(learned: Path) -> None:
    saved = json.loads((learned / "store" / "engine.json").read_text())
    assert saved["model_learned"] and not Path(saved["model"]).is_absolute()
    engine = Engine.open(learned / "store")  # reopened: the model comes with the store
    assert engine.model is not None
    counts = engine.store.modality_counts()
    assert counts[PRODUCT] == engine.store.count()
    assert engine.parse_query("black watch")["constraints"]
    hits = engine.search_text("black watch", k=5)
    assert PRODUCT not in hits[0].contributions  # the fused score is split by modality
    assert sum(h.attributes.get("articleType") == "Watches" for h in hits) >= 3
    assert engine.predict_attributes(ids=[hits[0].id])


def test_an_unchanged_reingest_keeps_the_model(learned: Path) -> None:
    engine = Engine.open(learned / "store")
    report = engine.ingest(learned / "c.csv", FASHION_MAPPING, progress=False)
    assert report.unchanged == report.rows
    assert report.learning is not None and not report.learning["learned"]
    assert "current" in report.learning["reason"]


def test_a_cut_short_move_is_finished_by_the_next_ingest(learned: Path) -> None:
    engine = Engine.open(learned / "store")
    ids = sorted(engine.store.hashes())[:7]
    raw = {c: dict(zip(*engine.store.vectors(c), strict=True)) for c in ("text", "image")}
    engine.store.upsert(stored_records(engine.store, ids, raw))  # as if killed while rewriting
    assert engine.store.modality_counts()[PRODUCT] == engine.store.count() - 7
    report = engine.ingest(learned / "c.csv", FASHION_MAPPING, progress=False)
    assert report.learning is not None and "finished moving" in report.learning["reason"]
    assert engine.store.modality_counts()[PRODUCT] == engine.store.count()


def test_enough_changes_relearn_and_replace_the_old_model(learned: Path, fashion_csv: Path) -> None:
    engine = Engine.open(learned / "store")
    before = engine.config.model
    assert before is not None
    rows = list(range(0, 9572, 40)) + list(range(3, 9572, 150))
    more = write_subset(fashion_csv, learned / "more.csv", rows)
    report = engine.ingest(more, FASHION_MAPPING, progress=False)
    assert report.added >= 48  # 20% of 240
    assert report.learning is not None and report.learning["learned"], report.learning
    assert engine.config.model != before
    assert not (learned / "store" / before).exists()
    assert engine.store.modality_counts()[PRODUCT] == engine.store.count()
    assert Engine.open(learned / "store").search_text("black watch", k=3)


def test_heads_also_learn_from_small_thumbnails(learned: Path) -> None:
    from shopfuse.model.train import SMALL_SIZE, _small_photos, fused_modalities, load_features

    engine = Engine.open(learned / "store")
    table = load_features(engine.store, fused_modalities(engine.store))
    small = _small_photos(engine.context, engine.config.image_encoder, table, 12, seed=0)
    assert small is not None and len(small.ids) == 12 and SMALL_SIZE == (60, 80)
    assert small.masks["image"].all() and not small.masks["text"].any()
    position = {pid: i for i, pid in enumerate(table.ids)}
    original = table.raw["image"][[position[i] for i in small.ids]]
    # the thumbnail's features are near, not equal, to the full photo's
    similarity = (original * small.raw["image"]).sum(axis=1)
    assert (similarity < 0.999).all() and (similarity > 0.5).all()
