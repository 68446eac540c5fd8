"""Serving replicas behind a round-robin proxy: text-search throughput and p50/p99 with 1 and 2
read-only replicas, and how long a write takes to reach every replica.

Processes (all on loopback): one writer (``shopfuse serve --api-key K``), N replicas
(``shopfuse serve --writer URL --reload-interval R``) over the same Lance store folder, the
round-robin proxy of ``_proxy.py`` in this process, and a closed-loop load of ``--clients``
keep-alive connections (``load.closed_loop``) sending vector-mode text searches drawn from real
catalogue attribute combinations (English and Chinese) through the proxy for ``--duration`` s.

Propagation: after the load, the writer gets ``--writes`` new products one at a time (a real
catalogue row under a new id and an unusual title); from the writer's acknowledgement, every
replica is polled directly (every 20 ms) with the product's title until it is in the hits. The
time is bounded below by the reload interval (a replica checks the store version every R s)
plus the reload of the in-memory snapshots.

On this 2-core box the replicas, the writer, the proxy and the load generator share the same two
cores, and they bound the result: one ``serve`` process keeps about one core busy (Python's GIL,
one BLAS thread per request; ``replica_cores_busy``), so a second replica process can use the
other core, and a third could add nothing here. On hosts with their own cores each replica adds
its own throughput.

    python benchmarks/replicas.py                       # 1000 products, 8 clients, 20 s per scenario
    python benchmarks/replicas.py --duration 10 --clients 4 --writes 3

Results: a table on stdout and ``benchmarks/results/replicas.json``.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
from _common import latency_ms, print_table, write_results
from _proxy import RoundRobinProxy
from _service import API_KEY, catalogue_rows, posted_product, query_pool, run_store, service_parser
from load import Server, closed_loop, cpu_seconds

WRITE_TITLE = "Replica probe {n} vermilion houndstooth umbrella"


async def propagation(
    writer: Server, replicas: list[Server], rows: list[dict[str, str]], n: int
) -> dict[str, Any]:
    """Seconds from the writer's acknowledgement until each replica (and all of them) find the product.

    The first write is reported apart (``first_write_s``): on a store made by an older shopfuse it
    also upgrades ``store.json`` / ``engine.json``, a schema change the replicas follow by opening
    a new engine (encoders included), which is not the steady state measured by the others.
    """
    per_replica: list[list[float]] = [[] for _ in replicas]
    everyone: list[float] = []
    first = 0.0
    async with httpx.AsyncClient(timeout=120) as client:
        for i in range(n + 1):
            title = WRITE_TITLE.format(n=i)
            product = posted_product(f"replica-probe-{i}", rows[i * 7], title)
            answer = await client.post(
                f"http://127.0.0.1:{writer.port}/products", json=[product], headers={"X-API-Key": API_KEY}
            )
            answer.raise_for_status()
            acknowledged = time.perf_counter()
            seen: list[float | None] = [None] * len(replicas)
            while any(s is None for s in seen):
                if time.perf_counter() - acknowledged > 120:
                    raise RuntimeError(f"a replica did not show {product['id']} within 120 s")
                for r, replica in enumerate(replicas):
                    if seen[r] is None:
                        found = await client.get(
                            f"http://127.0.0.1:{replica.port}/search", params={"q": title, "k": 3}
                        )
                        if product["id"] in [h["id"] for h in found.json()["hits"]]:
                            seen[r] = time.perf_counter() - acknowledged
                await asyncio.sleep(0.02)
            if i == 0:
                first = max(s for s in seen if s is not None)
                continue
            for r, seconds in enumerate(seen):
                assert seconds is not None
                per_replica[r].append(seconds)
            everyone.append(max(s for s in seen if s is not None))
    return {
        "writes": n,
        "first_write_s": round(first, 3),
        "all_replicas_s": _seconds(everyone),
        "per_replica_s": [_seconds(s) for s in per_replica],
    }


def _seconds(values: list[float]) -> dict[str, float]:
    stats = latency_ms(values)
    return {
        "p50": round(stats["p50_ms"] / 1000, 3),
        "max": round(max(values), 3),
        "mean": round(stats["mean_ms"] / 1000, 3),
    }


async def scenario(
    args: Any, replicas_wanted: int, queries: list[str], rows: list[dict[str, str]]
) -> dict[str, Any]:
    """Writer and ``replicas_wanted`` replicas over a fresh store copy: load via the proxy, then writes."""
    store = run_store(args.work, args.products, f"replicas-{replicas_wanted}")
    writer = Server(store, 1, ["--api-key", API_KEY, "--media-root", str(args.media_root)])
    servers = [writer]
    try:
        await writer.wait()
        url = f"http://127.0.0.1:{writer.port}"
        extra = ["--api-key", API_KEY, "--writer", url, "--reload-interval", str(args.reload_interval)]
        replicas = [Server(store, 1, extra) for _ in range(replicas_wanted)]
        servers += replicas
        for replica in replicas:
            await replica.wait()
        proxy = RoundRobinProxy([f"127.0.0.1:{r.port}" for r in replicas])
        port = await proxy.start()
        stream = iter(random.Random(args.seed).choices(queries, k=1_000_000))
        await closed_loop("127.0.0.1", port, args.clients, args.warmup, "vector", stream)
        cpu_before = [cpu_seconds(r.process.pid) for r in replicas]
        outcome = await closed_loop("127.0.0.1", port, args.clients, args.duration, "vector", stream)
        cpu = [round(cpu_seconds(r.process.pid) - b, 1) for r, b in zip(replicas, cpu_before, strict=True)]
        busy = round(sum(cpu) / outcome.seconds, 2) if outcome.seconds else 0.0
        forwarded = list(proxy.forwarded)
        await proxy.close()
        result = {
            "replicas": replicas_wanted,
            **outcome.summary(),
            "forwarded_per_replica": forwarded,
            "replica_cpu_s": cpu,
            "replica_cores_busy": busy,
            "propagation": await propagation(writer, replicas, rows, args.writes),
        }
        return result
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = service_parser(__doc__, "replicas")
    parser.add_argument("--clients", type=int, default=8, help="Keep-alive client connections.")
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds of measured load per scenario.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds of unmeasured load first.")
    parser.add_argument("--writes", type=int, default=5, help="Writes timed until every replica shows them.")
    parser.add_argument("--reload-interval", type=float, default=1.0, help="The replicas' --reload-interval.")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2], help="Replica counts to run.")
    args = parser.parse_args()
    from _service import media_root

    args.media_root = media_root()
    rows = catalogue_rows()
    queries = [q for _, q in query_pool(rows, random.Random(args.seed))]
    results = [asyncio.run(scenario(args, n, queries, rows)) for n in args.replicas]
    print_table(
        f"text search through a round-robin proxy: {args.products} products, {args.clients} clients, "
        f"{args.duration:.0f} s; write -> every replica (reload interval {args.reload_interval} s)",
        ["replicas", "rps", "p50 ms", "p99 ms", "errors", "1st write s", "write->all p50 s", "max s"],
        [
            [
                r["replicas"],
                r["throughput_rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                r["propagation"]["first_write_s"],
                r["propagation"]["all_replicas_s"]["p50"],
                r["propagation"]["all_replicas_s"]["max"],
            ]
            for r in results
        ],
    )
    params = {k: (str(v) if hasattr(v, "as_posix") else v) for k, v in vars(args).items()}
    params["cores_note"] = (
        "2 CPU cores run the writer, every replica, the proxy and the load generator and bound the "
        "result: one serve process keeps about one core busy, a second uses the other core, a third "
        "could add nothing here"
    )
    write_results(args.results, params, {"scenarios": results})


if __name__ == "__main__":
    main()
