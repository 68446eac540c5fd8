"""Soak: a real ``shopfuse serve`` under a long, mixed, bounded load: errors, latency, memory, lost writes.

The store: ``--products`` real fashion products (default 1,000) ingested with the default encoders,
built once under ``--work`` and copied fresh for every run. The server: ``python -m shopfuse
serve`` on 127.0.0.1 with a write key and the catalogue's photo folder as media root.

For ``--duration`` seconds (default 300) these clients run at once, each in a closed loop with
``--think-ms`` between requests and at most ``--max-requests`` requests:

* searchers: text queries in English and Chinese, with filters, with facets and a sort, hybrid
  (words + meaning), and photo uploads;
* readers: product pages, similar products, photo thumbnails, ``/info``;
* writers: ``POST /products`` with the key (new products and updates of their own earlier ones)
  and ``DELETE``; each writer owns its ids, so the final state of every id is known, and reads
  each new product back at once (read-your-writes);
* one bad client: malformed filters, filters that try to escape, ``k`` and ``offset`` too big,
  oversize and corrupt uploads, wrong or missing keys, unknown attributes, unknown paths.

Recorded: every request's latency and status by kind (p50/p99; 5xx and failed connections are
errors, and a bad request that is accepted is counted apart), the server's RSS every
``--sample-every`` seconds (``/proc/PID/status``), and at the end every acknowledged write is
checked: each product the server said it stored reads back with its last acknowledged title,
each one it said it deleted is gone, and ``/health`` counts the base products plus the live ones.

Run::

    python benchmarks/soak.py --work /tmp/shopfuse-serve-bench                 # builds the store once, 300 s
    python benchmarks/soak.py --work /tmp/shopfuse-serve-bench --duration 60   # a short run

Results: a table on stdout and ``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import dataclass, field
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

NAME = "soak"
KEY = {"X-API-Key": API_KEY}
OVERSIZE_BYTES = 11_000_000
"""An upload over the server's default 10 MB photo limit."""
FILTERS = [
    "gender = 'Women'",
    "articleType = 'Tshirts'",
    "baseColour IN ('Black', 'Blue') AND gender = 'Men'",
    "season = 'Summer' AND usage = 'Casual'",
]
"""Valid filters the searchers use."""


@dataclass(slots=True)
class Acknowledged:
    """What the server acknowledged to the writers: the live products and their last titles, the
    deleted ones, and those whose write got no answer (their state is unknown, so not checked)."""

    live: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    unseen: list[str] = field(default_factory=list)
    """Acknowledged new products that a read right after the acknowledgement did not find."""
    delete_not_found: list[str] = field(default_factory=list)
    """Acknowledged live products whose delete answered 404."""


@dataclass(slots=True)
class Soak:
    """Everything the clients share."""

    client: httpx.AsyncClient
    recorder: Recorder
    stop: float
    max_requests: int
    think: float
    rows: list[dict[str, str]]
    stored_ids: list[str]
    photos: list[bytes]
    queries: list[tuple[str, str]]
    acknowledged: Acknowledged = field(default_factory=Acknowledged)
    bad_accepted: dict[str, int] = field(default_factory=dict)

    def running(self, sent: int) -> bool:
        """Whether a client that sent ``sent`` requests goes on."""
        return time.perf_counter() < self.stop and sent < self.max_requests

    async def pause(self) -> None:
        """The think time between two requests of one client."""
        if self.think > 0:
            await asyncio.sleep(self.think)


async def searcher(soak: Soak, rng: random.Random) -> None:
    """Text (en, zh, filtered, faceted, hybrid) and photo searches."""
    sent = 0
    while soak.running(sent):
        language, query = rng.choice(soak.queries)
        kind = rng.choices(["text", "filtered", "facets", "hybrid", "image"], weights=[4, 2, 1, 1, 1])[0]
        if kind == "image":
            photo = rng.choice(soak.photos)
            files = {"file": ("photo.jpg", photo, "image/jpeg")}
            await timed(soak.recorder, "search_image", soak.client, "POST", "/search/image", files=files)
        else:
            params: dict[str, Any] = {"q": query, "k": 10}
            if kind == "filtered":
                params["where"] = rng.choice(FILTERS)
            elif kind == "facets":
                params |= {"facets": "gender,articleType", "sort": "season", "order": "desc"}
            elif kind == "hybrid":
                params["mode"] = "hybrid"
            name = f"search_{language}" if kind == "text" else f"search_{kind}"
            await timed(soak.recorder, name, soak.client, "GET", "/search", params=params)
        sent += 1
        await soak.pause()


async def reader(soak: Soak, rng: random.Random) -> None:
    """Product pages, similar products, thumbnails and ``/info``."""
    sent = 0
    while soak.running(sent):
        product = rng.choice(soak.stored_ids)
        kind = rng.choices(["product", "similar", "thumbnail", "info"], weights=[4, 2, 2, 1])[0]
        url = {
            "product": f"/products/{product}",
            "similar": f"/products/{product}/similar?k=5",
            "thumbnail": f"/products/{product}/images/0?size=128",
            "info": "/info",
        }[kind]
        await timed(soak.recorder, kind, soak.client, "GET", url)
        sent += 1
        await soak.pause()


async def writer(soak: Soak, index: int, rng: random.Random) -> None:
    """New products, updates of its own live ones, and deletes; each acknowledgement is noted."""
    sent = 0
    acknowledged = soak.acknowledged
    mine: list[str] = []
    while soak.running(sent):
        live = [pid for pid in mine if pid in acknowledged.live]
        action = rng.choices(["new", "update", "delete"], weights=[5, 3, 2])[0] if live else "new"
        if action == "delete":
            product_id = rng.choice(live)
            answer = await timed(
                soak.recorder, "delete", soak.client, "DELETE", f"/products/{product_id}", headers=KEY
            )
            if answer is None or answer.status_code >= 500:
                acknowledged.unknown.add(product_id)
            elif answer.status_code == 200 and answer.json().get("deleted") == 1:
                del acknowledged.live[product_id]
                acknowledged.deleted.add(product_id)
            elif answer.status_code == 404:
                acknowledged.delete_not_found.append(product_id)
        else:
            product_id = f"soak-{index}-{sent}" if action == "new" else rng.choice(live)
            row = rng.choice(soak.rows)
            title = f"{row['productDisplayName']} {action} {sent}"
            body = [posted_product(product_id, row, title)]
            answer = await timed(
                soak.recorder, f"write_{action}", soak.client, "POST", "/products", json=body, headers=KEY
            )
            if answer is None or answer.status_code >= 500:
                acknowledged.unknown.add(product_id)
            elif answer.status_code == 200 and answer.json().get("added", 0) + answer.json().get(
                "updated", 0
            ):
                acknowledged.live[product_id] = title
                acknowledged.deleted.discard(product_id)
                if action == "new":
                    mine.append(product_id)
                    url = f"/products/{product_id}"
                    seen = await timed(soak.recorder, "read_own_write", soak.client, "GET", url)
                    if seen is not None and seen.status_code == 404:
                        acknowledged.unseen.append(product_id)
        sent += 1
        await soak.pause()


def bad_requests(photo: bytes, row: dict[str, str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(label, method, url, request options)`` of requests the server must refuse with a 4xx."""
    oversize = photo + b"\0" * OVERSIZE_BYTES
    corrupt = b"\xff\xd8 not a jpeg"
    json_type = {**KEY, "Content-Type": "application/json"}
    return [
        ("bad_filter", "GET", "/search", {"params": {"q": "shoes", "where": "no_such_field = 1"}}),
        ("escaping_filter", "GET", "/search", {"params": {"q": "shoes", "where": "1=1) OR (1=1"}}),
        ("big_k", "GET", "/search", {"params": {"q": "shoes", "k": 1000}}),
        ("big_offset", "GET", "/search", {"params": {"q": "shoes", "offset": 1_000_000_000}}),
        ("oversize_upload", "POST", "/search/image", {"files": {"file": ("b.jpg", oversize, "image/jpeg")}}),
        ("corrupt_upload", "POST", "/search/image", {"files": {"file": ("c.jpg", corrupt, "image/jpeg")}}),
        (
            "wrong_key",
            "POST",
            "/products",
            {"json": [posted_product("bad", row)], "headers": {"X-API-Key": "x"}},
        ),
        ("missing_key", "DELETE", f"/products/{row['id']}", {}),
        ("unknown_attribute", "POST", "/products", {"json": [{"id": "bad", "nope": 1}], "headers": KEY}),
        ("malformed_json", "POST", "/products", {"content": b"[{", "headers": json_type}),
    ]


async def bad_client(soak: Soak, rng: random.Random) -> None:
    """Requests that must be refused, and unknown paths; a 2xx among them is noted as ``bad_accepted``."""
    requests = bad_requests(soak.photos[0], rng.choice(soak.rows))
    sent = 0
    options: dict[str, Any]
    while soak.running(sent):
        if rng.random() < 1 / (len(requests) + 1):
            label, method, url, options = "unknown_path", "GET", f"/no/such/{rng.getrandbits(48):012x}", {}
        else:
            label, method, url, options = rng.choice(requests)
        answer = await timed(soak.recorder, label, soak.client, method, url, **options)
        if answer is not None and answer.status_code < 400:
            soak.bad_accepted[label] = soak.bad_accepted.get(label, 0) + 1
        sent += 1
        await soak.pause()


async def sample_memory(
    pid: int, every: float, stop: float, began: float, samples: list[list[float]]
) -> None:
    """``[seconds since start, server RSS MiB]`` every ``every`` seconds until ``stop``."""
    while time.perf_counter() < stop:
        samples.append([round(time.perf_counter() - began, 1), round(rss_mib(pid), 1)])
        await asyncio.sleep(min(every, max(0.0, stop - time.perf_counter())) or 0.01)


async def verify(soak: Soak, base_count: int) -> dict[str, Any]:
    """Read back every acknowledged write: live ones with their titles, deleted ones gone, the count."""
    acknowledged = soak.acknowledged
    missing, stale, resurrected = [], [], []
    for product_id, title in sorted(acknowledged.live.items()):
        if product_id in acknowledged.unknown:
            continue
        answer = await soak.client.get(f"/products/{product_id}")
        if answer.status_code != 200:
            missing.append(product_id)
        elif answer.json().get("title") != title:
            stale.append(product_id)
    for product_id in sorted(acknowledged.deleted - acknowledged.unknown):
        if (await soak.client.get(f"/products/{product_id}")).status_code != 404:
            resurrected.append(product_id)
    health = (await soak.client.get("/health")).json()
    expected = base_count + len(acknowledged.live)
    return {
        "acknowledged_live": len(acknowledged.live),
        "acknowledged_deleted": len(acknowledged.deleted),
        "unknown_state": len(acknowledged.unknown),
        "not_found_right_after_ack": len(acknowledged.unseen),
        "delete_of_live_not_found": len(acknowledged.delete_not_found),
        "examples_not_found": (acknowledged.unseen + acknowledged.delete_not_found)[:20],
        "missing": missing[:50],
        "stale_title": stale[:50],
        "resurrected": resurrected[:50],
        "products_counted": health.get("products"),
        "products_expected": expected if not acknowledged.unknown else None,
        "ok": not (missing or stale or resurrected or acknowledged.unseen or acknowledged.delete_not_found)
        and (bool(acknowledged.unknown) or health.get("products") == expected),
    }


async def run(args: argparse.Namespace, store: Path) -> dict[str, Any]:
    """Start the server on ``store``, warm it, run the clients, sample memory, verify the writes."""
    rng = random.Random(args.seed)
    engine = Engine.open(store, create=False)
    stored_ids = sorted(engine.store.hashes())
    base_count = len(stored_ids)
    stored = set(stored_ids)
    rows = [r for r in catalogue_rows() if r["id"] not in stored]
    photos = [Path(r["image"]).read_bytes() for r in rng.sample(rows, 40)]
    clients = args.searchers + args.readers + args.writers + args.bad_clients
    server = start_server(store)
    try:
        await server.wait()
        async with http_client(server.port, clients + 2) as client:
            warm = Recorder()
            for query in ("warm up", "黑色T恤"):
                await timed(warm, "warm", client, "GET", "/search", params={"q": query})
            files = {"file": ("p.jpg", photos[0], "image/jpeg")}
            await timed(warm, "warm", client, "POST", "/search/image", files=files)
            began = time.perf_counter()
            soak = Soak(
                client=client,
                recorder=Recorder(),
                stop=began + args.duration,
                max_requests=args.max_requests,
                think=args.think_ms / 1000,
                rows=rows,
                stored_ids=stored_ids,
                photos=photos,
                queries=query_pool(rows, rng),
            )
            samples: list[list[float]] = []
            tasks = [sample_memory(server.process.pid, args.sample_every, soak.stop, began, samples)]
            tasks += [searcher(soak, random.Random(rng.random())) for _ in range(args.searchers)]
            tasks += [reader(soak, random.Random(rng.random())) for _ in range(args.readers)]
            tasks += [writer(soak, i, random.Random(rng.random())) for i in range(args.writers)]
            tasks += [bad_client(soak, random.Random(rng.random())) for _ in range(args.bad_clients)]
            await asyncio.gather(*tasks)
            seconds = time.perf_counter() - began
            samples.append([round(seconds, 1), round(rss_mib(server.process.pid), 1)])
            checked = await verify(soak, base_count)
            metrics_bytes = len((await client.get("/metrics")).content)
    finally:
        server.stop()
    recorder = soak.recorder
    kinds = sorted(recorder.seconds)
    rss = [s[1] for s in samples]
    return {
        "seconds": round(seconds, 1),
        "base_products": base_count,
        "requests": sum(len(v) for v in recorder.seconds.values()),
        "errors": recorder.errors(),
        "bad_accepted": soak.bad_accepted,
        "kinds": {kind: recorder.summary(kind) for kind in kinds},
        "memory": {
            "rss_start_mib": rss[0],
            "rss_end_mib": rss[-1],
            "rss_max_mib": max(rss),
            "growth_mib": round(rss[-1] - rss[0], 1),
            "samples": samples,
        },
        "metrics_bytes_at_end": metrics_bytes,
        "writes": checked,
        "server_log": str(server.log),
    }


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = service_parser(__doc__, NAME)
    parser.add_argument("--duration", type=float, default=300.0, help="Seconds of load.")
    parser.add_argument("--searchers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--bad-clients", type=int, default=1)
    parser.add_argument("--think-ms", type=float, default=20.0, help="Pause between a client's requests.")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Most requests per client.")
    parser.add_argument("--sample-every", type=float, default=5.0, help="Seconds between RSS samples.")
    return parser.parse_args()


def main() -> None:
    """Build or reuse the base store, soak a fresh copy of it, print and write the results."""
    args = parse_args()
    store = run_store(args.work, args.products, "soak-run")
    results = asyncio.run(run(args, store))
    print_table(
        f"soak: {results['seconds']:.0f} s, {results['requests']} requests, "
        f"{results['base_products']} products at the start",
        ["kind", "n", "p50 ms", "p99 ms", "5xx", "conn err", "statuses"],
        [
            [
                kind,
                row["n"],
                row["p50_ms"],
                row["p99_ms"],
                row["server_errors"],
                row["connection_errors"],
                " ".join(f"{s}:{n}" for s, n in row["statuses"].items()),
            ]
            for kind, row in results["kinds"].items()
        ],
    )
    memory, writes = results["memory"], results["writes"]
    print(
        f"\nerrors (5xx + failed connections): {results['errors']}; bad requests accepted: "
        f"{results['bad_accepted'] or 0}\nserver RSS: start {memory['rss_start_mib']} MiB, end "
        f"{memory['rss_end_mib']} MiB, max {memory['rss_max_mib']} MiB ({len(memory['samples'])} samples); "
        f"/metrics {results['metrics_bytes_at_end']} bytes at the end\nwrites: {writes['acknowledged_live']} "
        f"live and {writes['acknowledged_deleted']} deleted acknowledged, {writes['unknown_state']} unknown; "
        f"missing {len(writes['missing'])}, stale {len(writes['stale_title'])}, resurrected "
        f"{len(writes['resurrected'])}; not found right after the acknowledgement "
        f"{writes['not_found_right_after_ack']}, live but delete said 404 "
        f"{writes['delete_of_live_not_found']}; products {writes['products_counted']} (expected "
        f"{writes['products_expected']}): {'OK' if writes['ok'] else 'FAILED'}"
    )
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_results(args.results, params, results)


if __name__ == "__main__":
    main()
