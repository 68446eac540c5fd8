"""Reading interactions: formats, weights and row-level errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfuse.errors import CatalogError, ConfigError
from shopfuse.recommend import Event, Interactions, read_interactions, write_interactions
from shopfuse.recommend.engine import InteractionLog


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_and_jsonl_read_with_events_weights_and_prices(tmp_path: Path) -> None:
    csv_file = write(
        tmp_path / "a.csv",
        "user_id,item_id,timestamp,event,price\nu1,i1,2020-01-01,purchase,0.5\nu1,i2,2020-01-02T10:00:00Z,view,\n",
    )
    events = read_interactions(csv_file)
    assert [e.item_id for e in events.events] == ["i1", "i2"]
    assert events.events[1].event == "view" and events.events[0].price == 0.5
    jsonl = write(tmp_path / "b.jsonl", '{"user_id": "u2", "item_id": "i1", "timestamp": 1577836800}\n')
    assert read_interactions(jsonl).events[0].timestamp == 1577836800.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user_id,item_id\nu,i\n", "missing column"),
        ("user_id,item_id,timestamp\nu,,2020-01-01\n", "row 2: field 'item_id'"),
        ("user_id,item_id,timestamp\nu,i,2020-01-01\nu,i,yesterday\n", "row 3: field 'timestamp'"),
        ("user_id,item_id,timestamp,event\nu,i,2020-01-01,like\n", "unknown 'like'"),
        ("user_id,item_id,timestamp,weight\nu,i,2020-01-01,-1\n", "field 'weight'"),
    ],
)
def test_bad_rows_name_the_row_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        read_interactions(write(tmp_path / "bad.csv", text))


def test_recency_and_event_weights() -> None:
    day = 86_400.0
    log = Interactions([Event("u", "a", 0.0), Event("u", "b", 60 * day, "view")])
    index = {"a": 0, "b": 1}
    history = log.history(log.events, index, now=60 * day, half_life_days=60.0)
    assert history[0] == pytest.approx(0.5)  # one half-life old purchase
    assert history[1] == pytest.approx(0.15)  # a fresh view
    users, matrix = log.matrix(index, half_life_days=60.0)
    assert users == ["u"] and matrix.shape == (1, 2)


def test_log_appends_parts_and_round_trips(tmp_path: Path) -> None:
    log = InteractionLog(tmp_path / "interactions")
    with pytest.raises(ConfigError, match="no interactions"):
        log.append(Interactions())
    log.append(Interactions([Event("u", "a", 10.0, "cart", 2.0, 1.5)]))
    log.append(Interactions([Event("v", "b", 20.0)]))
    loaded = log.load()
    assert [(e.user_id, e.event, e.weight, e.price) for e in loaded.events] == [
        ("u", "cart", 2.0, 1.5),
        ("v", "purchase", 1.0, None),
    ]
    assert len(log.parts()) == 2 and not list((tmp_path / "interactions").glob("*.tmp"))
    write_interactions(tmp_path / "copy.csv", loaded.events)
    assert read_interactions(tmp_path / "copy.csv").events == loaded.events
