import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopfuse.catalog.readers import read_table
from shopfuse.errors import CatalogError


def test_csv_types_empty_cells_and_leading_zero_codes(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title,price,year,code\n1,A,9.5,2020,0108\n2,,10,2021,0200\n")
    table = read_table(file)
    first, second = (r.values for r in table.rows)
    assert first == {"id": 1, "title": "A", "price": 9.5, "year": 2020, "code": "0108"}
    assert second["title"] is None
    assert second["price"] == 10.0


def test_csv_non_utf8_is_reported_and_replaced(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_bytes(b"id,title\n1,caf\xe9 noir\n2,ok\n")
    table = read_table(file)
    assert table.rows[0].values["title"] == "caf\ufffd noir"
    [problem] = table.problems
    assert (problem.row, problem.field, problem.severity) == (1, "title", "warning")
    assert "UTF-8" in problem.reason


def test_csv_ragged_row_is_reported(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title\n1,a\n2,b,extra\n3,c\n")
    table = read_table(file)
    assert [r.values["id"] for r in table.rows] == [1, 3]
    assert table.problems[0].row == 2


def test_jsonl_bad_lines_are_reported(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text('{"id": "a", "title": "x"}\n\nnot json\n[1, 2]\n{"id": "b", "tags": ["x"]}\n')
    table = read_table(file)
    assert [r.values["id"] for r in table.rows] == ["a", "b"]
    assert [(p.row, p.reason.split(":")[0]) for p in table.problems] == [
        (3, "invalid JSON"),
        (4, "line is not a JSON object"),
    ]
    assert table.columns == ["id", "title", "tags"]


def test_parquet(tmp_path: Path) -> None:
    file = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "title": ["x", ""], "n": [1, 2]}), file)
    table = read_table(file)
    assert [r.values for r in table.rows] == [
        {"id": "a", "title": "x", "n": 1},
        {"id": "b", "title": None, "n": 2},
    ]


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "c.xlsx").write_text("x")
    with pytest.raises(CatalogError, match="unsupported"):
        read_table(tmp_path / "c.xlsx")
    with pytest.raises(CatalogError, match="not found"):
        read_table(tmp_path / "none.csv")


def test_empty_csv(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("")
    with pytest.raises(CatalogError, match="empty"):
        read_table(tmp_path / "c.csv")


def test_jsonl_values_keep_types(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text(json.dumps({"id": 7, "price": 1.5, "new": True}) + "\n")
    assert read_table(file).rows[0].values == {"id": 7, "price": 1.5, "new": True}
