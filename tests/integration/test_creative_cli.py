"""``shopfuse creative evaluate`` on the real Open Bandit logs, through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli.creative import creative_app

runner = CliRunner()


def test_evaluate_uniform_on_the_thompson_sampling_log(shared_data: Path, tmp_path: Path) -> None:
    base = shared_data / "open-bandit"
    out = tmp_path / "ope.json"
    result = runner.invoke(
        creative_app,
        [
            "evaluate",
            "--log",
            str(base / "bts" / "men" / "men.csv"),
            "--actions",
            str(base / "bts" / "men" / "item_context.csv"),
            "--policy",
            "uniform",
            "--estimators",
            "ipw,snips,dr",
            "--bootstrap",
            "100",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "10000 rows, logged click rate 0.00690" in result.output  # 69 clicks
    assert "snipw" in result.output and "effective sample size" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 10_000 and report["policy"] == "uniform"
    assert set(report["estimates"]) == {"ipw", "snipw", "dr"}
    for est in report["estimates"].values():
        assert 0 < est["low"] <= est["value"] <= est["high"] < 0.02
    # the random log's own click rate (46 / 10,000) lies inside the SNIPW interval
    assert report["estimates"]["snipw"]["low"] <= 0.0046 <= report["estimates"]["snipw"]["high"]
    assert 1 < report["ess"] < 10_000
    assert report["support"]["unlogged_mass"] < 1e-9


def test_evaluate_refusals_and_bad_options(shared_data: Path, tmp_path: Path) -> None:
    log = str(shared_data / "open-bandit" / "random" / "men" / "men.csv")
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"kind": "table", "probabilities": {"*": {"0": 0.5, "new-creative": 0.5}}}),
        encoding="utf-8",
    )
    result = runner.invoke(creative_app, ["evaluate", "--log", log, "--policy", str(policy)])
    assert result.exit_code == 2
    assert "0.500 of its mass" in result.output and "new-creative (0.500)" in result.output
    # the table policy's "*" row plays item 0 only: a valid target, estimated from the random log
    policy.write_text(json.dumps({"kind": "table", "probabilities": {"*": {"0": 1.0}}}), encoding="utf-8")
    args = ["evaluate", "--log", log, "--policy", str(policy), "--estimators", "ipw", "--bootstrap", "0"]
    result = runner.invoke(creative_app, args)
    assert result.exit_code == 0, result.output
    # item 0 alone: w = 1 / (1/34) on item 0's rows, 0 elsewhere; IPW = 34 * (item 0's clicks) / rows
    from shopfuse.creative.logs import read_log

    real = read_log(log)
    clicks = float(real.reward[real.action == "0"].sum())
    value = json.loads(result.output[result.output.index("{") :])["estimates"]["ipw"]["value"]
    assert value == pytest.approx(34 * clicks / len(real))
    uniform = ["evaluate", "--log", log, "--policy", "uniform"]
    result = runner.invoke(creative_app, [*uniform, "--estimators", "ips,x"])
    assert result.exit_code == 2 and "unknown estimator 'x'" in result.output
    result = runner.invoke(creative_app, [*uniform, "--map", "reward=clicks"])
    assert result.exit_code == 2 and "no column 'clicks' for reward" in result.output
