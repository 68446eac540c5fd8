"""Lexical search (BM25 with jieba) and hybrid fusion, on real fashion products and a Chinese catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    for hit in hits:  # shares of the best possible fused value, split between the two rankings
        shares = hit.contributions.get("vector", 0.0) + hit.contributions.get("lexical", 0.0)
        assert 0.0 < hit.score <= 1.0 + 1e-9 and hit.score == pytest.approx(shares)
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
    # scores are shares of the best possible RRF value: second by meaning, first by words
    assert rrf[0][1] == pytest.approx(0.5 * 61 / 62 + 0.5)
    assert fuse(vector, [("a", 5.0)], method="rrf", k=1)[0][1] == pytest.approx(1.0)  # first in both
    assert fuse(vector, [], method="rrf", k=1)[0][1] == pytest.approx(0.5)  # first in one only
    weighted = fuse(vector, lexical, method="weighted", k=3)
    for fused in (rrf, weighted):
        assert all(0.0 <= score <= 1.0 + 1e-9 for _, score, _ in fused)
        assert all(score == pytest.approx(sum(parts.values())) for _, score, parts in fused)
    # weighted: each ranking min-max normalised over its candidates (b: 0.875 of the way up, and top)
    assert weighted[0][0] == "b" and weighted[0][1] == pytest.approx(0.5 * 0.875 + 0.5)
    assert dict((pid, s) for pid, s, _ in weighted)["c"] == pytest.approx(0.0)
    only_vector = fuse(vector, lexical, method="weighted", lexical_weight=0.0, k=3)
    assert [pid for pid, _, _ in only_vector] == ["a", "b", "c"]
    only_words = fuse(vector, lexical, method="weighted", lexical_weight=1.0, k=1)
    assert [pid for pid, _, _ in only_words] == ["b"]
    for method in ("rrf", "weighted"):
        code = fuse(vector, [("z", 1001.0)], method=method, k=2, lexical_weight=0.3)  # type: ignore[arg-type]
        assert code[0][0] == "z" and code[0][1] == pytest.approx(0.3) == code[0][2]["lexical"]
        assert code[1] == ("a", pytest.approx(0.7), {"vector": pytest.approx(0.7)})  # after the code
    with pytest.raises(ConfigError):
        fuse(vector, lexical, method="max")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        fuse(vector, lexical, lexical_weight=2.0)


def _plain_rrf(vector: list[Hit], lexical: list[tuple[str, float]], w: float, rrf_k: int = 60) -> list[str]:
    """The ranking of RRF before its scores were scaled (exact codes lifted by 10), for comparison."""
    scores: dict[str, float] = {}
    for rank, hit in enumerate(vector, start=1):
        scores[hit.id] = scores.get(hit.id, 0.0) + (1 - w) * 2 / (rrf_k + rank)
    for rank, (pid, _) in enumerate(lexical, start=1):
        scores[pid] = scores.get(pid, 0.0) + w * 2 / (rrf_k + rank)
    exact = {pid for pid, s in lexical if s >= 1000}
    for pid in exact:
        scores[pid] += 10.0
    return [pid for pid, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def test_rrf_scaling_keeps_the_ranking() -> None:
    rng = np.random.default_rng(16)
    for trial in range(200):
        pool = [f"p{i}" for i in range(40)]
        vector = [Hit(id=p, score=1.0 - i / 40) for i, p in enumerate(rng.permutation(pool)[:25])]
        lexical = [(str(p), 30.0 - i) for i, p in enumerate(rng.permutation(pool)[:20])]
        if trial % 4 == 0:
            lexical = [(lexical[0][0], 1001.0), *lexical[1:]]
        w = float(rng.choice([0.0, 0.3, 0.5, 0.8, 1.0]))
        fused = fuse(vector, lexical, method="rrf", k=100, lexical_weight=w)
        assert [pid for pid, _, _ in fused] == _plain_rrf(vector, lexical, w)
        assert all(0.0 <= s <= 1.0 + 1e-9 and s == pytest.approx(sum(p.values())) for _, s, p in fused)


def test_empty_store_and_unknown_words(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "store", EngineConfig(image_encoder=None))
    index = LexicalIndex(engine.store)
    assert index.search("anything") == []
    with pytest.raises(ConfigError):
        index.search("x", k=0)
