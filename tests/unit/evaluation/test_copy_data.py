"""The copy benchmark converters split the real data by product; test records carry no reference."""

from __future__ import annotations

from pathlib import Path

from data.copy_data import advertisegen, hm_articles


def test_advertisegen_split(shared_data: Path) -> None:
    split = advertisegen(shared_data / "product-copy-zh" / "pairs.jsonl", seed=0, test_share=0.2)
    assert len(split.test) == len(split.references) > 100
    assert {r["id"] for r in split.test}.isdisjoint(r["id"] for r in split.train)
    assert all("description" not in r and r["lang"] == "zh" and r["attributes"] for r in split.test)
    assert all(r["description"] for r in split.train)
    train_contents = {str(sorted(r["attributes"].items())) for r in split.train}
    assert all(str(sorted(r["attributes"].items())) not in train_contents for r in split.test)
    assert split.test == advertisegen(shared_data / "product-copy-zh" / "pairs.jsonl").test  # seeded


def test_hm_split_keeps_colour_variants_together(hm_csv: Path) -> None:
    split = hm_articles(hm_csv, seed=0, test_share=0.2)
    code = lambda article_id: article_id[:-3]  # noqa: E731 - H&M article id = product code + 3 digits
    assert {code(r["id"]) for r in split.test}.isdisjoint(code(r["id"]) for r in split.train)
    assert len(split.test) == len(split.references) > 200
    record = split.test[0]
    assert record["title"] and record["lang"] == "en" and "colour_group_name" in record["attributes"]
    assert "description" not in record
