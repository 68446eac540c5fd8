"""``ray_ingest`` on a real two-node Ray cluster (head + worker on this machine) with the real encoders.

200 real fashion products (one with a broken photo), OCR off: the same content hashes, problems and
search results as a local ingest of the same rows; a re-run encodes nothing; a driver killed mid-way
(SIGKILL, in a subprocess) is resumed by the next run with every product stored once.
Skipped only when Ray is not installed and ``SHOPFUSE_REQUIRE_RAY`` is unset.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopfuse.catalog.load import load_catalog
from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.store.locate import open_store
from tests.conftest import write_subset

if importlib.util.find_spec("ray") is None and not os.environ.get("SHOPFUSE_REQUIRE_RAY"):
    pytest.skip("ray is not installed (pip install 'shopfuse[distributed]')", allow_module_level=True)

from shopfuse.distributed.ray_ingest import RayStats, ray_ingest
from tests.helpers.ray_cluster import two_node_cluster

ROWS = list(range(3, 9572, 47))[:200]
"""200 products spread over the catalogue."""
RESUME_ROWS = ROWS[:72]
"""The killed-driver test's catalogue: enough for several 8-product commits before and after the kill."""
BROKEN = 5
"""Index of the product whose photo is replaced by a file that is not an image."""
QUERIES = ("red dress for women", "black leather shoes", "blue denim jeans", "sports watch", "white shirt")


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A two-node local cluster for the whole session."""
    with two_node_cluster() as address:
        yield address


@pytest.fixture(scope="module")
def catalogue(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 200 products, the sixth one pointing at a broken photo."""
    folder = tmp_path_factory.mktemp("ray-catalogue")
    path = write_subset(fashion_csv, folder / "fashion.csv", ROWS)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all" * 50)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[1 + BROKEN][rows[0].index("image")] = str(broken)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _engine(folder: Path) -> Engine:
    return Engine.open(folder, EngineConfig(ocr="off"))


def _on_ray(engine: Engine, catalogue: Path, address: str, **options: Any) -> Any:
    """``ray_ingest`` of ``catalogue`` into ``engine``'s store, quietly."""
    loaded = load_catalog(catalogue, FASHION_MAPPING)
    encoder = engine.product_encoder()
    return ray_ingest(loaded, engine.store, encoder, address=address, progress=False, **options)


def _problems(report: object) -> set[tuple[int, str | None, str | None, str]]:
    return {(p.row, p.id, p.field, p.severity) for p in report.problems}  # type: ignore[attr-defined]


def test_same_as_local_then_incremental(catalogue: Path, ray_address: str, tmp_path: Path) -> None:
    local = _engine(tmp_path / "local")
    expected = local.ingest_catalog(load_catalog(catalogue, FASHION_MAPPING), progress=False)
    engine = _engine(tmp_path / "ray")
    stats = RayStats()
    report = _on_ray(engine, catalogue, ray_address, stats=stats)
    assert report.added == expected.added == len(ROWS)
    assert engine.store.hashes() == local.store.hashes()
    assert engine.store.count() == len(ROWS)
    # the broken photo is reported on its row, the product kept for its title
    assert _problems(report) == _problems(expected)
    broken = [p for p in report.problems if p.field == "image"]
    assert len(broken) == 1 and broken[0].row == BROKEN + 1 and broken[0].severity == "warning"
    for query in QUERIES:
        ours = [h.id for h in engine.search_text(query, k=5)]
        theirs = [h.id for h in local.search_text(query, k=5)]
        assert ours == theirs, query
    # both nodes did work, and every stage saw every product
    assert stats.nodes == 2
    assert {"decode", "text", "image"} <= set(stats.stages)
    assert all(s["products"] == len(ROWS) for s in stats.stages.values())
    assert max(len(s["nodes"]) for s in stats.stages.values()) == 2
    again = _on_ray(engine, catalogue, ray_address)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(ROWS))
    # one changed title, encoded on the cluster by a driver that has searched: its loaded models
    # (ONNX sessions, ctypes handles) cannot be pickled and must not travel
    changed = tmp_path / "changed.csv"
    text = catalogue.read_text(encoding="utf-8").splitlines()
    row = next(csv.reader([text[1]]))
    title = row[next(csv.reader([text[0]])).index("productDisplayName")]
    changed.write_text("\n".join([text[0], text[1].replace(title, title + " Limited Edition"), *text[2:]]))
    third = _on_ray(engine, changed, ray_address)
    assert (third.added, third.updated, third.unchanged) == (0, 1, len(ROWS) - 1)


DRIVER = """
import sys
from shopfuse.catalog.load import load_catalog
from shopfuse.config import EngineConfig
from shopfuse.demo import FASHION_MAPPING
from shopfuse.distributed.ray_ingest import ray_ingest
from shopfuse.engine import Engine
engine = Engine.open(sys.argv[1], EngineConfig(ocr="off"))
import time
write = engine.store.upsert
def slow_upsert(records):  # a slow writer: the kill must land between two committed batches
    write(records)
    time.sleep(1.0)
engine.store.upsert = slow_upsert
ray_ingest(load_catalog(sys.argv[2], FASHION_MAPPING), engine.store, engine.product_encoder(),
           address=sys.argv[3], batch_size=8, progress=False)
"""


def test_resume_after_killed_driver(fashion_csv: Path, ray_address: str, tmp_path: Path) -> None:
    catalogue = write_subset(fashion_csv, tmp_path / "resume.csv", RESUME_ROWS)
    store = tmp_path / "store"
    _engine(store)  # made here, so the subprocess only opens it
    log = (tmp_path / "driver.log").open("wb")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(store), str(catalogue), ray_address], stdout=log, stderr=log
    )
    stored = 0
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and driver.poll() is None:
            stored = len(open_store(store).hashes())  # the store alone: opening an Engine loads models
            if stored >= 16:
                break
            time.sleep(0.2)
        assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait()
        log.close()
    engine = _engine(store)
    before = len(engine.store.hashes())
    assert 16 <= before < len(RESUME_ROWS)
    report = _on_ray(engine, catalogue, ray_address)
    assert report.unchanged == before
    assert report.added == len(RESUME_ROWS) - before
    ids = sorted(engine.store.hashes())
    assert len(ids) == engine.store.count() == len(RESUME_ROWS)
    assert len(engine.store.get(ids)) == len(RESUME_ROWS)


def test_engine_ingest_on_ray_adds_first_video_columns_and_learns(
    fashion_csv: Path, media_set: Any, media_engine: Engine, ray_address: str, tmp_path: Path
) -> None:
    # the constructed clips (first videos and sounds of a store, broken files among them) plus 60
    # photo+title products: Engine.ingest(ray=...) is the local path with the encoding moved, so it
    # gives the store its video/sound columns and moments, reports the same problems, and learns
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        fashion = [row for i, row in enumerate(csv.DictReader(handle)) if i in set(ROWS[:60])]
    clips = [json.loads(line) for line in media_set.catalog.read_text(encoding="utf-8").splitlines()]
    for clip in clips:
        for name in ("video", "audio", "image"):
            if isinstance(clip.get(name), str) and not Path(clip[name]).is_absolute():
                clip[name] = str(media_set.catalog.parent / clip[name])
            elif isinstance(clip.get(name), list):
                clip[name] = [str(media_set.catalog.parent / v) for v in clip[name]]
    products = [
        {
            "id": f"f{row['id']}",
            "title": row["productDisplayName"],
            "image": str(fashion_csv.parent / row["image"]),
        }
        for row in fashion
    ]
    catalogue = tmp_path / "catalogue.jsonl"
    catalogue.write_text("\n".join(json.dumps(r) for r in [*clips, *products]) + "\n", encoding="utf-8")
    engine = Engine.open(tmp_path / "store", EngineConfig(ocr="auto"))
    assert "video" not in engine.store.manifest.columns
    report = engine.ingest(catalogue, ray=ray_address, progress=False, learn="on")
    assert {"video", "speech", "audio"} <= set(engine.store.manifest.columns)
    assert [m["label"] for m in engine.product_moments("clip-narrated")] == [
        "00:00-00:03",
        "00:03-00:06",
        "00:06-00:09",
    ]
    local = {(p.id, p.field, p.severity) for p in media_engine.last_report.problems if p.id}  # type: ignore[attr-defined]
    ours = {(p.id, p.field, p.severity) for p in report.problems if p.id and not p.id.startswith("f")}
    assert ours == local
    assert report.learning is not None and report.learning["learned"], report.learning
    assert engine.model is not None
    top = engine.search_text(media_set.narrated, k=3)
    assert "clip-narrated" in [h.id for h in top]
