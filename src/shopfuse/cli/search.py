"""``shopfuse search`` and ``shopfuse understand``: query a store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from shopfuse.cli._common import (
    SERVER_ENV,
    STORE_ENV,
    JsonOpt,
    OptionalStoreOpt,
    StoreOpt,
    fail,
    open_engine,
)
from shopfuse.errors import ShopfuseError
from shopfuse.types import Hit

if TYPE_CHECKING:
    from shopfuse.engine import SearchMode
    from shopfuse.query.lexical import FusionMethod


ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar=SERVER_ENV,
        show_envvar=False,
        help="URL of a running `shopfuse serve` to ask instead of opening a store (milliseconds "
        f"a query, no model loading); default: the {SERVER_ENV} environment variable.",
    ),
]


def search(
    ctx: typer.Context,
    store: OptionalStoreOpt = None,
    server: ServerOpt = None,
    query: Annotated[str | None, typer.Argument(help="Text query, any language.")] = None,
    image: Annotated[Path | None, typer.Option("--image", "-i", help="Query photo.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Number of results.")] = 10,
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help="SQL filter on attributes: \"gender = 'Women'\"."),
    ] = None,
    text_encoder: Annotated[
        str | None,
        typer.Option(help="Encode the query with this encoder (must match the store's)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="vector (meaning), lexical (BM25 words) or hybrid (both, fused).")
    ] = "vector",
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: rrf or weighted.")] = "rrf",
    lexical_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the lexical ranking in hybrid fusion.")
    ] = 0.5,
    collapse: Annotated[
        bool,
        typer.Option(
            "--collapse/--no-collapse",
            help="Show duplicate listings (same title, near-identical photo) as one hit with its variants.",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Search a store by text or by photo."""
    if (query is None) == (image is None):
        raise fail(ShopfuseError("give either a text query or --image PATH"))
    if mode not in ("vector", "lexical", "hybrid"):
        raise fail(ShopfuseError(f"--mode must be vector, lexical or hybrid, not {mode!r}"))
    if fusion not in ("rrf", "weighted"):
        raise fail(ShopfuseError(f"--fusion must be rrf or weighted, not {fusion!r}"))
    server = _server_to_ask(ctx, server, store)
    if server is not None:
        if text_encoder:
            raise fail(ShopfuseError("--text-encoder needs a local store (--store), not --server"))
        from shopfuse.cli.remote import search_remote

        try:
            hits = search_remote(
                server,
                query=query,
                image=image,
                k=k,
                where=where,
                mode=mode,
                fusion=fusion,
                lexical_weight=lexical_weight,
                extra={"collapse": collapse},
            )
        except ShopfuseError as exc:
            raise fail(exc) from exc
        _print_hits(hits, as_json)
        return
    if store is None:
        raise fail(
            ShopfuseError(
                f"give --store PATH (or set {STORE_ENV}), or --server URL of a running shopfuse serve "
                f"(or set {SERVER_ENV})"
            )
        )
    try:
        engine = open_engine(store)
        if image is not None:
            hits = engine.search_image(image, k=k, where=where, collapse=collapse)
        elif text_encoder and text_encoder != engine.config.text_encoder.name:
            from shopfuse.registry import registry

            other = registry.create("text_encoder", text_encoder)
            vector = other.encode_text([query], role="query")[0]
            hits = engine.searcher().vector_query(vector, other.text_info, k=k, where=where)
        else:
            hits = engine.search_text(
                query or "",
                k=k,
                where=where,
                mode=cast("SearchMode", mode),
                fusion=cast("FusionMethod", fusion),
                lexical_weight=lexical_weight,
                collapse=collapse,
            )
    except ShopfuseError as exc:
        raise fail(exc) from exc
    _print_hits(hits, as_json)


def understand(
    query: Annotated[str, typer.Argument(help="A query in any language.")],
    store: StoreOpt,
) -> None:
    """Show what the store's model reads in a query: attribute constraints, free words, rewrite."""
    try:
        engine = open_engine(store)
        typer.echo(json.dumps(engine.parse_query(query), ensure_ascii=False, indent=2))
        if engine.model is None or engine.model.heads is None:
            typer.echo(
                "note: this store has no shop model with attribute heads, so nothing is understood; "
                "it learns one when ingested with 500+ photo+text products (or --learn on)",
                err=True,
            )
    except ShopfuseError as exc:
        raise fail(exc) from exc


def _server_to_ask(ctx: typer.Context, server: str | None, store: str | None) -> str | None:
    """The server to ask, if any: an option typed on the command line beats one from the environment.

    ``--server`` and ``--store`` both typed is an error; both from the environment, the server.
    """
    if not server:
        return None
    if store is None:
        return server
    typed = {
        name
        for name in ("server", "store")
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    }
    if typed == {"server", "store"}:
        raise fail(ShopfuseError("give --store or --server, not both"))
    return None if typed == {"store"} else server


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    """Print search hits as JSON or as a ranked table with each hit's reasons."""
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no results")
        return
    for rank, hit in enumerate(hits, start=1):
        why = ", ".join(f"{m} {s:.3f}" for m, s in hit.contributions.items())
        attrs = ", ".join(f"{k}={v}" for k, v in list(hit.attributes.items())[:4] if v is not None)
        typer.echo(f"{rank:>3}. {hit.score:.4f}  {hit.id:<12} {hit.title or '(no title)'}")
        typer.echo(f"       [{why}]  {attrs}")
        if hit.variants:
            typer.echo(f"       +{len(hit.variants)} variants: " + ", ".join(hit.variants))
        if hit.matched:
            asked = ", ".join(f"{k}={v['value']} p={v['probability']:.2f}" for k, v in hit.matched.items())
            typer.echo(f"       matched: {asked}")
        if hit.moments:
            typer.echo("       moments: " + ", ".join(f"{m.label} ({m.score:.3f})" for m in hit.moments))
