"""Ingest on the real shared catalogues: mapping, incremental re-runs, bad input, kill -9 resume."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from tests.conftest import HM_MAPPING, write_subset


def test_fashion_subset_is_fully_ingested(fashion_engine: Engine, fashion_subset: Path) -> None:
    info = fashion_engine.info()
    assert info["products"] == 120
    assert info["modalities"] == {"text": 120, "image": 120, "ocr": 0}
    assert info["encoders"]["text"]["name"] == "use-multilingual"
    assert info["encoders"]["image"]["dim"] == 1280 + 112
    assert info["attributes"]["articleType"] == "string"
    [product] = fashion_engine.store.get(["10000"])
    assert product["title"] == "Palm Tree Girls Sp Jace Sko White Skirts"
    assert product["lang"] == "en"
    assert product["attributes"]["gender"] == "Women"


def test_hm_items_ingest_through_mapping_alone(hm_csv: Path, tmp_path: Path) -> None:
    with hm_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    titled = [i for i, r in enumerate(rows) if r["prod_name"]][:12]
    untitled = [i for i, r in enumerate(rows) if not r["prod_name"]][:12]
    subset = write_subset(hm_csv, tmp_path / "hm.csv", titled + untitled)
    engine = Engine.open(tmp_path / "store")
    report = engine.ingest(subset, HM_MAPPING, progress=False)
    assert (report.added, report.errors) == (24, 0)
    assert report.warnings == 12  # the empty titles, reported
    assert engine.info()["modalities"] == {"text": 12, "image": 24, "ocr": 0}
    image_only = engine.store.get([rows[untitled[0]]["article_id"]])[0]
    assert image_only["title"] is None and image_only["image"]
    # an image-only product is found by its photo
    hits = engine.search_image(image_only["image"], k=1)
    assert hits[0].id == image_only["id"]


def test_incremental_add_update_delete(fashion_csv: Path, tmp_path: Path) -> None:
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(12)))
    engine = Engine.open(tmp_path / "store")
    first = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert (first.added, first.updated, first.unchanged) == (12, 0, 0)
    again = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 12, 0)

    with catalog.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[1][2] = "Completely New Title Red Dress"  # productDisplayName of the first product
    del rows[5]  # one product leaves the catalogue
    rows.append(write_subset(fashion_csv, tmp_path / "one.csv", [500]).read_text().splitlines()[1].split(","))
    with catalog.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    changed = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert (changed.added, changed.updated, changed.unchanged, changed.deleted) == (1, 1, 10, 1)
    assert engine.store.get([rows[1][0]])[0]["title"] == "Completely New Title Red Dress"
    assert engine.store.count() == 12


def test_bad_input_is_reported_and_the_rest_ingested(fashion_csv: Path, tmp_path: Path) -> None:
    images = fashion_csv.parent / "images"
    media = tmp_path / "media"
    media.mkdir()
    (media / "empty.jpg").write_bytes(b"")
    good = (images / "10000.jpg").read_bytes()
    (media / "cut.jpg").write_bytes(good[: len(good) // 3])
    Image.new("1", (3000, 3000)).save(media / "bomb.png")
    Image.new("CMYK", (64, 64), (0, 200, 200, 0)).save(media / "cmyk.jpg")
    shutil.copy(images / "10001.jpg", media / "ok.jpg")
    catalog = tmp_path / "bad.csv"
    catalog.write_bytes(
        b"id,title,image,colour\n"
        b"ok,Blue Skirt,media/ok.jpg,blue\n"
        b"cmyk,Red Top,media/cmyk.jpg,red\n"
        b"latin1,Caf\xe9 Shirt,,brown\n"
        b"empty,,media/empty.jpg,red\n"
        b"cut,Cut Photo Shirt,media/cut.jpg,red\n"
        b"bomb,,media/bomb.png,red\n"
        b"missing,,media/none.jpg,red\n"
        b"ok,Duplicate,,red\n"
        b"notitle,,,red\n"
    )
    engine = Engine.open(tmp_path / "store", None)
    engine.config.max_image_pixels = 1_000_000
    report = engine.ingest(catalog, progress=False, report_path=tmp_path / "report.jsonl")
    assert sorted(r["id"] for r in engine.store.get(["ok", "cmyk", "latin1", "cut"])) == [
        "cmyk",
        "cut",
        "latin1",
        "ok",
    ]
    assert engine.store.count() == 4
    lines = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    summary, problems = lines[0]["summary"], lines[1:]
    assert summary["added"] == 4
    by_id = {(p["id"], p["severity"]): p for p in problems if p["id"]}
    assert "duplicate id" in by_id[("ok", "error")]["reason"]
    assert "empty file" in by_id[("empty", "warning")]["reason"]
    assert "no usable modality" in by_id[("empty", "error")]["reason"]
    assert "truncated" in by_id[("cut", "warning")]["reason"]
    assert "decompression bomb" in by_id[("bomb", "warning")]["reason"]
    assert "file not found" in by_id[("missing", "warning")]["reason"]
    assert by_id[("notitle", "error")]["row"] == 9
    assert any(p["field"] == "title" and "UTF-8" in p["reason"] and p["row"] == 3 for p in problems)
    assert all(p["source"] == str(catalog) for p in problems)
    assert "errors" in report.summary() and str(tmp_path / "report.jsonl") in report.summary()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfuse", *args], capture_output=True, text=True, timeout=600
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    catalog = tmp_path / "nothing.csv"
    catalog.write_text("id,title,image\na,,missing.jpg\n")
    result = _cli("ingest", str(catalog), "--store", str(tmp_path / "s"), "--image-encoder", "none")
    assert result.returncode == 1
    assert "nothing could be ingested" in result.stderr
    result = _cli("ingest", str(tmp_path / "nope.csv"), "--store", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "catalogue not found" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_mid_ingest_resumes_without_loss_or_duplicates(fashion_csv: Path, tmp_path: Path) -> None:
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(200, 296)))
    store = tmp_path / "store"
    args = [
        sys.executable,
        "-m",
        "shopfuse",
        "ingest",
        str(catalog),
        "--store",
        str(store),
        "--field",
        "title=productDisplayName",
        "--batch-size",
        "8",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    versions = store / "lance" / "products.lance" / "_versions"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if versions.is_dir() and len(list(versions.iterdir())) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = Engine.open(store).store.count()
    assert 0 < partial < 96, "the kill must land mid-ingest"
    assert partial % 8 == 0, "only whole batches are committed"
    result = _cli(
        "ingest",
        str(catalog),
        "--store",
        str(store),
        "--field",
        "title=productDisplayName",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["unchanged"] == partial
    assert summary["added"] == 96 - partial
    ids, _ = Engine.open(store).store.vectors("text")
    assert len(ids) == len(set(ids)) == 96
    assert os.path.isdir(store / "reports")


def test_ocr_makes_image_only_products_searchable_by_text(hm_csv: Path, tmp_path: Path) -> None:
    """Photos of packaged tights carry printed text: with OCR, a text query finds them without titles."""
    images = hm_csv.parent / "images"
    catalog = tmp_path / "photos.jsonl"
    packaged = ["0123173001", "0156231001", "0201219003"]
    plain = ["0108775015", "0110065002"]
    catalog.write_text(
        "".join(json.dumps({"id": i, "image": str(images / f"{i}.jpg")}) + "\n" for i in packaged + plain)
    )
    from shopfuse.config import EngineConfig

    engine = Engine.open(tmp_path / "store", EngineConfig(ocr="auto"))
    report = engine.ingest(catalog, progress=False)
    assert report.added == 5
    counts = engine.info()["modalities"]
    assert counts["text"] == 0 and counts["image"] == 5 and counts["ocr"] >= 2
    hits = engine.search_text("tights", k=3)
    assert {h.id for h in hits if "ocr" in h.contributions} <= set(packaged)
    assert hits[0].id in packaged and "ocr" in hits[0].contributions
    stored = engine.store.get([hits[0].id])[0]
    assert "tights" in stored["ocr_text"].lower()


def _on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run ``python -m shopfuse ARGS`` with stderr on a pseudo-terminal: (status, stdout, stderr)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # tqdm needs a width
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed (EIO) once the command is done
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "shopfuse", *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=600,
        )
    finally:
        os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    return result.returncode, result.stdout, b"".join(chunks).decode(errors="replace")


def test_progress_bars_only_on_a_terminal(fashion_csv: Path, shared_data: Path, tmp_path: Path) -> None:
    """Issue 16: ``ingest`` and ``demo`` draw tqdm bars on a terminal, and into a pipe print no
    bar, only their plain summary line."""
    catalog = write_subset(fashion_csv, tmp_path / "c.csv", list(range(12)))
    ingest = ["ingest", str(catalog), "--field", "title=productDisplayName", "--store"]
    piped = _cli(*ingest, str(tmp_path / "piped"))
    assert piped.returncode == 0, piped.stderr
    assert "12 rows: 12 added" in piped.stdout
    assert "product/s" not in piped.stderr and "%|" not in piped.stderr and "\r" not in piped.stderr
    status, out, terminal = _on_a_terminal([*ingest, str(tmp_path / "terminal")])
    assert status == 0, terminal
    assert "12 rows: 12 added" in out and "ingest: 100%|" in terminal
    demo = _cli("demo", "--store", str(tmp_path / "demo"), "--data", str(shared_data), "--limit", "12")
    assert demo.returncode == 0, demo.stderr
    assert "12 rows: 12 added" in demo.stdout and "text query" in demo.stdout
    assert "%|" not in demo.stderr and "\r" not in demo.stderr, demo.stderr[-2000:]
