"""The H&M protocols are built from the real items file: disjoint halves, photo-only catalogues."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from hm.protocols import ZH_COLOUR, ZH_TYPE, build_protocol

from shopfuse.evaluation.retrieval import read_qrels, read_queries


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _titled(hm_csv: Path) -> dict[str, dict[str, str]]:
    """The items file's rows with a title and a photo (what the protocols search), by article id."""
    with hm_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["article_id"]: r for r in rows if r["prod_name"].strip() and r["image"].strip()}


@pytest.mark.parametrize("name", ["in-shop", "cross-shop"])
def test_query_sets_are_what_the_data_says(name: str, hm_csv: Path, tmp_path: Path) -> None:
    """Every query set, recomputed from the items file: counts, judged ids, grades, languages aligned."""
    rows = _titled(hm_csv)
    protocol = build_protocol(name, hm_csv, tmp_path)
    searched = {str(r["id"]) for r in _jsonl(protocol.catalog)}
    code = {a: r["product_code"] or a for a, r in rows.items()}
    if name == "cross-shop":
        assert searched == rows.keys() and len(searched) == 1570
    else:
        assert protocol.train is not None
        trained = {str(r["id"]) for r in _jsonl(protocol.train)}
        assert trained | searched == rows.keys() and not trained & searched
        codes = [{code[a] for a in side} for side in (trained, searched)]
        assert not codes[0] & codes[1] and abs(len(codes[0]) - len(codes[1])) <= 1  # halves of the codes
    for set_queries, set_qrels in protocol.queries.values():
        assert all(set(judged) <= searched for judged in read_qrels(set_qrels).values())
        assert read_queries(set_queries).keys() == read_qrels(set_qrels).keys()

    # colour + type: one query per pair with 3+ searched items, judging exactly those items, grade 1
    pairs: dict[tuple[str, str], set[str]] = {}
    for article in searched:
        colour, kind = rows[article]["colour_group_name"], rows[article]["product_type_name"]
        if colour and kind and kind != "Unknown":
            pairs.setdefault((colour, kind), set()).add(article)
    expected = {f"{c} {t}": ((c, t), ids) for (c, t), ids in pairs.items() if len(ids) >= 3}
    en_file, qrels_file = protocol.queries["colour_type_en"]
    en, judged = read_queries(en_file), read_qrels(qrels_file)
    assert sorted(en.values()) == sorted(expected)
    assert len(en) == {"in-shop": 73, "cross-shop": 134}[name]
    assert all(judged[q] == dict.fromkeys(expected[text][1], 1) for q, text in en.items())
    # the Chinese set asks the same questions under the same ids, judged by the same qrels
    zh_file, zh_qrels = protocol.queries["colour_type_zh"]
    zh = read_queries(zh_file)
    assert zh.keys() == en.keys() and zh_qrels == qrels_file and len(set(zh.values())) == len(zh)
    for q, text in en.items():
        colour, kind = expected[text][0]
        assert zh[q] == ZH_COLOUR[colour] + ZH_TYPE[kind], (text, zh[q])

    # descriptions: the item's colour and description; the item graded 2, its colour variants 1
    description_file, description_qrels = protocol.queries["description_en"]
    queries, qrels = read_queries(description_file), read_qrels(description_qrels)
    assert len(queries) == 300
    for q, text in queries.items():
        grades = qrels[q]
        [item] = [a for a, g in grades.items() if g == 2]
        row = rows[item]
        assert text == f"{row['colour_group_name']} {' '.join(row['detail_desc'].split())}"
        variants = {a for a in searched if code[a] == code[item]} - {item}
        assert {a for a, g in grades.items() if g == 1} == variants and set(grades.values()) <= {1, 2}


def test_in_shop_halves_are_disjoint_by_product_code(hm_csv: Path, tmp_path: Path) -> None:
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
    counts = Counter((r["colour_group_name"], r["product_type_name"]) for r in _titled(hm_csv).values())
    common = [(c, t) for (c, t), n in counts.items() if n >= 3 and c and t and t != "Unknown"]
    assert len(common) == 134
    assert {c for c, _ in common} <= ZH_COLOUR.keys() and {t for _, t in common} <= ZH_TYPE.keys()
    chinese = [*ZH_COLOUR.values(), *ZH_TYPE.values()]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in word) for word in chinese)  # T恤, Polo衫 too
    assert len(set(ZH_TYPE.values())) == len(ZH_TYPE)  # two types never read as one
    with pytest.raises(ValueError, match="unknown protocol"):
        build_protocol("elsewhere", hm_csv, tmp_path)
