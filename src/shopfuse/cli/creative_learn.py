"""``shopfuse creative learn``: train a bandit policy from a log and estimate it on held-out days."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import JsonOutOpt, fail, split_labels, write_json
from shopfuse.errors import ShopfuseError

__all__ = ["learn"]


def learn(
    log: Annotated[Path, typer.Option("--log", help="Impression log (CSV or Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Where to save the learned policy (JSON).")],
    actions: Annotated[
        Path | None, typer.Option("--actions", help="Action table: ids, product_id?, features.")
    ] = None,
    policy_kind: Annotated[
        str, typer.Option("--policy-kind", help="thompson, linucb or lin_ts.")
    ] = "thompson",
    segment: Annotated[
        str | None, typer.Option("--segment", help="Context column whose values are segments.")
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context", help="Context columns the linear models read (comma-separated; default all)."
        ),
    ] = None,
    holdout_days: Annotated[
        int, typer.Option("--holdout-days", min=1, help="Last days of the log held out for the estimate.")
    ] = 2,
    estimators: Annotated[
        str, typer.Option("--estimators", help="Off-policy estimators: ipw, snipw, dm, dr.")
    ] = "snipw,dr",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples.")] = 500,
    min_support: Annotated[
        float,
        typer.Option(
            "--min-support", min=0.0, max=1.0, help="Share of the policy's mass the logger must cover."
        ),
    ] = 0.95,
    refit: Annotated[
        bool,
        typer.Option("--refit", help="Save a policy retrained on the whole log."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and the policy's sampling.")] = 0,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="Log column of a field: reward=click, context=a,b.")
    ] = None,
    json_out: JsonOutOpt = None,
) -> None:
    """Learn a policy on all but the last days of LOG, save it, and compare its estimated click rate
    on the held-out days with the logging policy's (the held-out mean click), with 95% intervals."""
    from shopfuse.creative.bandits import fit
    from shopfuse.creative.learn import learn_and_evaluate
    from shopfuse.creative.logs import LogMapping, read_actions, read_log
    from shopfuse.creative.policy import save_policy

    try:
        data = read_log(log, LogMapping.from_options(mapping or []))
        table = read_actions(actions) if actions is not None else None
        columns = split_labels(context) or None
        policy, report = learn_and_evaluate(
            data,
            table,
            kind=policy_kind,
            segment=segment,
            context=columns,
            holdout_days=holdout_days,
            estimators=split_labels(estimators),
            bootstrap=bootstrap,
            seed=seed,
            min_support=min_support,
            params={"seed": seed},
        )
        if refit:
            policy = fit(data, table, kind=policy_kind, segment=segment, context=columns, seed=seed)
        save_policy(policy, out)
    except (ShopfuseError, ValueError) as exc:
        raise fail(exc) from exc
    logged = report.logging
    typer.echo(
        f"held-out {report.holdout['rows']} rows ({' to '.join(report.holdout['days'])}): logging policy "
        f"{logged['value']:.5f} [{logged['low']:.5f}, {logged['high']:.5f}]",
        err=True,
    )
    for name, value in report.learned.items():
        lift = report.lift.get(name)
        extra = f", lift {lift['value']:+.1%} [{lift['low']:+.1%}, {lift['high']:+.1%}]" if lift else ""
        typer.echo(
            f"{report.kind} ({name}): {value['value']:.5f} [{value['low']:.5f}, {value['high']:.5f}]{extra}",
            err=True,
        )
    typer.echo(f"policy written to {out}", err=True)
    write_json({**report.to_dict(), "out": str(out)}, json_out)
