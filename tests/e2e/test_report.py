"""The marketing insights report (``shopfuse report``) in headless Chromium.

A real store of 12 H&M customers' articles and purchases, some colour and type names replaced by
markup and math-like text, and the Open Bandit women's Thompson-sampling log with two item ids made
hostile too. The page is written by the CLI function and opened as a file: it must load with no
script error and no dialog, every plot must be a decoded image with a size, the names must show as
text, and nothing from the data may become an element. Screenshots go to
``test-artifacts/report/``. Without a browser the tests skip, unless ``SHOPFUSE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from shopfuse.cli.report import report
from tests.e2e.test_web_ui import browser  # noqa: F401  (the Chromium fixture)
from tests.helpers.hm_store import HOSTILE, build_hm_store

pytestmark = pytest.mark.e2e

ARTIFACTS = (
    Path(os.environ.get("SHOPFUSE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "report"
)
HOSTILE_ACTION = "<img src=x onerror=alert(1)>"
SEGMENT = "9bde591ffaab8d54c457448e4dca6f53"
"""The commonest value of the log's ``user_feature_3``."""
IMAGES_DECODED = """() => [...document.images].map((i) => ({
  id: i.dataset.testid, ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0,
  width: i.getBoundingClientRect().width}))"""


@pytest.fixture(scope="module")
def page_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the hostile store and log, written by the CLI function."""
    work = tmp_path_factory.mktemp("report")
    store = build_hm_store(shared_data, work, users=12, hostile=True)
    source = shared_data / "open-bandit" / "bts" / "women" / "women.csv"
    log = work / "log.csv"
    with source.open(newline="", encoding="utf-8") as src, log.open("w", newline="", encoding="utf-8") as out:
        reader, writer = csv.DictReader(src), None
        for row in reader:
            if row["item_id"] in ("16", "26"):  # creatives the report ranks among the best
                row["item_id"] = HOSTILE_ACTION + row["item_id"]
            if row["user_feature_3"] == SEGMENT:  # the segment column the report picks
                row["user_feature_3"] = HOSTILE
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
    cli = typer.Typer()
    cli.command()(report)
    target = work / "report.html"
    result = CliRunner().invoke(
        cli, ["--store", str(store), "--log", str(log), "--out", str(target), "--segments", "3"]
    )
    assert result.exit_code == 0, result.output
    return target


def test_report_page_loads_with_every_plot(browser: Any, page_file: Path) -> None:  # noqa: F811
    tab = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.goto(page_file.as_uri())
    tab.wait_for_load_state("load")
    images = tab.evaluate(IMAGES_DECODED)
    ids = {i["id"] for i in images}
    assert all(i["ok"] and i["width"] > 100 for i in images), images
    assert "plot-segments" in ids and "plot-gaps" in ids and "plot-creatives-0" in ids, ids
    assert sum(i.startswith("plot-trend-") for i in ids) >= 2, ids
    # every section has its content, not a "too few" note
    for testid in ("segments-table", "gaps-table", "creatives-method"):
        assert tab.get_by_test_id(testid).count() == 1, testid
    assert "not uniform" in tab.get_by_test_id("creatives-method").inner_text()
    assert "no search query log" in tab.get_by_test_id("gaps-source").inner_text()
    # hostile names are text: shown literally, never markup
    text = tab.inner_text("body")
    assert HOSTILE_ACTION + "16" in text
    assert f"user_feature_3 = {HOSTILE}" in text
    assert tab.evaluate("document.scripts.length") == 0
    assert tab.evaluate("document.querySelectorAll('b, img:not([data-testid])').length") == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    tab.close()
    assert not errors, errors


def test_report_without_a_log_says_so(
    shared_data: Path,
    tmp_path: Path,
    page_file: Path,
    browser: Any,  # noqa: F811
) -> None:
    store = page_file.parent / "store"
    cli = typer.Typer()
    cli.command()(report)
    target = tmp_path / "plain.html"
    result = CliRunner().invoke(cli, ["--store", str(store), "--out", str(target), "--segments", "2"])
    assert result.exit_code == 0, result.output
    tab = browser.new_page()
    tab.goto(target.as_uri())
    assert tab.get_by_test_id("no-log").count() == 1
    assert all(i["ok"] for i in tab.evaluate(IMAGES_DECODED))
    tab.close()


def test_report_names_a_bad_log(page_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,click,propensity_score\n1,0,0\n", encoding="utf-8")
    cli = typer.Typer()
    cli.command()(report)
    result = CliRunner().invoke(
        cli,
        ["--store", str(page_file.parent / "store"), "--log", str(bad), "--out", str(tmp_path / "x.html")],
    )
    assert result.exit_code == 2 and "bad.csv" in result.output and "propensity" in result.output
    assert not (tmp_path / "x.html").exists()


def test_report_reads_the_services_log_folder(page_file: Path, tmp_path: Path) -> None:
    """``--log`` may be the folder ``POST /creative/feedback`` appends to; its segment column is used."""
    from shopfuse.creative.journal import Journal

    journal = Journal(tmp_path / "log")
    for i in range(240):
        segment, action = str(i % 2), f"creative-{i % 3}"
        row = {
            "action": action,
            "reward": int(i % 7 == 0),
            "propensity": 1 / 3,
            "context": {"segment": segment},
        }
        journal.append({**row, "timestamp": f"2026-01-0{1 + i % 5}T10:00:00+00:00"})
    journal.close()
    cli = typer.Typer()
    cli.command()(report)
    target = tmp_path / "served.html"
    args = ["--store", str(page_file.parent / "store"), "--log", str(tmp_path / "log"), "--out", str(target)]
    result = CliRunner().invoke(cli, [*args, "--min-impressions", "20"])
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert "the log&#x27;s segment column" in page and "uniform-random" in page
    assert page.count('data-testid="plot-creatives-') == 3  # all users and segments 0 and 1
