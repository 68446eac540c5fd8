"""``shopfuse creative``: off-policy evaluation of creative-selection policies on impression logs.

The app holds ``evaluate``; other commands (``learn``) live in their own modules and are added to
:data:`creative_app` where the CLI is assembled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import JsonOutOpt, fail, split_labels, write_json
from shopfuse.errors import ShopfuseError

creative_app = typer.Typer(
    help="Creative selection per audience: evaluate policies on impression logs.", no_args_is_help=True
)


@creative_app.callback()
def creative() -> None:
    """Creative selection per audience: evaluate policies on impression logs."""


LogOpt = Annotated[
    Path, typer.Option("--log", help="Impression log (CSV or Parquet): action, reward/click, propensity...")
]
ActionsOpt = Annotated[
    Path | None, typer.Option("--actions", help="Action table (CSV or Parquet): action id and features.")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="Name a log column: reward=click, propensity=pscore, context=age,segment."),
]


@creative_app.command("evaluate")
def evaluate_command(
    log: LogOpt,
    policy: Annotated[
        str, typer.Option("--policy", help="'uniform' (over the logged actions) or a policy JSON file.")
    ],
    actions: ActionsOpt = None,
    estimators: Annotated[
        str, typer.Option("--estimators", help="Comma-separated: ipw, snipw, dm, dr.")
    ] = "ipw,snipw,dm,dr",
    mapping: MapOpt = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the 95% intervals.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap and the cross-fitting folds.")] = 0,
    dm_only_unsupported: Annotated[
        bool,
        typer.Option(
            "--allow-unsupported-dm",
            help="Where the policy uses actions the log never shows, give the direct method alone.",
        ),
    ] = False,
    clip: Annotated[
        float | None,
        typer.Option(min=0.0, help="Cap the importance weights at this value (clipped IPW/SNIPW/DR)."),
    ] = None,
    out_json: JsonOutOpt = None,
) -> None:
    """Estimate a policy's click rate from a log another policy collected (IPW, SNIPW, DM, DR)."""
    from shopfuse.creative.logs import LogMapping, read_actions, read_log
    from shopfuse.creative.ope import evaluate
    from shopfuse.creative.policy import load_policy

    try:
        bandit_log = read_log(log, LogMapping.from_options(mapping or []))
        table = read_actions(actions) if actions is not None else None
        # the log's actions only complete "uniform": a JSON policy keeps its own (a new creative in it
        # must reach the support check, not be refused as unknown)
        target = load_policy(policy, bandit_log.actions if policy == "uniform" else None)
        report = evaluate(
            bandit_log,
            target,
            estimators=split_labels(estimators),
            bootstrap=bootstrap,
            seed=seed,
            actions=table,
            allow_unsupported_dm=dm_only_unsupported,
            clip=clip,
        )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    typer.echo(
        f"log {log}: {report.n} rows, logged click rate {report.logged_value:.5f}; "
        f"target {report.policy}: effective sample size {report.ess:.0f}, "
        f"largest weight {report.support['weight_max']:.1f}"
        + (f", {report.support['clipped_rows']} row(s) clipped at {clip}" if clip is not None else "")
    )
    typer.echo(f"{'estimator':<10} {'value':>9} {'95% low':>9} {'95% high':>9}")
    for est in report.estimates.values():
        typer.echo(f"{est.name:<10} {est.value:>9.5f} {est.low:>9.5f} {est.high:>9.5f}")
    if {"dm", "dr"} & set(report.estimates):
        typer.echo("(dm/dr intervals hold the reward model fixed: too narrow, dm's the most)")
    for name, why in report.skipped.items():
        typer.echo(f"{name:<10} skipped: {why}")
    write_json(report.to_dict(), out_json)


def _register_learn() -> None:
    """``creative learn`` lives with the learners' command (cli/creative_learn.py)."""
    from shopfuse.cli.creative_learn import learn

    creative_app.command("learn")(learn)


_register_learn()
