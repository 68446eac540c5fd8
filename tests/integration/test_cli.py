"""The command line over a real store: text (English and Chinese), photo, filters, JSON, info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.engine import Engine

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("query", "article_type"),
    [
        ("手表", "Watches"),
        ("运动鞋", "Sports Shoes"),
        ("太阳镜", "Sunglasses"),
        ("手提包", "Handbags"),
    ],
)
def test_chinese_queries_find_english_titled_products(
    fashion_engine: Engine, query: str, article_type: str
) -> None:
    code, out, _ = run("search", "--store", str(fashion_engine.path), query, "-k", "3", "--json")
    assert code == 0
    hits = json.loads(out)
    assert len(hits) == 3
    assert all(h["attributes"]["articleType"] == article_type for h in hits[:2])
    assert all(h["title"].isascii() for h in hits)


def test_text_search_with_filter_and_table_output(fashion_engine: Engine) -> None:
    store = str(fashion_engine.path)
    code, out, _ = run(
        "search", "--store", store, "shoes", "-k", "5", "--where", "gender = 'Women'", "--json"
    )
    assert code == 0
    hits = json.loads(out)
    assert hits and all(h["attributes"]["gender"] == "Women" for h in hits)
    assert all(set(h["contributions"]) <= {"text", "ocr"} for h in hits)
    code, out, _ = run("search", "--store", store, "shoes", "-k", "2")
    assert code == 0 and out.startswith("  1. ")


def test_photo_search_finds_the_product_itself(fashion_engine: Engine, fashion_subset: Path) -> None:
    some_id = fashion_engine.store.vectors("image")[0][7]
    [product] = fashion_engine.store.get([some_id])
    code, out, _ = run("search", "--store", str(fashion_engine.path), "--image", product["image"], "--json")
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["id"] == some_id
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert list(hits[0]["contributions"]) == ["image"]
    assert hits[1]["score"] < hits[0]["score"]


def test_info_reports_counts_and_encoders(fashion_engine: Engine) -> None:
    code, out, _ = run("info", "--store", str(fashion_engine.path), "--json")
    assert code == 0
    details = json.loads(out)
    assert details["products"] == 120
    assert details["encoders"]["text"]["name"] == "use-multilingual"
    assert details["encoders"]["text"]["dim"] == 512
    code, out, _ = run("info", "--store", str(fashion_engine.path))
    assert "use-multilingual" in out and "efficientnet-colour" in out


def test_query_from_another_encoder_is_refused(fashion_engine: Engine) -> None:
    code, _, err = run(
        "search",
        "--store",
        str(fashion_engine.path),
        "red dress",
        "--text-encoder",
        "multilingual-e5-small",
    )
    assert code == 2
    assert "multilingual-e5-small" in err and "use-multilingual" in err


def test_usage_errors_are_clear(fashion_engine: Engine, tmp_path: Path) -> None:
    store = str(fashion_engine.path)
    code, _, err = run("search", "--store", store)
    assert code == 2 and "either a text query or --image" in err
    code, _, err = run("search", "--store", store, "x", "--where", "colour = 'red'")
    assert code == 2 and "invalid filter" in err
    code, _, err = run("search", "--store", str(tmp_path / "nowhere"), "x")
    assert code == 2
    code, _, err = run("search", "--store", store, "--image", str(tmp_path / "missing.jpg"))
    assert code == 2 and "file not found" in err
    code, _, err = run("ingest", "x.csv", "--store", store, "--text-encoder", "minilm")
    assert code == 2 and "was made with text_encoder" in err


def test_delete_command(fashion_csv: Path, tmp_path: Path) -> None:
    from tests.conftest import write_subset

    catalog = write_subset(fashion_csv, tmp_path / "c.csv", [0, 1, 2])
    store = str(tmp_path / "s")
    code, out, _ = run(
        "ingest",
        str(catalog),
        "--store",
        store,
        "--field",
        "title=productDisplayName",
        "--image-encoder",
        "none",
    )
    assert code == 0 and "3 added" in out
    code, out, _ = run("delete", "--store", store, "10000", "nope")
    assert code == 0 and "deleted 1 of 2" in out
    code, out, _ = run("info", "--store", store, "--json")
    assert json.loads(out)["products"] == 2
    # a trial on the first rows keeps the rest of the store; deleting them must be asked for
    title = ("--field", "title=productDisplayName")
    code, out, _ = run("ingest", str(catalog), "--store", store, *title, "--limit", "1")
    assert code == 0 and "1 added" in out and "0 deleted" in out  # row 0 (10000) is back
    assert json.loads(run("info", "--store", store, "--json")[1])["products"] == 3
    code, out, _ = run("ingest", str(catalog), "--store", store, *title, "--limit", "1", "--sync")
    assert code == 0 and "2 deleted" in out
    code, out, _ = run("ingest", str(catalog), "--store", store, *title)
    assert code == 0 and "2 added" in out and "1 unchanged" in out
    code, out, _ = run("info", "--store", store, "--json")
    assert json.loads(out)["products"] == 3
    # issue 13: a header-only catalogue exited 0 with nothing ingested; it is an error and deletes nothing
    empty = tmp_path / "empty.csv"
    empty.write_text(catalog.read_text().splitlines()[0] + "\n")
    code, _, err = run("ingest", str(empty), "--store", store, "--field", "title=productDisplayName")
    assert code == 1 and "no data rows" in err
    code, out, _ = run("info", "--store", store, "--json")
    assert json.loads(out)["products"] == 3
