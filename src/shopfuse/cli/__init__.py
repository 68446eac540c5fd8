"""The ``shopfuse`` command line, a thin layer over :class:`shopfuse.engine.Engine`.

Each command group lives in its own module; this one builds ``app`` and adds them in help order.
Heavy imports (torch, lancedb, the engine) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import typer

from shopfuse.cli import demo, ingest, search, serve, store, train
from shopfuse.cli.attributes import attributes_app
from shopfuse.cli.copy import copy_app
from shopfuse.cli.creative import creative_app
from shopfuse.cli.eval import eval_app
from shopfuse.cli.interactions import interactions_app
from shopfuse.cli.profile import profile_app
from shopfuse.cli.qa import ask
from shopfuse.cli.recommend import recommend_app
from shopfuse.cli.report import report
from shopfuse.cli.tryon import tryon

__all__ = ["app", "main"]

app = typer.Typer(
    help="shopfuse: multimodal product search that runs offline on a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (
    ingest.ingest,
    search.search,
    serve.serve,
    store.info,
    store.check,
    store.delete,
    demo.demo,
    train.train,
    train.adapt,
    search.understand,
    ask,
    report,
    tryon,
):
    app.command()(command)
app.add_typer(attributes_app, name="attributes")
app.add_typer(eval_app, name="eval")
app.add_typer(copy_app, name="copy")
app.add_typer(creative_app, name="creative")
app.add_typer(interactions_app, name="interactions")
app.add_typer(recommend_app, name="recommend")
app.add_typer(profile_app, name="profile")


def main() -> None:
    """Entry point for ``python -m shopfuse``."""
    app()
