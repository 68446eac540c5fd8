"""Searches while a writer writes: search p50/p99 with 30 searchers alone, then with one writer too.

The store: ``--products`` real fashion products (default 1,000), built once under ``--work`` (shared
with ``soak.py``) and copied fresh for every run; the server: ``python -m shopfuse serve`` on
127.0.0.1 with a write key. Every query of the pool (English and Chinese, "colour type for gender"
and colour+type) is sent once before timing, so both phases find the query vectors cached and
differ only in the writer.

Phases, ``--duration`` seconds each, on the same server:

* ``read only``: ``--searchers`` closed-loop clients (no think time) sending ``GET /search``;
* ``read + write``: the same searchers, plus one writer that keeps posting a new real product
  (title, photo, attributes: an encode and a commit) and deleting it again, back to back.

Reported per phase: searches, throughput, p50/p99/mean latency and errors, the writer's write and
delete latencies and count, the server's RSS; then the ratios read+write / read-only of p50, p99
and throughput. At the end the store must hold exactly the products it started with.

Run::

    python benchmarks/read_write.py --work /tmp/shopfuse-serve-bench               # 60 s per phase
    python benchmarks/read_write.py --work /tmp/shopfuse-serve-bench --duration 20

Results: a table on stdout and ``benchmarks/results/read_write.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx
from _common import print_table, write_results
from _service import (
    API_KEY,
    Recorder,
    catalogue_rows,
    http_client,
    posted_product,
    query_pool,
    rss_mib,
    run_store,
    service_parser,
    start_server,
    timed,
)

from shopfuse.engine import Engine

NAME = "read_write"
KEY = {"X-API-Key": API_KEY}
MAX_WRITES = 100_000
"""Most write/delete pairs the writer sends in one phase (the phase's duration ends it first)."""
MAX_SEARCHES = 1_000_000
"""Most searches one searcher sends in one phase."""


async def searcher(
    client: httpx.AsyncClient, recorder: Recorder, queries: list[tuple[str, str]], start: int, stop: float
) -> None:
    """``GET /search`` over the pool from ``start`` on, each as soon as the last is answered."""
    for i in range(MAX_SEARCHES):
        if time.perf_counter() >= stop:
            return
        _, query = queries[(start + i) % len(queries)]
        await timed(recorder, "search", client, "GET", "/search", params={"q": query, "k": 10})


async def writer(
    client: httpx.AsyncClient,
    recorder: Recorder,
    rows: list[dict[str, str]],
    phase: str,
    stop: float,
    rng: random.Random,
    lost: list[dict[str, Any]],
) -> None:
    """Post a new product and delete it again, back to back, until ``stop``.

    A product whose post was acknowledged (``added``) but whose delete finds nothing is noted in
    ``lost`` with what a read of it says right after, and a second later.
    """
    for i in range(MAX_WRITES):
        if time.perf_counter() >= stop:
            return
        product_id = f"rw-{phase.replace(' ', '').replace('+', '-')}-{i}"
        body = [posted_product(product_id, rng.choice(rows))]
        posted = await timed(recorder, "write", client, "POST", "/products", json=body, headers=KEY)
        url = f"/products/{product_id}"
        deleted = await timed(recorder, "delete", client, "DELETE", url, headers=KEY)
        if posted is None or posted.status_code != 200 or deleted is None or deleted.status_code != 404:
            continue
        now = (await client.get(url)).status_code
        await asyncio.sleep(1.0)
        later = (await client.get(url)).status_code
        lost.append({"id": product_id, "post": posted.json(), "get_after": now, "get_1s_later": later})


async def phase(
    client: httpx.AsyncClient,
    name: str,
    args: argparse.Namespace,
    queries: list[tuple[str, str]],
    rows: list[dict[str, str]],
    with_writer: bool,
    pid: int,
) -> dict[str, Any]:
    """One phase: the searchers, and the writer when ``with_writer``, for ``args.duration`` seconds."""
    recorder = Recorder()
    lost: list[dict[str, Any]] = []
    began = time.perf_counter()
    stop = began + args.duration
    step = len(queries) // args.searchers
    tasks = [searcher(client, recorder, queries, i * step, stop) for i in range(args.searchers)]
    if with_writer:
        tasks.append(writer(client, recorder, rows, name, stop, random.Random(args.seed), lost))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - began
    search = recorder.summary("search")
    row: dict[str, Any] = {
        "phase": name,
        "searchers": args.searchers,
        "writer": with_writer,
        "seconds": round(seconds, 1),
        "searches": search["n"],
        "throughput_rps": round(search["n"] / seconds, 1),
        "search": search,
        "errors": recorder.errors(),
        "server_rss_mib": round(rss_mib(pid), 1),
    }
    if with_writer:
        row["write"] = recorder.summary("write")
        row["delete"] = recorder.summary("delete")
        row["acknowledged_then_not_found"] = len(lost)
        row["lost_examples"] = lost[:10]
    return row


async def run(args: argparse.Namespace, store: Path) -> dict[str, Any]:
    """Start the server on ``store``, warm it, run both phases, check the product count."""
    rng = random.Random(args.seed)
    base_count = Engine.open(store, create=False).store.count()
    rows = catalogue_rows()
    queries = query_pool(rows, rng, args.queries)
    server = start_server(store)
    try:
        await server.wait()
        async with http_client(server.port, args.searchers + 2) as client:
            warm = Recorder()
            for _, query in queries:  # every query vector cached before either phase
                await timed(warm, "warm", client, "GET", "/search", params={"q": query, "k": 10})
            await writer(client, warm, rows, "warm", time.perf_counter() + 1, rng, [])
            phases = [
                await phase(client, "read only", args, queries, rows, False, server.process.pid),
                await phase(client, "read + write", args, queries, rows, True, server.process.pid),
            ]
            final_count = (await client.get("/health")).json().get("products")
    finally:
        server.stop()
    alone, mixed = phases
    return {
        "phases": phases,
        "ratio_p50": round(mixed["search"]["p50_ms"] / alone["search"]["p50_ms"], 2),
        "ratio_p99": round(mixed["search"]["p99_ms"] / alone["search"]["p99_ms"], 2),
        "ratio_throughput": round(mixed["throughput_rps"] / alone["throughput_rps"], 2),
        "warm_up_errors": warm.errors(),
        "products_at_start": base_count,
        "products_at_end": final_count,
        "server_log": str(server.log),
    }


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = service_parser(__doc__, NAME)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds per phase.")
    parser.add_argument("--searchers", type=int, default=30)
    parser.add_argument("--queries", type=int, default=400, help="Distinct queries in the pool.")
    return parser.parse_args()


def main() -> None:
    """Build or reuse the base store, run both phases on a fresh copy, print and write the results."""
    args = parse_args()
    store = run_store(args.work, args.products, "read-write-run")
    results = asyncio.run(run(args, store))
    rows = []
    for row in results["phases"]:
        write = row.get("write", {})
        rows.append(
            [
                row["phase"],
                row["searches"],
                row["throughput_rps"],
                row["search"]["p50_ms"],
                row["search"]["p99_ms"],
                row["errors"],
                write.get("n"),
                write.get("p50_ms"),
                write.get("p99_ms"),
                row["server_rss_mib"],
            ]
        )
    print_table(
        f"read_write: {args.searchers} searchers, {args.duration:.0f} s per phase, "
        f"{results['products_at_start']} products",
        [
            "phase",
            "searches",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "writes",
            "write p50",
            "write p99",
            "rss MiB",
        ],
        rows,
    )
    print(
        f"\nwith the writer / without: p50 x{results['ratio_p50']}, p99 x{results['ratio_p99']}, "
        f"throughput x{results['ratio_throughput']}; products {results['products_at_start']} at the "
        f"start, {results['products_at_end']} at the end"
    )
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_results(args.results, params, results)


if __name__ == "__main__":
    main()
