"""The product-page check on a real learned store whose titles were changed to contradict their photos."""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfuse.content.page_report import render_page_check
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.model import learning, train
from shopfuse.tasks.duplicates import stored_vectors
from shopfuse.tasks.page_check import check_pages, photo_predictions
from tests.conftest import write_subset

ROWS = list(range(0, 9572, 48))
"""200 real fashion products."""
THRESHOLD = 0.3
"""A 200-product model is unsure of colours (few reach 0.5); at 0.3 its colour reading agrees with
the stated colour 95% of the time on this subset."""
COLOURS = ("Red", "Green", "Yellow", "Blue", "Black", "White")


def _rewrite(path: Path, titles: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    title = rows[0].index("productDisplayName")
    for row in rows[1:]:
        row[title] = titles.get(row[0], row[title])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture(scope="module")
def shop(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A learned store of 200 real products, then a few titles changed to contradict their photos.

    The changed products are those whose photo the model reads as their stated colour (or
    sub-category); their colour word becomes another colour (their category word "Shoes" or
    "Tshirts") and the catalogue is ingested again (the model is kept: too few changes to relearn).
    """
    root = tmp_path_factory.mktemp("page-check")
    catalog = write_subset(fashion_csv, root / "c.csv", ROWS)
    patch = pytest.MonkeyPatch()
    patch.setattr(learning, "MIN_PAIRS", 150)
    patch.setattr(train, "fit_model", functools.partial(train.fit_model, small_photos=0))
    try:
        engine = Engine.open(root / "store")
        report = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    finally:
        patch.undo()
    assert engine.model is not None, report.learning
    ids = sorted(engine.store.hashes())
    vectors = stored_vectors(engine.store, "image", ids)
    readings = dict(
        zip(ids, photo_predictions(engine.model, np.stack([vectors[i] for i in ids])), strict=True)
    )
    rows = {r["id"]: r for r in engine.store.get(ids)}
    changed: dict[str, tuple[str, str]] = {}
    for pid in ids:
        title, stated = rows[pid]["title"], rows[pid]["attributes"]
        colour, confidence = readings[pid]["baseColour"]
        match = re.search(rf"\b{re.escape(colour)}\b", title)
        if colour == stated["baseColour"] and confidence >= THRESHOLD and match and len(changed) < 4:
            word = next(c for c in COLOURS if c != colour)
            changed[pid] = (title[: match.start()] + word + title[match.end() :], word)
    for pid in ids:
        title, stated = rows[pid]["title"], rows[pid]["attributes"]
        kind, confidence = readings[pid]["subCategory"]
        ending = re.search(r"(Tshirts|Shirts|Shoes|Watches)$", title)
        if pid in changed or not ending or kind != stated["subCategory"] or confidence < 0.6:
            continue
        if sum(w in ("Shoes", "Tshirts") for _, w in changed.values()) < 3:
            word = "Tshirts" if kind in ("Shoes", "Sandal", "Flip Flops") else "Shoes"
            if word.casefold() not in ending.group(1).casefold():
                changed[pid] = (title[: ending.start()] + word, word)
    hostile = next(pid for pid in ids if pid not in changed)
    titles = {pid: t for pid, (t, _) in changed.items()}
    titles[hostile] = '<script>alert("x")</script> ' + rows[hostile]["title"]
    _rewrite(catalog, titles)
    report = engine.ingest(catalog, FASHION_MAPPING, progress=False)
    assert report.learning is not None and not report.learning["learned"]
    return {"engine": engine, "changed": changed, "hostile": hostile, "untouched": len(ids) - len(changed)}


def test_changed_titles_are_caught(shop: dict[str, Any]) -> None:
    engine, changed = shop["engine"], shop["changed"]
    assert sum(w in COLOURS for _, w in changed.values()) >= 2, changed
    assert sum(w in ("Shoes", "Tshirts") for _, w in changed.values()) >= 2, changed
    report = check_pages(engine.store, engine.model, min_confidence=THRESHOLD)
    found = {
        (f.id, f.text.casefold()) for f in report.findings if f.kind == "contradiction" and f.field == "title"
    }
    caught = [pid for pid, (_, word) in changed.items() if (pid, word.casefold()) in found]
    assert len(caught) >= len(changed) - 1, (changed, sorted(found))
    example = next(f for f in report.findings if f.id in caught and f.field == "title")
    assert example.photo_says and example.attribute and example.confidence is not None
    assert example.confidence >= THRESHOLD
    assert example.context[example.start : example.end] == example.text
    # unchanged products are mostly left alone
    others = {f.id for f in report.findings if f.kind == "contradiction" and f.id not in changed}
    assert len(others) <= 0.15 * shop["untouched"], sorted(others)
    assert f">= {THRESHOLD:g}" in report.to_dict()["compared"]


def test_a_higher_threshold_compares_less(shop: dict[str, Any]) -> None:
    engine = shop["engine"]
    low = check_pages(engine.store, engine.model, min_confidence=THRESHOLD, find_duplicates=False)
    high = check_pages(engine.store, engine.model, min_confidence=0.99, find_duplicates=False)
    assert high.counts()["contradiction"] < low.counts()["contradiction"]
    assert high.counts()["duplicate"] == 0


def test_ids_where_and_limit_choose_products(shop: dict[str, Any]) -> None:
    engine = shop["engine"]
    some = list(shop["changed"])[:2]
    report = check_pages(
        engine.store, engine.model, ids=some, min_confidence=THRESHOLD, find_duplicates=False
    )
    assert report.products == 2 and {f.id for f in report.findings} <= set(some)
    shoes = check_pages(
        engine.store, engine.model, where="subCategory = 'Shoes'", limit=5, find_duplicates=False
    )
    assert 0 < shoes.products <= 5


def test_the_html_page_escapes_titles_and_shows_thumbnails(shop: dict[str, Any], tmp_path: Path) -> None:
    engine, hostile = shop["engine"], shop["hostile"]
    report = check_pages(engine.store, engine.model, min_confidence=THRESHOLD).to_dict()
    # the hostile listing as a finding, whatever the check made of it
    report["findings"].append(
        {
            "kind": "missing",
            "id": hostile,
            "title": engine.store.get([hostile])[0]["title"],
            "photo_says": "<b>",
        }
    )
    page = render_page_check(report, store="<i>shop</i>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<i>shop" not in page and "<b>" not in page
    assert "data:image/jpeg;base64," in page
    assert page.count("<mark>") >= 1
    (tmp_path / "page.html").write_text(page, encoding="utf-8")


def test_the_page_shows_at_most_max_shown(shop: dict[str, Any]) -> None:
    findings = [{"kind": "duplicate", "id": str(i), "title": "t", "others": ["x"]} for i in range(12)]
    page = render_page_check({"findings": findings, "counts": {"duplicate": 12}}, max_shown=5)
    assert page.count('class="f"') == 5 and "7 more" in page
