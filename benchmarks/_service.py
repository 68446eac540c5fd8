"""Helpers for the benchmarks that load a real ``shopfuse serve``: the store, the server, the traffic.

Not a benchmark itself (imported as ``_service`` by ``soak.py`` and ``read_write.py``, like
``_common``). The store holds ``products`` real rows of the shared fashion catalogue ingested with
the default encoders, built once under ``--work`` and copied fresh for every run, so that a run's
writes never leak into the next one. The server is :class:`load.Server` (``python -m shopfuse
serve`` on loopback) started with a write key and the catalogue's image folder as media root.
Requests go through one ``httpx.AsyncClient``; :class:`Recorder` keeps each request's kind,
status and latency (status 0: the connection failed or timed out).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import latency_ms
from load import ZH_COLOURS, ZH_TYPES, Server, write_real_subset

from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.engine import CONFIG_FILE, Engine

API_KEY = "bench-s3cret"
"""The write key the benchmark servers accept."""
ATTRIBUTES = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "usage")
"""The catalogue columns that are product attributes (file facts such as ``width`` are not)."""
REQUEST_TIMEOUT_S = 120.0
"""A request not answered within this counts as a connection error (status 0)."""


def catalogue_csv() -> Path:
    """The shared fashion catalogue."""
    return find_data() / "fashion-products" / "metadata.csv"


def media_root() -> Path:
    """The folder the catalogue's photos are in (the media root writes may name)."""
    return catalogue_csv().parent / "images"


def build_base_store(work: Path, products: int) -> Path:
    """``work/base-N``: ``products`` catalogue rows spread over the catalogue, ingested once and reused."""
    root = work / f"base-{products}"
    if (root / CONFIG_FILE).is_file() and Engine.open(root, create=False).store.count() >= products:
        print(f"reusing {root}")
        return root
    shutil.rmtree(root, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    catalog = write_real_subset(catalogue_csv(), work / f"real-{products}.csv", products)
    report = Engine.open(root).ingest(catalog, FASHION_MAPPING, progress=False, learn="off")
    print(f"built {root} in {time.perf_counter() - started:.0f} s: {report.summary()}")
    return root


def service_parser(doc: str | None, name: str) -> argparse.ArgumentParser:
    """The options every served-store benchmark takes: ``--work``, ``--products``, ``--seed``,
    ``--results``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "shopfuse-serve-bench",
        help="Stores (reused).",
    )
    parser.add_argument("--products", type=int, default=1000, help="Real catalogue products in the store.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--results", default=name, help="Name of the results file (benchmarks/results/NAME.json)."
    )
    return parser


def run_store(work: Path, products: int, run: str) -> Path:
    """A fresh copy, in ``work/run``, of the base store of ``products`` products (built once)."""
    return fresh_copy(build_base_store(work, products), work / run)


def fresh_copy(base: Path, target: Path) -> Path:
    """A copy of the base store at ``target`` (replacing an earlier run's copy)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    return target


def start_server(store: Path) -> Server:
    """``shopfuse serve`` over ``store`` with :data:`API_KEY` and the catalogue's images as media root."""
    return Server(store, 1, ["--api-key", API_KEY, "--media-root", str(media_root())])


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` now, in MiB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def catalogue_rows() -> list[dict[str, str]]:
    """Every catalogue row, its image made an absolute path."""
    source = catalogue_csv()
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["image"] = str(source.parent / row["image"])
    return rows


def posted_product(product_id: str, row: dict[str, str], title: str | None = None) -> dict[str, Any]:
    """A product for ``POST /products``: a catalogue row's title, photo and attributes under a new id."""
    product: dict[str, Any] = {"id": product_id, "title": title or row["productDisplayName"]}
    product["image"] = row["image"]
    product.update({name: row[name] for name in ATTRIBUTES if row.get(name)})
    return product


def query_pool(rows: list[dict[str, str]], rng: random.Random, size: int = 400) -> list[tuple[str, str]]:
    """``(language, query)`` pairs: English "colour type for gender" and Chinese colour+type queries."""
    english = sorted(
        {
            f"{r['baseColour']} {r['articleType']} for {r['gender']}".lower()
            for r in rows
            if r.get("baseColour") and r.get("articleType") and r.get("gender")
        }
    )
    chinese = [f"{colour}{kind}" for colour in ZH_COLOURS.values() for kind in ZH_TYPES.values()]
    pool = [("en", q) for q in rng.sample(english, min(size // 2, len(english)))]
    pool += [("zh", q) for q in rng.sample(chinese, min(size - len(pool), len(chinese)))]
    rng.shuffle(pool)
    return pool


@dataclass(slots=True)
class Recorder:
    """Latency and status of every request, by kind."""

    seconds: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    """Why requests got no answer, by kind: the client's exception and its message."""

    def add(self, kind: str, status: int, seconds: float) -> None:
        """Record one answer (status 0: no answer)."""
        self.seconds[kind].append(seconds)
        self.statuses[kind][status] += 1

    def summary(self, kind: str) -> dict[str, Any]:
        """Count, p50/p99/mean latency, 5xx answers, failed connections and statuses of ``kind``."""
        statuses = self.statuses[kind]
        return {
            **latency_ms(self.seconds[kind] or [0.0]),
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "connection_errors": statuses.get(0, 0),
            "statuses": {str(s): n for s, n in sorted(statuses.items())},
            "failures": dict(self.failures[kind].most_common(5)),
        }

    def errors(self) -> int:
        """5xx answers and failed connections over all kinds."""
        return sum(n for counts in self.statuses.values() for s, n in counts.items() if s >= 500 or s == 0)


async def timed(
    recorder: Recorder, kind: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    """Send one request, record it under ``kind``, and return the answer (None when there was none)."""
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except (httpx.HTTPError, OSError) as exc:
        recorder.add(kind, 0, time.perf_counter() - started)
        recorder.failures[kind][f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
        return None
    recorder.add(kind, response.status_code, time.perf_counter() - started)
    return response


def http_client(port: int, connections: int) -> httpx.AsyncClient:
    """A keep-alive client for the loopback server on ``port``."""
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=REQUEST_TIMEOUT_S,
        # idle connections expire before uvicorn's 5 s keep-alive does: with both at 5 s a request
        # could go out on a connection the server was closing (an httpx ReadError, not a server error)
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0
        ),
    )
