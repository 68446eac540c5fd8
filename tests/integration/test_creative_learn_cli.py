"""``shopfuse creative learn`` on a real Open Bandit log (the uniform-random men's campaign)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shopfuse.cli.creative_learn import learn
from shopfuse.creative.logs import read_log
from shopfuse.creative.policy import load_policy


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The command on its own (the lead wires it in as ``shopfuse creative learn``)."""
    result = typer.Typer()
    result.command()(learn)
    return result


def test_learn_on_open_bandit(app: typer.Typer, shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "open-bandit" / "random" / "men"
    out, report = tmp_path / "ts.json", tmp_path / "report.json"
    args = ["--log", str(folder / "men.csv"), "--actions", str(folder / "item_context.csv")]
    args += ["--segment", "user_feature_0", "--out", str(out), "--json", str(report), "--bootstrap", "100"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["holdout"]["days"] == ["2019-11-29", "2019-11-30"]
    assert data["train"]["rows"] + data["holdout"]["rows"] == 10_000
    held = read_log(folder / "men.csv")
    days = held.timestamp.astype("datetime64[D]")
    held = held.take(days >= days.max() - 1)
    assert data["logging"]["value"] == pytest.approx(float(held.reward.mean()))
    for name in ("snipw", "dr"):
        estimate = data["learned"][name]
        assert estimate["low"] <= estimate["value"] <= estimate["high"]
        assert data["lift"][name]["value"] == pytest.approx(estimate["value"] / data["logging"]["value"] - 1)
    policy = load_policy(out)
    assert policy.kind == "thompson" and len(policy.actions) == 34
    assert policy.probabilities(held).shape == (len(held), 34)


def test_learn_errors_are_one_line(app: typer.Typer, shared_data: Path, tmp_path: Path) -> None:
    log = shared_data / "open-bandit" / "random" / "men" / "men.csv"
    args = ["--log", str(log), "--out", str(tmp_path / "p.json"), "--policy-kind", "greedy"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "unknown policy kind 'greedy'" in result.output
    args = ["--log", str(log), "--out", str(tmp_path / "p.json"), "--holdout-days", "7"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "spans 7 day(s)" in result.output
    assert not (tmp_path / "p.json").exists()
