"""The default copy generator on real shop copy: grounded, varied, in both languages."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from shopfuse.content.base import CopyRequest
from shopfuse.content.catalog import load_products
from shopfuse.content.claims import check
from shopfuse.content.facts import ProductFacts, parse_key_values
from shopfuse.content.generate import PhraseGenerator
from shopfuse.errors import CatalogError


@pytest.fixture(scope="module")
def zh_split(shared_data: Path) -> tuple[PhraseGenerator, list[ProductFacts]]:
    rows = [
        json.loads(line) for line in (shared_data / "product-copy-zh" / "pairs.jsonl").open(encoding="utf-8")
    ]
    random.Random(0).shuffle(rows)
    facts = [
        ProductFacts.from_record({"id": str(i), "attributes": parse_key_values(r["content"])})
        for i, r in enumerate(rows)
    ]
    train = [(f, r["summary"]) for f, r in zip(facts[:400], rows[:400], strict=True)]
    return PhraseGenerator.from_examples(train), facts[400:430]


@pytest.fixture(scope="module")
def en_split(shared_data: Path) -> tuple[PhraseGenerator, list[ProductFacts]]:
    with (shared_data / "hm-purchases" / "items.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["detail_desc"]]

    def facts(r: dict[str, str]) -> ProductFacts:
        attributes = {"type": r["product_type_name"], "colour": r["colour_group_name"]}
        return ProductFacts.from_record(
            {"id": r["article_id"], "title": r["prod_name"], "attributes": attributes}
        )

    held = {r["product_code"] for r in rows[::10]}
    train = [(facts(r), r["detail_desc"]) for r in rows if r["product_code"] not in held]
    return PhraseGenerator.from_examples(train), [facts(r) for r in rows[::10][:30]]


@pytest.mark.parametrize("style", ["paragraph", "bullets", "title"])
def test_chinese_copy_never_contradicts_and_covers_the_facts(zh_split, style: str) -> None:  # type: ignore[no-untyped-def]
    generator, held_out = zh_split
    coverage = []
    for facts in held_out:
        copy = generator.generate(facts, CopyRequest(lang="zh", style=style))
        result = check(copy.text, facts, generator.lexicon)
        assert copy.text, facts.to_dict()
        assert not result.contradicted and not result.unsupported, (copy.text, result.to_dict())
        assert all(c["status"] == "supported" for c in copy.claims)
        coverage.append(result.coverage)
    if style == "paragraph":
        assert sum(coverage) / len(coverage) >= 0.9


def test_english_copy_reuses_the_shops_phrasing_and_varies(en_split) -> None:  # type: ignore[no-untyped-def]
    generator, held_out = en_split
    texts = []
    for facts in held_out:
        copy = generator.generate(facts, CopyRequest(lang="en", style="paragraph"))
        result = check(copy.text, facts, generator.lexicon)
        assert not result.contradicted and not result.unsupported, (copy.text, result.to_dict())
        texts.append(copy.text)
    assert len(set(texts)) >= 0.9 * len(texts)  # not one template with blanks
    known = {p.text for p in generator.bank.pieces}
    assert sum(any(s.rstrip(".") in k for k in known) for t in texts for s in t.split(". ")) > len(texts)


def test_copy_in_the_other_language_translates_known_values(en_split) -> None:  # type: ignore[no-untyped-def]
    generator, _ = en_split
    facts = ProductFacts.from_record({"id": "x", "attributes": {"type": "Dress", "colour": "Black"}})
    copy = generator.generate(facts, CopyRequest(lang="zh", style="title"))
    assert copy.text == "黑色连衣裙"


def test_the_audience_moves_its_facts_forward() -> None:
    facts = ProductFacts.from_record(
        {"id": "y", "attributes": {"type": "Jacket", "colour": "Red", "season": "Winter", "usage": "Sports"}}
    )
    generator = PhraseGenerator()
    plain = generator.generate(facts, CopyRequest(lang="en", style="bullets"))
    sporty = generator.generate(
        facts, CopyRequest(lang="en", style="bullets", audience="people who do sports")
    )
    assert plain.text.splitlines()[1:] != sporty.text.splitlines()[1:]
    assert "sports" in sporty.text.splitlines()[1]


def test_catalogue_reader_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "cat.jsonl"
    good.write_text(
        '{"id": "1", "title": "Red dress", "attributes": {"colour": ["Red", "Black"]}}\n'
        '{"content": "类型#裙*颜色#白色", "summary": "白色的裙子。"}\n',
        encoding="utf-8",
    )
    products = load_products(good)
    assert products[0].values("colour") == ["Red", "Black"]
    assert products[1].id == "2" and products[1].values("category") == ["裙"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "1", "attributes": {"a": "b"}}\n{"id": "2", "attributes": [1]}\n', encoding="utf-8"
    )
    with pytest.raises(CatalogError, match=r"bad.jsonl:2"):
        load_products(bad)
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"id": "1", "attributes": {}}\n{"id": "1", "attributes": {}}\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="already on line 1"):
        load_products(twice)
