"""Lexical search (BM25 with jieba) and hybrid fusion, on real fashion products and a Chinese catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.config import EngineConfig
from shopfuse.engine import Engine
from shopfuse.errors import ConfigError
from shopfuse.query.lexical import LexicalIndex, fuse, words
from shopfuse.types import Hit


def test_words_segment_chinese_and_keep_codes() -> None:
    assert words("Puma AB-1234 黑色运动鞋")[:2] == ["puma", "ab-1234"]
    assert "运动鞋" in words("黑色运动鞋") or "运动" in words("黑色运动鞋")


def test_exact_id_and_title_words_rank_first(fashion_engine: Engine) -> None:
    ids = sorted(fashion_engine.store.hashes())
    row = fashion_engine.store.get([ids[7]])[0]
    for mode in ("lexical", "hybrid"):
        hits = fashion_engine.search_text(row["id"], k=5, mode=mode)
        assert hits[0].id == row["id"], mode
    hits = fashion_engine.search_text(row["title"], k=10, mode="lexical")
    assert hits[0].id == row["id"] and all("lexical" in h.contributions for h in hits)
    brand = row["title"].split()[0]
    branded = fashion_engine.search_text(brand, k=3, mode="lexical")
    assert branded and all(brand.casefold() in (h.title or "").casefold() for h in branded)


def test_hybrid_keeps_the_vector_side_and_the_filter(fashion_engine: Engine) -> None:
    hits = fashion_engine.search_text("black shoes for men", k=10, mode="hybrid", where="gender = 'Men'")
    assert hits and all(h.attributes["gender"] == "Men" for h in hits)
    assert any("text" in h.contributions for h in hits)  # the vector side's own "why" survives
    weighted = fashion_engine.search_text("black shoes", k=10, mode="hybrid", fusion="weighted")
    assert weighted and weighted[0].score <= 1.0 + 1e-6
    with pytest.raises(ConfigError, match="mode"):
        fashion_engine.search_text("black", mode="semantic")  # type: ignore[arg-type]


def test_chinese_catalogue_is_found_by_chinese_words(tmp_path: Path) -> None:
    catalog = tmp_path / "zh.jsonl"
    titles = ["黑色运动鞋 男款", "红色连衣裙 夏季", "白色衬衫 棉质", "蓝色牛仔裤 修身", "黑色双肩包"]
    catalog.write_text("".join(json.dumps({"id": f"p{i}", "title": t}) + "\n" for i, t in enumerate(titles)))
    engine = Engine.open(tmp_path / "store", EngineConfig(image_encoder=None))
    engine.ingest(catalog, progress=False)
    assert engine.search_text("连衣裙", k=2, mode="lexical")[0].id == "p1"
    assert engine.search_text("牛仔裤", k=2, mode="lexical")[0].id == "p3"
    # the English query reaches the Chinese titles through the vector side of hybrid
    assert engine.search_text("red dress", k=2, mode="hybrid")[0].id == "p1"
    # the index follows the store: a new product is found without rebuilding by hand
    catalog.write_text(catalog.read_text() + json.dumps({"id": "p9", "title": "绿色围巾"}) + "\n")
    engine.ingest(catalog, progress=False)
    assert engine.search_text("围巾", k=1, mode="lexical")[0].id == "p9"
    result = CliRunner().invoke(
        app, ["search", "--store", str(tmp_path / "store"), "围巾", "--mode", "hybrid", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["id"] == "p9"
    bad = CliRunner().invoke(app, ["search", "--store", str(tmp_path / "store"), "x", "--mode", "nope"])
    assert bad.exit_code != 0 and "--mode" in bad.output


def test_fuse_rrf_and_weighted() -> None:
    vector = [Hit(id="a", score=0.9), Hit(id="b", score=0.8), Hit(id="c", score=0.1)]
    lexical = [("b", 7.0), ("c", 3.0)]
    rrf = fuse(vector, lexical, method="rrf", k=3)
    assert rrf[0][0] == "b"  # found by both beats first in one only
    assert set(rrf[0][2]) == {"vector", "lexical"}
    only_vector = fuse(vector, lexical, method="weighted", lexical_weight=0.0, k=3)
    assert [pid for pid, _, _ in only_vector] == ["a", "b", "c"]
    only_words = fuse(vector, lexical, method="weighted", lexical_weight=1.0, k=1)
    assert [pid for pid, _, _ in only_words] == ["b"]
    code = fuse(vector, [("z", 1001.0)], method="weighted", k=1)
    assert code[0][0] == "z"
    with pytest.raises(ConfigError):
        fuse(vector, lexical, method="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        fuse(vector, lexical, lexical_weight=2.0)


def test_empty_store_and_unknown_words(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "store", EngineConfig(image_encoder=None))
    index = LexicalIndex(engine.store)
    assert index.search("anything") == []
    with pytest.raises(ConfigError):
        index.search("x", k=0)
