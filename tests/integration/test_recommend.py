"""Recommendations on real H&M purchases and photos: the eval contract, the CLI and the HTTP API."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hm.recommend import build_split
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.engine import Engine
from shopfuse.recommend import ItemSpace, Recommendations, read_interactions, write_interactions
from shopfuse.service import ServiceSettings, create_app
from shopfuse.workflows import evaluate_recommendations
from tests.helpers.outfits import outfit_log

runner = CliRunner()


@pytest.fixture(scope="module")
def split(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """25 real customers (4-20 purchases each), their articles plus 40 nobody of them bought."""
    return build_split(shared_data, tmp_path_factory.mktemp("hm-rec"), users=25, extra_items=40)


@pytest.fixture(scope="module")
def outfits(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Real H&M photos, purchases built so that behaviour predicts the test day (see outfit_log).

    16 outfits (top, trousers, shoes), 3 bestsellers, 12 dresses nobody buys, and 8 tops relisted
    under new ids with the same photo: cold items content must find.
    """
    folder = shared_data / "hm-purchases"
    with (folder / "items.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def group(name: str, n: int) -> list[str]:
        return [r["article_id"] for r in rows if r["product_group_name"] == name][:n]

    looks = list(
        zip(*(group(g, 16) for g in ("Garment Upper body", "Garment Lower body", "Shoes")), strict=True)
    )
    bestsellers = group("Accessories", 3)
    catalogue = [*(i for look in looks for i in look), *bestsellers, *group("Garment Full body", 12)]
    work = tmp_path_factory.mktemp("outfits")
    items = work / "items.jsonl"
    records = [{"id": i, "image": str(folder / "images" / f"{i}.jpg")} for i in catalogue]
    records += [
        {"id": f"relisted-{top}", "image": str(folder / "images" / f"{top}.jpg")} for top, *_ in looks[:8]
    ]
    items.write_text("".join(json.dumps(r) + "\n" for r in records))
    train, test = outfit_log(looks, bestsellers, train_users=120, test_users=32)
    write_interactions(work / "train.csv", train)
    write_interactions(work / "test.csv", test)
    return items, work / "train.csv", work / "test.csv"


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


def test_eval_contract_reports_every_method_and_baseline(split: tuple[Path, Path, Path], store: Path) -> None:
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
    pairs = {(e.user_id, e.item_id) for e in read_interactions(test).events}
    assert result["test_pairs"] == len(pairs) >= result["test_pairs_already_bought"] > 0  # H&M rebuys


def test_behaviour_wins_where_the_purchases_are_built_so(
    outfits: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Item-kNN and the hybrid find the rest of an outfit; popularity cannot; content finds relistings."""
    items, train, test = outfits
    store = tmp_path / "store"
    result = evaluate_recommendations(None, items, train, test, k=12, store=store, progress=False)
    assert (
        result["unknown_items"] == result["test_pairs_already_bought"] == result["test_pairs_never_sold"] == 0
    )
    methods = result["methods"]
    assert methods["itemknn"]["recall@12"] >= 0.9
    assert methods["hybrid"]["recall@12"] >= methods["popularity"]["recall@12"] + 0.4
    assert methods["hybrid"]["recall_gain_over_popularity_ci95"][0] > 0.3
    looks = result["complete_the_look"]
    assert looks["seeds"] > 0 and looks["hit_rate@12"] > looks["popular_other_category_hit_rate@12"]
    # cold items appear where they should: a relisting of the customer's own top (same photo, new id,
    # never bought) is content's first suggestion, and is marked cold
    recs = Recommendations.fit(
        ItemSpace.from_store(Engine.open(store, create=False).store), read_interactions(train)
    )
    first_test_event = read_interactions(test).events[0]
    user, asked_at = first_test_event.user_id, first_test_event.timestamp
    first = recs.for_user(user, k=12, method="content", now=asked_at)[0]
    assert first["cold"] and first["id"] in {f"relisted-{e.item_id}" for e in recs.histories[user]}, first
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
    printed = json.loads(out.read_text())["methods"]
    assert {m: printed[m]["recall@12"] for m in printed} == {m: methods[m]["recall@12"] for m in methods}


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
