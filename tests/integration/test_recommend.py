"""Recommendations on real H&M purchases and photos: the eval contract, the CLI and the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.engine import Engine
from shopfuse.evaluation.hm_recommend import build_split
from shopfuse.recommend import read_interactions
from shopfuse.recommend.evaluate import evaluate_recommendations
from shopfuse.service import ServiceSettings, create_app

runner = CliRunner()


@pytest.fixture(scope="module")
def split(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """25 real customers (4-20 purchases each), their articles plus 40 nobody of them bought."""
    return build_split(shared_data, tmp_path_factory.mktemp("hm-rec"), users=25, extra_items=40)


@pytest.fixture(scope="module")
def store(split: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The split's articles ingested once (photos for all, text for some); the train log appended."""
    items, train, _ = split
    folder = tmp_path_factory.mktemp("hm-rec-store") / "store"
    result = runner.invoke(app, ["ingest", str(items), "--store", str(folder)])
    assert result.exit_code == 0, result.output
    added = runner.invoke(app, ["interactions", "add", str(train), "--store", str(folder)])
    assert added.exit_code == 0 and "appended" in added.output, added.output
    yield folder


def test_eval_contract_reports_every_method_and_baseline(
    split: tuple[Path, Path, Path], store: Path, tmp_path: Path
) -> None:
    items, train, test = split
    result = evaluate_recommendations(None, items, train, test, k=12, store=store, progress=False)
    assert set(result["methods"]) == {"hybrid", "content", "itemknn", "popularity"}
    users = {e.user_id for e in read_interactions(test).events}
    assert result["test_users"] == len(users) and result["items"] > 40
    for name, metrics in result["methods"].items():
        for key in ("recall@12", "map@12", "ndcg@12", "hit_rate@12", "coverage", "cold_share"):
            assert 0.0 <= metrics[key] <= 1.0, (name, key)
    assert result["methods"]["popularity"]["cold_share"] == 0.0  # popularity never shows unbought items
    assert result["methods"]["content"]["cold_share"] > 0.0  # content reaches items nobody bought
    assert result["complete_the_look"]["seeds"] >= 0
    # the CLI prints the same contract as JSON
    out = tmp_path / "rec.json"
    cli = runner.invoke(
        app,
        [
            "eval",
            "recommend",
            "--items",
            str(items),
            "--train",
            str(train),
            "--test",
            str(test),
            "--json",
            str(out),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(out.read_text())["methods"]["hybrid"]["recall@12"] >= 0.0


def test_cli_similar_user_complete_profile_and_segments(
    split: tuple[Path, Path, Path], store: Path, tmp_path: Path
) -> None:
    _, train, _ = split
    events = read_interactions(train).events
    user, item = events[0].user_id, events[0].item_id
    similar = runner.invoke(app, ["recommend", "similar", "--store", str(store), "--item", item, "--json"])
    assert similar.exit_code == 0, similar.output
    rows = json.loads(similar.output)
    assert len(rows) == 10 and item not in {r["id"] for r in rows}
    assert rows == sorted(rows, key=lambda r: -r["score"])
    personal = runner.invoke(app, ["recommend", "user", "--store", str(store), "--user", user, "--json"])
    assert personal.exit_code == 0 and len(json.loads(personal.output)) == 12
    looks = runner.invoke(app, ["recommend", "complete", "--store", str(store), "--item", item, "--json"])
    assert looks.exit_code == 0, looks.output
    categories = {r["category"] for r in json.loads(looks.output)}
    engine = Engine.open(store, create=False)
    recs = engine.recommendations()
    seed_category = recs.space.category_names[int(recs.space.categories[recs.space.index[item]])]
    assert (categories and seed_category not in categories) or len(set(recs.space.category_names)) < 3
    profile = runner.invoke(app, ["profile", "user", "--store", str(store), "--user", user])
    assert profile.exit_code == 0, profile.output
    data = json.loads(profile.output)
    assert data["items"] >= 1 and data["categories"] and data["price"]["band"] in {"low", "mid", "high"}
    plot = tmp_path / "segments.png"
    segs = runner.invoke(app, ["profile", "segments", "--store", str(store), "--plot", str(plot)])
    assert segs.exit_code == 0, segs.output
    assert plot.stat().st_size > 10_000 and json.loads(segs.stdout[segs.stdout.index("[") :])
    unknown = runner.invoke(app, ["recommend", "similar", "--store", str(store), "--item", "nope"])
    assert unknown.exit_code == 2 and "unknown item 'nope'" in unknown.output


def test_api_routes_and_appending_interactions(split: tuple[Path, Path, Path], store: Path) -> None:
    _, train, _ = split
    events = read_interactions(train).events
    user, item = events[0].user_id, events[0].item_id
    engine = Engine.open(store, create=False)
    client = TestClient(create_app(engine, ServiceSettings(api_keys=["k"])))
    similar = client.get(f"/recommend/similar/{item}", params={"k": 5, "exclude_variants": True}).json()
    assert len(similar["items"]) == 5
    assert client.get(f"/products/{item}/complements", params={"k": 4}).status_code == 200
    recs = client.get(f"/users/{user}/recommendations", params={"k": 6}).json()
    assert len(recs["items"]) == 6 and recs["method"] == "hybrid"
    assert client.get(f"/users/{user}/profile").json()["user_id"] == user
    assert client.get("/users/nobody/profile").status_code == 404
    assert client.get("/segments").json()["segments"]
    new_event = [{"user_id": "new-user", "item_id": item, "timestamp": "2020-09-30T10:00:00"}]
    assert client.post("/interactions", json=new_event).status_code in {401, 403}
    posted = client.post("/interactions", json=new_event, headers={"X-API-Key": "k"})
    assert posted.json() == {"appended": 1}
    cold_start = client.get("/users/new-user/recommendations", params={"k": 5}).json()["items"]
    assert item not in {r["id"] for r in cold_start}  # the new user's own purchase counts at once
    profile = client.get("/users/new-user/profile").json()
    assert profile["items"] == 1
    bad = client.post(
        "/interactions",
        json=[{"user_id": "u", "item_id": item, "timestamp": "x"}],
        headers={"X-API-Key": "k"},
    )
    assert bad.status_code == 422
