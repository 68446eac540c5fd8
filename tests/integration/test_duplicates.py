"""Duplicate listings of the real fashion catalogue collapse into one hit: engine, API and CLI.

The catalogue lists "Scullers Men Check Purple Shirts" six times: four shirts, two of them twice
with byte-identical photos (13860/13861 and 13882/13883); their photo cosines with the other
shirts are 0.64-0.93, below the 0.95 threshold. "Scullers Men Check White Shirts" is listed six
times too. Every 600th row of the catalogue stands around them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from shopfuse.tasks.duplicates import normalise_title
from shopfuse.types import Hit
from tests.conftest import write_subset

PURPLE = [812, 828, 3256, 3257, 3277, 3278]
"""Rows of the purple shirts: ids 11042, 11058, 13860, 13861, 13882, 13883."""
WHITE = [813, 814, 815, 816, 821, 822]
QUERY = "Scullers Men Check Purple Shirts"
TWINS = [("13860", "13861"), ("13882", "13883")]


@pytest.fixture(scope="module")
def photos(fashion_csv: Path) -> dict[str, str]:
    """Each product's photo file, as its SHA-1: products with one photo file are surely one listing."""
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        return {row["id"]: row["sha1"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def engine(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A store of the two shirt titles' twelve listings and sixteen other products."""
    root = tmp_path_factory.mktemp("duplicates")
    rows = sorted({*PURPLE, *WHITE, *range(0, 9572, 600)})
    catalog = write_subset(fashion_csv, root / "catalog.csv", rows)
    engine = Engine.open(root / "store")
    engine.ingest(catalog, FASHION_MAPPING, progress=False)
    yield engine


def _ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def _check_twins(hits: list[Hit]) -> None:
    """Each purple twin pair shows as one hit naming the other as its variant."""
    by_id = {h.id: h for h in hits}
    for a, b in TWINS:
        assert (a in by_id) != (b in by_id), (a, b, _ids(hits))
        kept, other = (a, b) if a in by_id else (b, a)
        assert other in by_id[kept].variants


def test_duplicates_fill_the_top_k_unless_collapsed(engine: Engine, photos: dict[str, str]) -> None:
    plain = engine.search_text(QUERY, k=5, collapse=False)
    assert _ids(plain) == _ids(engine.searcher().text_query(QUERY, k=5))  # the ranking as before
    assert len({photos[h.id] for h in plain}) < 5  # one photo file twice: a listing shown twice
    assert all(not h.variants for h in plain)

    hits = engine.search_text(QUERY, k=5)
    assert _ids(hits) == _ids(engine.search_text(QUERY, k=5, collapse=True))  # on by default
    assert len(hits) == 5
    assert len({photos[h.id] for h in hits}) == 5  # five distinct listings
    assert {"11042", "11058"} <= set(_ids(hits))  # the four purple shirts, each once
    _check_twins(hits)
    for hit in hits:
        for variant in hit.variants:
            (row,) = engine.store.get([variant])
            assert normalise_title(row["title"]) == normalise_title(hit.title)
    # the hits keep their order: every kept hit ranks where it ranked among the others kept
    deep = _ids(engine.search_text(QUERY, k=15, collapse=False))
    assert _ids(hits) == sorted(_ids(hits), key=deep.index)


def test_photo_search_collapses_a_byte_identical_twin(engine: Engine, fashion_csv: Path) -> None:
    photo = fashion_csv.parent / "images" / "13882.jpg"
    plain = engine.search_image(photo, k=3, collapse=False)
    assert set(_ids(plain)[:2]) == {"13882", "13883"}
    hits = engine.search_image(photo, k=3)
    assert hits[0].id in {"13882", "13883"} and len(hits) == 3
    assert hits[0].variants == [({"13882", "13883"} - {hits[0].id}).pop()]
    assert hits[1].id == plain[2].id


def test_api_collapses_by_default_and_on_request_not(engine: Engine, fashion_csv: Path) -> None:
    client = TestClient(create_app(engine, ServiceSettings()))
    body = client.get("/search", params={"q": QUERY, "k": 5}).json()
    assert len(body["hits"]) == 5
    assert sum(len(h["variants"]) for h in body["hits"]) >= 2
    _check_twins([Hit(id=h["id"], score=h["score"], variants=h["variants"]) for h in body["hits"]])
    plain = client.get("/search", params={"q": QUERY, "k": 5, "collapse": "false"}).json()
    assert [h["id"] for h in plain["hits"]] == _ids(engine.search_text(QUERY, k=5, collapse=False))
    assert all(h["variants"] == [] for h in plain["hits"])

    photo = (fashion_csv.parent / "images" / "13882.jpg").read_bytes()
    upload = {"file": ("shirt.jpg", photo, "image/jpeg")}
    hits = client.post("/search/image", files=upload, data={"k": "3"}).json()["hits"]
    assert len(hits[0]["variants"]) == 1
    hits = client.post("/search/image", files=upload, data={"k": "3", "collapse": "false"}).json()["hits"]
    assert {h["id"] for h in hits[:2]} == {"13882", "13883"}


def test_cli_shows_variants_and_no_collapse_turns_them_off(engine: Engine) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["search", "--store", str(engine.path), QUERY, "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert sum(len(h.get("variants", [])) for h in hits) >= 2
    table = runner.invoke(app, ["search", "--store", str(engine.path), QUERY, "-k", "5"])
    assert "variants: " in table.stdout
    plain = runner.invoke(
        app, ["search", "--store", str(engine.path), QUERY, "-k", "5", "--json", "--no-collapse"]
    )
    assert plain.exit_code == 0, plain.output
    assert [h["id"] for h in json.loads(plain.stdout)] == _ids(engine.search_text(QUERY, k=5, collapse=False))
    assert all("variants" not in h for h in json.loads(plain.stdout))
