"""The H&M protocols are built from the real items file: disjoint halves, photo-only catalogues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopfuse.evaluation.hm_protocols import ZH_COLOUR, ZH_TYPE, build_protocol
from shopfuse.evaluation.retrieval import read_qrels, read_queries


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_in_shop_halves_are_disjoint_by_product_code(hm_csv: Path, tmp_path: Path) -> None:
    import csv

    protocol = build_protocol("in-shop", hm_csv, tmp_path)
    assert protocol.train is not None
    train, catalog = _jsonl(protocol.train), _jsonl(protocol.catalog)
    with hm_csv.open(newline="", encoding="utf-8") as handle:
        code = {r["article_id"]: r["product_code"] for r in csv.DictReader(handle)}
    assert {code[str(r["id"])] for r in train}.isdisjoint({code[str(r["id"])] for r in catalog})
    assert all(set(r) == {"id", "image"} for r in catalog), "searched products must be photo only"
    assert all(r["title"] and r["product_type_name"] for r in train)
    assert 700 < len(train) < 900 and 700 < len(catalog) < 900

    ids = {str(r["id"]) for r in catalog}
    en_file, qrels_file = protocol.queries["colour_type_en"]
    en, zh = read_queries(en_file), read_queries(protocol.queries["colour_type_zh"][0])
    qrels = read_qrels(qrels_file)
    assert en.keys() == zh.keys() == qrels.keys() and len(en) > 30
    assert all(len(judged) >= 3 and set(judged) <= ids for judged in qrels.values())
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in zh.values())
    assert 0.0 < protocol.ceilings["colour_type_en"] < 1.0

    described = read_qrels(protocol.queries["description_en"][1])
    assert all(sorted(g.values())[-1] == 2 and list(g.values()).count(2) == 1 for g in described.values())


def test_cross_shop_searches_every_titled_item(hm_csv: Path, tmp_path: Path) -> None:
    protocol = build_protocol("cross-shop", hm_csv, tmp_path, descriptions=20)
    assert protocol.train is None
    assert len(_jsonl(protocol.catalog)) == 1570
    assert len(read_queries(protocol.queries["description_en"][0])) == 20


def test_translation_tables_cover_the_data_and_unknown_protocol_is_refused(
    hm_csv: Path, tmp_path: Path
) -> None:
    assert "Black" in ZH_COLOUR and "Trousers" in ZH_TYPE
    with pytest.raises(ValueError, match="unknown protocol"):
        build_protocol("elsewhere", hm_csv, tmp_path)
