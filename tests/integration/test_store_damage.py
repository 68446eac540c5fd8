"""A damaged real store: `info`, `search` and `serve` fail with one clear line, `check` finds and repairs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine

runner = CliRunner()
TABLE = "lance/products.lance"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def copy(fashion_engine: Engine, tmp_path: Path) -> Path:
    """A copy of the session's fashion store, free to damage."""
    return Path(shutil.copytree(fashion_engine.path, tmp_path / "store"))


def test_a_healthy_ingested_store_checks_clean(copy: Path) -> None:
    code, out, _ = run("check", "--store", str(copy))
    assert code == 0, out
    assert "ok: no damage found" in out
    code, out, _ = run("check", "--store", str(copy), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["rows"] == report["recorded_rows"] == 120
    assert report["vectors"]["text"] == 120 and report["files_checked"] > 0


def test_a_truncated_data_file_stops_info_search_and_serve_with_one_line(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sorted((copy / TABLE / "data").glob("*.lance"))[0]
    os.truncate(victim, victim.stat().st_size - 100)
    part = victim.relative_to(copy).as_posix()
    import uvicorn

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started on a damaged store")

    monkeypatch.setattr(uvicorn, "run", no_server)
    for args in (("info",), ("search", "shoes"), ("serve",), ("serve", "--workers", "2")):
        code, out, err = run(args[0], "--store", str(copy), *args[1:])
        assert code != 0, (args, out)
        assert err.startswith("error: damaged store") and err.count("\n") == 1, err
        assert part in err and "backup" in err and "shopfuse ingest" in err and "Traceback" not in err
    code, out, _ = run("check", "--store", str(copy))
    assert code == 1
    assert f"DAMAGED {part}: " in out and "truncated" in out and "--repair" in out


def test_a_deleted_lance_folder_is_not_an_empty_store(copy: Path) -> None:
    shutil.rmtree(copy / "lance")
    code, out, err = run("info", "--store", str(copy))
    assert code != 0 and "products" not in out
    assert "lance/ is missing" in err
    code, out, _ = run("check", "--store", str(copy), "--json")
    assert code == 1 and json.loads(out)["problems"][0]["part"] == "lance/"


def test_repair_then_ingest_brings_the_store_back(copy: Path, fashion_subset: Path) -> None:
    shutil.rmtree(copy / TABLE / "_versions")
    code, out, _ = run("check", "--store", str(copy), "--repair")
    assert code == 0, out
    assert "done: moved the damaged table" in out and "ok: no damage found" in out
    engine = Engine.open(copy, create=False)
    report = engine.ingest(fashion_subset, FASHION_MAPPING, progress=False, limit=8)
    assert report.stored == 8
    code, out, _ = run("check", "--store", str(copy), "--json")
    assert code == 0 and json.loads(out)["rows"] == 8
