"""``shopfuse ask``, ``shopfuse eval qa`` and ``POST /ask``: a small real store, real hetPQA questions."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from shopfuse.cli.qa import ask, eval_qa
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings
from shopfuse.service.routes.qa import router
from shopfuse.service.state import service_state

UMBRELLA = "0130035001"


@pytest.fixture(scope="module")
def store(hm_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store of the first 6 H&M articles with a description (text only, no photos)."""
    with hm_csv.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["detail_desc"]][:6]
    folder = tmp_path_factory.mktemp("qa")
    catalog = folder / "items.jsonl"
    lines = [
        {
            "id": r["article_id"],
            "title": r["prod_name"],
            "description": r["detail_desc"],
            "attributes": {
                "colour_group_name": r["colour_group_name"],
                "product_type_name": r["product_type_name"],
                "graphical_appearance_name": r["graphical_appearance_name"],
            },
        }
        for r in rows
    ]
    assert UMBRELLA in {line["id"] for line in lines}
    catalog.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    engine = Engine.open(folder / "store")
    engine.ingest(catalog, progress=False)
    yield folder / "store"


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("ask")(ask)
    app.command("eval-qa")(eval_qa)
    return app


def test_ask_cites_the_description_sentence(cli: typer.Typer, store: Path) -> None:
    args = ["ask", "--store", str(store), "--item", UMBRELLA, "How long is it when folded?", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["item"] == UMBRELLA and data["status"] == "answered"
    assert data["citations"][0]["ref"] == "description[1]"
    assert data["answer"] == "Length 23 cm folded."


def test_ask_in_chinese_and_readable_output(cli: typer.Typer, store: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "-s", str(store), "-i", UMBRELLA, "这把伞是什么颜色？"])
    assert result.exit_code == 0, result.output
    assert "A: colour group name: Black" in result.output
    assert "source: attribute:colour_group_name (attribute)" in result.output


def test_ask_not_stated_and_unknown_item(cli: typer.Typer, store: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "-s", str(store), "-i", UMBRELLA, "What is the warranty?"])
    assert result.exit_code == 0 and "A: not stated" in result.output
    missing = CliRunner().invoke(cli, ["ask", "-s", str(store), "-i", "nope", "is it red?"])
    assert missing.exit_code == 2 and "no product 'nope'" in missing.output


def test_ask_with_the_shoppers_photo(cli: typer.Typer, store: Path, tmp_path: Path) -> None:
    photo = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(photo).text((30, 70), "MADE IN ITALY", fill="black", font=ImageFont.load_default(size=48))
    photo.save(tmp_path / "label.png")
    args = [
        "ask",
        "-s",
        str(store),
        "-i",
        UMBRELLA,
        "Where is it made?",
        "--image",
        str(tmp_path / "label.png"),
    ]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    cite = json.loads(result.output)["citations"][0]
    assert cite["source"] == "your photo" and "ITALY" in cite["text"].upper()
    broken = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "missing.png")])
    assert broken.exit_code == 2 and "missing.png" in broken.output


def test_eval_qa_on_real_hetpqa_questions(cli: typer.Typer, shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "product-qa" / "hetPQA" / "evidence_ranking" / "dev.csv"
    questions: dict[str, dict] = {}
    with source.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["qid"] not in questions and len(questions) == 30:
                break
            q = questions.setdefault(
                row["qid"],
                {
                    "qid": row["qid"],
                    "question": row["question"],
                    "product": {"id": row["ASIN"], "title": ""},
                    "evidence": [],
                    "labels": {},
                },
            )
            q["evidence"].append({"id": row["qa_pair_id"], "text": row["candidate"], "source": row["source"]})
            q["labels"][row["qa_pair_id"]] = int(row["label"])
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps(q) + "\n" for q in questions.values()), encoding="utf-8")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["eval-qa", "--data", str(data), "--k", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["questions"] == 30
    assert 0.3 < report["ranking"]["nDCG@3"] <= 1.0 and 0 <= report["ranking"]["P@1"] <= 1
    assert report["abstention"]["unanswerable"] >= 1
    text = CliRunner().invoke(cli, ["eval-qa", "--data", str(data), "--lexical"])
    assert text.exit_code == 0 and "nDCG@5" in text.output and "abstention" in text.output
    bad = CliRunner().invoke(cli, ["eval-qa", "--data", str(tmp_path / "none.jsonl")])
    assert bad.exit_code == 2 and "not found" in bad.output


def test_post_ask(store: Path) -> None:
    app = FastAPI()
    app.state.service = service_state(Engine.open(store, create=False), ServiceSettings())
    app.include_router(router)
    client = TestClient(app)
    body = client.post("/ask", json={"item": UMBRELLA, "question": "does it have a cover?"}).json()
    assert body["status"] == "answered" and body["citations"][0]["ref"] == "description[0]"
    assert {"specification", "opinions", "evidence"} <= set(body)
    assert client.post("/ask", json={"item": "nope", "question": "is it red?"}).status_code == 404
    assert client.post("/ask", json={"item": UMBRELLA, "question": "   "}).status_code == 422
    assert client.post("/ask", json={"item": UMBRELLA, "question": "x" * 501}).status_code == 422
    assert client.post("/ask", json={"item": UMBRELLA}).status_code == 422
