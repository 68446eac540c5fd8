"""The one strict JSON-lines reader that content catalogues, copy evaluation and Q&A evaluation share."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfuse.content.catalog import catalog_records, jsonl_objects, load_products
from shopfuse.errors import CatalogError
from shopfuse.evaluation.copy import read_catalog
from shopfuse.evaluation.qa import read_qa

FIRST = b'{"id": "1", "attributes": {}, "qid": "q1", "question": "red?", "product": {"id": "1"}}\n'
"""A line every reader takes: a content catalogue's product and a Q&A question."""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (FIRST + b'{"id": \n', r"f\.jsonl:2: not valid JSON"),
        (FIRST + b"\n[1, 2]\n", r"f\.jsonl:3: a line must be a JSON object, not list"),
        (FIRST + b'{"id": "\xff"}\n', r"f\.jsonl:2: not valid JSON"),
    ],
)
def test_every_reader_names_the_file_and_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    for reader in (lambda p: list(jsonl_objects(p)), load_products, read_catalog, read_qa):
        with pytest.raises(CatalogError, match=message):
            reader(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nope\.jsonl: file not found"):
        list(jsonl_objects(tmp_path / "nope.jsonl"))


def test_catalog_records_and_the_copy_evaluation_read_the_same_products(tmp_path: Path) -> None:
    path = tmp_path / "cat.jsonl"
    path.write_text(
        '{"id": 7, "title": "Red dress", "attributes": {"colour": ["Red"]}}\n'
        '{"content": "类型#裙*颜色#白色", "summary": "白色的裙子。"}\n',
        encoding="utf-8",
    )
    records = list(catalog_records(path))
    assert [r["id"] for r, _ in records] == ["7", "2"]
    assert records[1][1].values("category") == ["裙"]
    assert read_catalog(path) == {r["id"]: r for r, _ in records}
    assert [p.id for p in load_products(path)] == ["7", "2"]
