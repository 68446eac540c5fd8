"""The seller-worded Chinese queries, built from the real seller data and judged on the real H&M items."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hm.protocols import build_protocol
from hm.seller_queries import (
    COLOUR_KEYS,
    JUDGEMENTS,
    TYPE_KEYS,
    UNJUDGED,
    glossary_coverage,
    seller_queries,
)

from shopfuse.evaluation.retrieval import read_qrels, read_queries


@pytest.fixture(scope="module")
def pairs(shared_data: Path) -> Path:
    return shared_data / "product-copy-zh" / "pairs.jsonl"


@pytest.fixture(scope="module")
def items(hm_csv: Path) -> list[dict[str, str]]:
    with hm_csv.open(newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["prod_name"].strip() and r["image"].strip()]


def test_queries_are_seller_pairs_judged_on_the_items(pairs: Path, items: list[dict[str, str]]) -> None:
    built = seller_queries(pairs, items)
    assert len(built.queries) > 40
    by_id = {r["article_id"]: r for r in items}
    records = [
        set(json.loads(line)["content"].split("*")) for line in pairs.read_text(encoding="utf-8").splitlines()
    ]
    for qid, text in built.queries.items():
        colour, kind = built.words[qid]
        assert text == colour + kind and colour in JUDGEMENTS and kind in JUDGEMENTS
        # the pair really occurs in that many seller records, colour and type keys as written
        named = sum(
            bool(r & {f"{k}#{colour}" for k in COLOUR_KEYS} and r & {f"{k}#{kind}" for k in TYPE_KEYS})
            for r in records
        )
        assert named == built.records[qid] >= 1
        judged = {**JUDGEMENTS[colour], **JUDGEMENTS[kind]}
        relevant = set(built.qrels[qid])
        assert len(relevant) >= 3 and relevant <= set(by_id)
        assert relevant == {i for i, r in by_id.items() if all(r[c] in v for c, v in judged.items())}
    counts = list(built.records.values())
    assert counts == sorted(counts, reverse=True), "most frequent pairs first"
    assert built.queries["zs000"] == "黑色裙"  # the commonest pair sellers wrote


def test_every_seller_word_is_judged_or_says_why_not(pairs: Path, items: list[dict[str, str]]) -> None:
    built = seller_queries(pairs, items)
    assert set(built.unjudged) <= set(UNJUDGED)
    assert not set(JUDGEMENTS) & set(UNJUDGED)
    columns = {c: {r[c] for r in items} for c in ("product_type_name", "colour_group_name")}
    for judgement in JUDGEMENTS.values():
        for column, values in judgement.items():
            assert column not in columns or set(values) <= columns[column], values


def test_coverage_counts_glossary_words() -> None:
    coverage = glossary_coverage([("黑色", "裙"), ("白色", "衬衫"), ("黑色", "衬衫")], ["黑色", "衬衫"])
    assert coverage == {"queries_n": 3, "words": 0.6667, "distinct_words": 0.5, "queries": 0.3333}


def test_protocol_adds_the_seller_set_with_its_coverage(hm_csv: Path, pairs: Path, tmp_path: Path) -> None:
    protocol = build_protocol("in-shop", hm_csv, tmp_path, seller_pairs=pairs, descriptions=5)
    ids = {json.loads(line)["id"] for line in protocol.catalog.read_text(encoding="utf-8").splitlines()}
    queries_file, qrels_file = protocol.queries["colour_type_zh_seller"]
    queries, qrels = read_queries(queries_file), read_qrels(qrels_file)
    assert queries.keys() == qrels.keys() and len(queries) > 30
    assert all(set(judged) <= ids for judged in qrels.values()), "judged items are the searched half"
    table, seller = protocol.coverage["colour_type_zh"], protocol.coverage["colour_type_zh_seller"]
    assert table["queries"] == 1.0, "the table-built set is all glossary words"
    assert 0.0 < seller["queries"] < 0.8 and seller["queries_n"] == len(queries)
    assert 0.0 < protocol.ceilings["colour_type_zh_seller"] < 1.0
