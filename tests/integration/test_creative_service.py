"""``POST /creative/choose`` and ``POST /creative/feedback`` over the real Open Bandit actions.

The app is the creative router on its own (no store) for the choosing and logging, and the full
service over a small real H&M store with purchases for the ``user_id`` -> segment lookup. The log
is read back with :func:`read_journal` and, exported, with :func:`read_log`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopfuse.creative.journal import Journal, export_journal, journal_rows, read_journal
from shopfuse.creative.logs import read_actions, read_log
from shopfuse.creative.policy import TablePolicy, UniformPolicy, save_policy
from shopfuse.creative.serving import ENV_LOG, ENV_POLICY, CreativeServer, server_from_env
from shopfuse.errors import ConfigError
from shopfuse.service.routes import creative


@pytest.fixture(scope="module")
def actions(shared_data: Path) -> list[str]:
    """The 46 real items of the Open Bandit women's campaign."""
    return read_actions(shared_data / "open-bandit" / "random" / "women" / "item_context.csv").ids


def client_for(server: CreativeServer) -> TestClient:
    app = FastAPI()
    app.include_router(creative.router)
    app.state.creative = server
    return TestClient(app)


@pytest.fixture()
def uniform(actions: list[str], tmp_path: Path) -> Iterator[tuple[TestClient, CreativeServer]]:
    server = CreativeServer(UniformPolicy(actions), tmp_path / "log", seed=0)
    yield client_for(server), server
    server.close()


def test_choose_feedback_row_is_in_the_log(
    uniform: tuple[TestClient, CreativeServer], actions: list[str]
) -> None:
    client, server = uniform
    answer = client.post(
        "/creative/choose",
        json={"context": {"user_feature_0": "81ce", "age": 31, "member": True}, "position": 2},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["action"] in actions and body["policy"] == "uniform"
    assert body["propensity"] == pytest.approx(1 / len(actions))
    done = client.post("/creative/feedback", json={"impression_id": body["impression_id"], "reward": 1})
    assert done.status_code == 200, done.text
    log = read_journal(server.journal.folder)
    assert len(log) == 1 and log.action[0] == body["action"] and log.reward[0] == 1.0
    assert log.propensity[0] == pytest.approx(1 / len(actions)) and log.position is not None
    assert log.position[0] == 2 and log.context["user_feature_0"][0] == "81ce"
    assert log.context["age"][0] == 31.0 and log.context["member"][0] == 1.0
    assert log.timestamp is not None
    # feedback is taken once: a second one for the same impression is unknown
    again = client.post("/creative/feedback", json={"impression_id": body["impression_id"], "reward": 0})
    assert again.status_code == 404
    for suffix in ("csv", "parquet"):
        out = server.journal.folder.parent / f"log.{suffix}"
        assert export_journal(server.journal.folder, out) == 1
        exported = read_log(out)
        assert exported.action.tolist() == [body["action"]] and exported.reward.tolist() == [1.0]
        assert exported.position is not None and exported.position.tolist() == [2]
        assert exported.timestamp is not None and exported.timestamp[0] == log.timestamp[0]
        assert exported.context["user_feature_0"].tolist() == ["81ce"]


def test_candidates_restrict_the_choice_and_renormalise(
    uniform: tuple[TestClient, CreativeServer], actions: list[str]
) -> None:
    client, _ = uniform
    allowed = actions[:3]
    seen = Counter()
    for _ in range(60):
        body = client.post("/creative/choose", json={"candidates": allowed}).json()
        assert body["action"] in allowed and body["propensity"] == pytest.approx(1 / 3)
        seen[body["action"]] += 1
    assert set(seen) == set(allowed)


def test_table_policy_chooses_by_the_context(actions: list[str], tmp_path: Path) -> None:
    policy = TablePolicy(
        actions, {"a": {actions[0]: 1.0}, "*": {actions[1]: 0.25, actions[2]: 0.75}}, context="segment"
    )
    path = tmp_path / "policy.json"
    save_policy(policy, path)
    server = server_from_env({ENV_POLICY: str(path), ENV_LOG: str(tmp_path / "log")})
    assert server is not None
    client = client_for(server)
    first = client.post("/creative/choose", json={"context": {"segment": "a"}}).json()
    assert first["action"] == actions[0] and first["propensity"] == 1.0 and first["policy"] == "table"
    other = client.post("/creative/choose", json={"context": {"segment": "b"}}).json()
    assert other["action"] in actions[1:3]
    assert other["propensity"] == pytest.approx(0.25 if other["action"] == actions[1] else 0.75)
    # only actions[0] and the others are refused when the table gives them nothing here
    refused = client.post("/creative/choose", json={"context": {"segment": "a"}, "candidates": [actions[5]]})
    assert refused.status_code == 422 and "no probability" in refused.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"context": {"nested": {"a": 1}}},
        {"context": {"list": [1, 2]}},
        {"context": {"none": None}},
        {"context": {f"k{i}": i for i in range(65)}},
        {"context": {"k": "x" * 257}},
        {"context": {"x" * 65: 1}},
        {"context": {"action": "1"}},
        {"context": {"propensity": 0.5}},
        {"candidates": []},
        {"candidates": ["not-an-item"]},
        {"candidates": [1, 2]},
        {"user": "u"},
        {"position": -1},
        {"context": "flat"},
    ],
)
def test_bad_choose_bodies_are_422(uniform: tuple[TestClient, CreativeServer], body: dict[str, Any]) -> None:
    client, _ = uniform
    answer = client.post("/creative/choose", json=body)
    assert answer.status_code == 422, (body, answer.text)


@pytest.mark.parametrize(
    "body",
    [
        {"impression_id": "x"},
        {"reward": 1},
        {"impression_id": "x", "reward": "yes"},
        {"impression_id": "x", "reward": 1, "action": "1", "propensity": 0.5},
        {"action": "1", "reward": 1},
        {"action": "1", "reward": 1, "propensity": 0},
        {"action": "1", "reward": 1, "propensity": 1.5},
        {"action": "not-an-item", "reward": 1, "propensity": 0.5},
    ],
)
def test_bad_feedback_bodies_are_422(
    uniform: tuple[TestClient, CreativeServer], body: dict[str, Any]
) -> None:
    client, server = uniform
    answer = client.post("/creative/feedback", json=body)
    assert answer.status_code == 422, (body, answer.text)
    assert not server.journal.folder.exists() or not journal_rows(server.journal.folder)


def test_unknown_impression_is_404(uniform: tuple[TestClient, CreativeServer]) -> None:
    client, _ = uniform
    answer = client.post("/creative/feedback", json={"impression_id": "f" * 32, "reward": 1})
    assert answer.status_code == 404 and "unknown impression" in answer.json()["detail"]


def test_full_row_feedback_is_logged(uniform: tuple[TestClient, CreativeServer], actions: list[str]) -> None:
    client, server = uniform
    row = {"action": actions[4], "reward": 0, "propensity": 0.2, "context": {"segment": "3"}, "position": 1}
    assert client.post("/creative/feedback", json=row).status_code == 200
    log = read_journal(server.journal.folder)
    assert log.action.tolist() == [actions[4]] and log.propensity.tolist() == [0.2]
    assert log.context["segment"].tolist() == ["3"]


def test_unconfigured_service_is_404() -> None:
    app = FastAPI()
    app.include_router(creative.router)
    for name in (ENV_POLICY, ENV_LOG):
        os.environ.pop(name, None)
    answer = TestClient(app).post("/creative/choose", json={})
    assert answer.status_code == 404 and "SHOPFUSE_CREATIVE_POLICY" in answer.json()["detail"]


def test_forgotten_impressions_are_404(actions: list[str], tmp_path: Path) -> None:
    server = CreativeServer(UniformPolicy(actions), tmp_path / "log", max_pending=3)
    client = client_for(server)
    ids = [client.post("/creative/choose", json={}).json()["impression_id"] for _ in range(5)]
    assert server.pending == 3
    assert client.post("/creative/feedback", json={"impression_id": ids[0], "reward": 0}).status_code == 404
    assert client.post("/creative/feedback", json={"impression_id": ids[4], "reward": 0}).status_code == 200


class CountingPolicy:
    """A learning policy (``choose`` and ``update``) counting the clicks per action."""

    kind = "counting"

    def __init__(self, actions: list[str]) -> None:
        self.actions = actions
        self.clicks: Counter[str] = Counter()
        self.updates = 0

    def probabilities(self, log: Any) -> np.ndarray:
        return np.full((len(log), len(self.actions)), 1 / len(self.actions))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "actions": self.actions}

    def choose(self, context: Mapping[str, Any], rng: np.random.Generator) -> tuple[str, float]:
        return self.actions[int(rng.integers(len(self.actions)))], 1 / len(self.actions)

    def update(self, context: Mapping[str, Any], action: str, reward: float) -> None:
        if not 0 <= reward <= 1:
            raise ConfigError(f"reward must be in [0, 1], got {reward}")
        self.updates += 1  # not thread-safe on purpose: the server serialises updates
        self.clicks[action] += int(reward)


def test_concurrent_feedback_loses_nothing(actions: list[str], tmp_path: Path) -> None:
    """Eight threads choose and give feedback at once: every row is logged, whole, once."""
    policy = CountingPolicy(actions)
    server = CreativeServer(policy, tmp_path / "log", seed=1)  # type: ignore[arg-type]
    client = client_for(server)
    long_text = "é" * 200  # long rows make torn or interleaved writes visible

    def one(i: int) -> tuple[str, str]:
        chosen = client.post("/creative/choose", json={"context": {"i": i, "text": long_text}}).json()
        done = client.post(
            "/creative/feedback", json={"impression_id": chosen["impression_id"], "reward": i % 2}
        )
        assert done.status_code == 200, done.text
        return chosen["impression_id"], chosen["action"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(one, range(400)))
    rows = journal_rows(server.journal.folder)
    assert len(rows) == 400
    assert sorted(r["impression_id"] for r in rows) == sorted(i for i, _ in made)
    assert sorted(int(r["context"]["i"]) for r in rows) == list(range(400))
    assert all(r["context"]["text"] == long_text for r in rows)
    assert policy.updates == 400 and sum(policy.clicks.values()) == 200
    assert server.pending == 0


CRASHING_WRITER = """
import sys
from shopfuse.creative.journal import Journal
journal = Journal(sys.argv[1])
i = 0
while True:
    row = {"action": str(i % 7), "reward": 0, "propensity": 0.5, "context": {"pad": "x" * 3000, "i": i}}
    journal.append(row)
    i += 1
    if i == 50:
        print("ready", flush=True)
"""


def test_a_killed_writer_leaves_no_half_row(tmp_path: Path) -> None:
    """SIGKILL in the middle of writing: every row read back is whole; a torn tail is left out."""
    folder = tmp_path / "log"
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    rows = journal_rows(folder)
    assert len(rows) >= 50 and [r["context"]["i"] for r in rows] == list(range(len(rows)))
    # a crash in the middle of a line (simulated: half a row and no newline) is not a row
    (part,) = folder.glob("part-*.jsonl")
    with part.open("ab") as handle:
        handle.write(json.dumps({"action": "1", "reward": 1, "propensity": 0.5}).encode()[:20])
    assert len(journal_rows(folder)) == len(rows)
    # the next writer starts its own part: the torn line stays last in the old one
    journal = Journal(folder)
    journal.append({"action": "1", "reward": 1, "propensity": 0.5, "context": {"i": len(rows)}})
    journal.close()
    assert len(journal_rows(folder)) == len(rows) + 1 and len(list(folder.glob("part-*.jsonl"))) == 2


@pytest.fixture(scope="module")
def hm_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real H&M customers' articles and purchases."""
    from tests.helpers.hm_store import build_hm_store

    return build_hm_store(shared_data, tmp_path_factory.mktemp("creative-hm"), users=6)


def test_user_id_adds_the_users_segment(hm_store: Path, actions: list[str], tmp_path: Path) -> None:
    """The full service: a known user's recommendation segment goes into the logged context."""
    from shopfuse.engine import Engine
    from shopfuse.service import ServiceSettings, create_app

    engine = Engine.open(hm_store, create=False)
    app = create_app(engine, ServiceSettings())
    app.include_router(creative.router)  # the lead wires it into create_app; here it is added by hand
    server = CreativeServer(UniformPolicy(actions), tmp_path / "log", seed=0)
    app.state.creative = server
    _, segments, _ = engine.recommendations().segments()
    expected = {u: str(s.id) for s in segments for u in s.users}
    user = sorted(expected)[0]
    with TestClient(app) as client:
        for user_id, context in ((user, {}), ("nobody-bought-anything", {}), (user, {"segment": "given"})):
            chosen = client.post("/creative/choose", json={"context": context, "user_id": user_id})
            assert chosen.status_code == 200, chosen.text
            feedback = {"impression_id": chosen.json()["impression_id"], "reward": 0}
            assert client.post("/creative/feedback", json=feedback).status_code == 200
    log = read_journal(server.journal.folder)
    assert log.context["segment"].tolist() == [expected[user], "unknown", "given"]


def test_a_refused_update_still_logs_the_row(actions: list[str], tmp_path: Path) -> None:
    policy = CountingPolicy(actions)
    server = CreativeServer(policy, tmp_path / "log")  # type: ignore[arg-type]
    client = client_for(server)
    chosen = client.post("/creative/choose", json={}).json()
    answer = client.post("/creative/feedback", json={"impression_id": chosen["impression_id"], "reward": 5})
    assert answer.status_code == 200 and "[0, 1]" in answer.json()["update_error"]
    assert policy.updates == 0 and server.update_errors == 1
    assert read_journal(server.journal.folder).reward.tolist() == [5.0]
