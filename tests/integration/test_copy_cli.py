"""``shopfuse copy generate`` and ``POST /copy`` over a real store and real shop copy."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.content.catalog import load_products
from shopfuse.content.claims import Lexicon, check
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app

runner = CliRunner()


def first_ids(engine: Engine, n: int) -> list[str]:
    return sorted(engine.store.hashes())[:n]


def test_copy_for_stored_products_cites_their_facts(fashion_engine: Engine) -> None:
    ids = first_ids(fashion_engine, 2)
    args = ["copy", "generate", "--store", str(fashion_engine.path), "--lang", "zh", "--json"]
    result = runner.invoke(app, [*args, "--item", ids[0]])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["id"] == ids[0] and out["text"]
    assert out["claims"] and all(c["status"] == "supported" for c in out["claims"])
    assert all(c["fact"]["ref"].startswith(("attribute:", "title")) for c in out["claims"])


def test_batch_copy_from_a_catalogue_with_a_corpus(tmp_path: Path, shared_data: Path) -> None:
    catalog = tmp_path / "cat.jsonl"
    catalog.write_text(
        "\n".join(
            json.dumps({"id": str(i), "attributes": {"类型": kind, "颜色": colour}}, ensure_ascii=False)
            for i, (kind, colour) in enumerate([("裙", "白色"), ("上衣", "黑色"), ("裤", "蓝色")])
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "copy.jsonl"
    corpus = shared_data / "product-copy-zh" / "pairs.jsonl"
    args = [
        "copy",
        "generate",
        "--catalog",
        str(catalog),
        "--out",
        str(out),
        "--lang",
        "zh",
        "--corpus",
        str(corpus),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["0", "1", "2"]
    products = load_products(catalog)
    lexicon = Lexicon.build(products)
    for line, facts in zip(lines, products, strict=True):
        result = check(line["text"], facts, lexicon)
        assert not result.contradicted and not result.unsupported, line["text"]
        assert result.coverage == 1.0, line["text"]


def test_auto_language_follows_each_product(tmp_path: Path) -> None:
    catalog = tmp_path / "mixed.jsonl"
    catalog.write_text(
        json.dumps({"id": "zh", "attributes": {"类型": "裙", "颜色": "白色"}}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "en", "title": "Black dress", "attributes": {"type": "Dress", "colour": "Black"}})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "copy.jsonl"
    result = runner.invoke(app, ["copy", "generate", "--catalog", str(catalog), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    langs = {row["id"]: row["lang"] for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert langs == {"zh": "zh", "en": "en"}


def test_bad_requests_get_clear_errors(fashion_engine: Engine, tmp_path: Path) -> None:
    store = str(fashion_engine.path)
    result = runner.invoke(app, ["copy", "generate", "--store", store, "--item", "no-such-id"])
    assert result.exit_code == 2 and "no product with id 'no-such-id'" in result.stderr
    result = runner.invoke(app, ["copy", "generate", "--store", store, "--item", "x", "--lang", "fr"])
    assert result.exit_code == 2 and "--lang must be zh, en or auto" in result.stderr
    result = runner.invoke(app, ["copy", "generate", "--catalog", str(tmp_path / "none.jsonl"), "--out", "x"])
    assert result.exit_code == 2 and "no such catalogue file" in result.stderr


def test_post_copy(fashion_engine: Engine) -> None:
    client = TestClient(create_app(fashion_engine, ServiceSettings()))
    item = first_ids(fashion_engine, 1)[0]
    response = client.post("/copy", json={"item": item, "lang": "en", "style": "title"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] and body["style"] == "title" and body["facts"]
    assert client.post("/copy", json={"item": "nope"}).status_code == 404
    assert client.post("/copy", json={"item": item, "lang": "fr"}).status_code == 422
    assert client.post("/copy", json={"item": item, "audience": "x" * 500}).status_code == 422
