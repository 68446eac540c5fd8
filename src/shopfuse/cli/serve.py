"""``shopfuse serve``: the HTTP API and web UI over a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError


def serve(
    store: StoreOpt,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            envvar="SHOPFUSE_API_KEYS", help="Key allowed to write (repeatable); none: read-only API."
        ),
    ] = None,
    media_root: Annotated[
        list[Path] | None, typer.Option(help="Folder that posted products' media may come from.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.01, help="Largest photo upload.")] = 10.0,
    image_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Folder whose product photos the API and web UI may serve (repeatable); "
            "default: the media roots plus the folders of the stored photos."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each loads the encoders and vectors.")
    ] = 1,
    query_cache: Annotated[
        int, typer.Option(min=0, help="Encoded text queries kept for repeats (0: none).")
    ] = 10_000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host header value to serve (repeatable; '*': any); default: localhost names when "
            "listening on a loopback interface, else any."
        ),
    ] = None,
    allow_new_attributes: Annotated[
        bool, typer.Option(help="Let posted products add attributes the store does not have yet.")
    ] = False,
    max_request_mb: Annotated[float, typer.Option(min=0.01, help="Largest request body.")] = 16.0,
    read_only: Annotated[
        bool,
        typer.Option(help="A read replica: writes get 409; one writer service changes the store."),
    ] = False,
    writer: Annotated[
        str | None,
        typer.Option(help="URL of the writer service, named in a replica's 409s (implies --read-only)."),
    ] = None,
    reload_interval: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Seconds between checks for store versions written by another process, loaded "
            "without downtime (0: off); default 2 on a replica, else 0.",
        ),
    ] = None,
) -> None:
    """Serve a store over HTTP, with the web UI at / (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from shopfuse.service import ServiceSettings, create_app

    settings = ServiceSettings(
        api_keys=[k for key in api_key or [] for k in key.split(",") if k.strip()],
        media_roots=media_root or [],
        max_upload_bytes=int(max_upload_mb * 1_000_000),
        image_roots=[str(root) for root in image_root] if image_root else None,
        allowed_hosts=allowed_host or _default_hosts(host),
        allow_new_attributes=allow_new_attributes,
        max_request_bytes=int(max_request_mb * 1_000_000),
        read_only=read_only or writer is not None,
        writer_url=writer,
        reload_interval=(2.0 if read_only or writer else 0.0) if reload_interval is None else reload_interval,
    )
    if workers > 1:
        from shopfuse.service.factory import ENV_STORE, serve_environment
        from shopfuse.store.checking import open_once
        from shopfuse.store.locate import read_engine_config
        from shopfuse.store.milvus import is_milvus_uri

        try:
            if read_engine_config(store) is None:
                raise fail(ShopfuseError(f"no shopfuse store at {store}"))
            open_once(store)  # damage stops the command here, in one line, not each worker in a traceback
        except ShopfuseError as exc:
            raise fail(exc) from exc
        environment = serve_environment(store, settings, query_cache)
        if is_milvus_uri(store):
            environment[ENV_STORE] = store  # a URI, not a path to resolve
        os.environ.update(environment)
        typer.echo(f"serving {store} with {workers} workers on http://{host}:{port} (docs: /docs)")
        uvicorn.run(
            "shopfuse.service.factory:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    from shopfuse.service.factory import single_threaded_math

    single_threaded_math()
    try:
        engine = open_engine(store)
        engine.query_cache.size = query_cache
        application = create_app(engine, settings)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    role = " as a read-only replica" if settings.read_only else ""
    typer.echo(
        f"serving {store} ({engine.store.count()} products){role} on http://{host}:{port} "
        "(web UI: /, docs: /docs)"
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _default_hosts(host: str) -> list[str]:
    """Host headers served by default: the loopback names on a loopback interface, else any."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return ["localhost", "127.0.0.1", "::1"]
    return ["*"]
