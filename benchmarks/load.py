"""HTTP load on ``shopfuse serve`` over a store of 100k products: throughput, p50/p90/p99, errors.

The store: ``--real`` products of the shared fashion catalogue ingested for real (titles encoded by
the store's text encoder, photos by its image encoder), plus synthetic products up to
``--products``, written straight into the store as :class:`~shopfuse.store.base.Record` batches.
A synthetic product copies a real "donor" product's attributes (gender, category, type, season,
usage) with a random brand and often another colour; its title ("Roadster Men Navy Blue Slim
Fit Shirts") is built from the catalogue's own brands, colours and types. Its text vector is the
store's encoder applied to such a title (from a pool of ``--title-pool`` titles, encoded for real)
plus a little noise (cosine ~0.95 to it), its photo vector the donor's photo vector plus noise
(cosine ~0.9), both unit length: the vectors lie where real ones lie, not uniformly on the
sphere. One store per text encoder (``--encoders``), kept under ``--work`` and reused when
there.

The server: ``shopfuse serve`` as a subprocess on loopback (real uvicorn), waited on through
``/health`` and warmed up (matrix cache, BM25 index) before timing. The client, in this process,
is a small keep-alive HTTP/1.1 client on asyncio (cheaper per request than httpx, so less of the
2 cores goes to the load generator); every request's latency is measured from the moment it was
due until the whole answer was read, so queueing inside the server or the client counts.

Scenarios, each ``--duration`` seconds, per query mode (``--modes``) and encoder:

* ``closed, unique``: ``--clients`` connections, each sending its next query as soon as the last
  answer arrives (no think time). Queries are all different (``colour x type x gender x
  wording`` in English and Chinese, >10k of them) so no cache can help: the cold case.
* ``closed, zipf``: the same, queries drawn from ``--head`` frequent queries with Zipf(1)
  frequencies, as in real shop query logs: the repeating case, where a query-vector cache helps.
* ``open R/s``: requests due at a fixed offered rate (Poisson arrivals) over ``--clients``
  connections, unique queries. With a closed loop latency is ~ clients / throughput by
  construction; the open loop shows the latency a request sees at a given traffic.

Run::

    python benchmarks/load.py --work /tmp/shopfuse-load                 # build once, reuse later
    python benchmarks/load.py --work /tmp/shopfuse-load --duration 15 --encoders use-multilingual

Results: a table on stdout and ``benchmarks/results/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table, write_results

from shopfuse.config import AnnSettings, ComponentSpec, EngineConfig
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.engine import CONFIG_FILE, Engine
from shopfuse.store.base import Record, StoreManifest
from shopfuse.types import Product

NAME = "load"
IDLE_REOPEN_S = 4.0
"""A connection idle this long is reopened before use (uvicorn's keep-alive timeout is 5 s)."""
GENDER_WORDS = {"Men": "Men", "Women": "Women", "Boys": "Boys", "Girls": "Girls", "Unisex": "Unisex"}
STYLE_WORDS = ["", "", "", "Slim Fit ", "Printed ", "Solid ", "Striped ", "Classic ", "Casual ", "Sports "]
QUERY_SUFFIXES = ["", " for office", " casual", " cotton", " for summer", " on sale", " leather", " sports"]
QUERY_PREFIXES = {"": "", "men ": "男士", "women ": "女士", "kids ": "儿童"}
ZH_COLOURS = {
    "black": "黑色",
    "blue": "蓝色",
    "white": "白色",
    "grey": "灰色",
    "brown": "棕色",
    "red": "红色",
    "green": "绿色",
    "navy blue": "藏青色",
    "purple": "紫色",
    "pink": "粉色",
    "beige": "米色",
    "maroon": "栗色",
    "yellow": "黄色",
    "olive": "橄榄绿",
    "silver": "银色",
    "orange": "橙色",
    "cream": "奶油色",
    "gold": "金色",
    "khaki": "卡其色",
    "off white": "米白色",
}
ZH_TYPES = {
    "tshirts": "T恤",
    "shirts": "衬衫",
    "casual shoes": "休闲鞋",
    "tops": "上衣",
    "sports shoes": "运动鞋",
    "watches": "手表",
    "handbags": "手提包",
    "heels": "高跟鞋",
    "sunglasses": "太阳镜",
    "sweaters": "毛衣",
    "sandals": "凉鞋",
    "flip flops": "人字拖",
    "wallets": "钱包",
    "sweatshirts": "卫衣",
    "belts": "皮带",
    "trousers": "裤子",
    "formal shoes": "皮鞋",
    "socks": "袜子",
    "jeans": "牛仔裤",
    "jackets": "夹克",
    "flats": "平底鞋",
    "backpacks": "双肩包",
    "shorts": "短裤",
    "caps": "帽子",
    "track pants": "运动裤",
    "ties": "领带",
    "dresses": "连衣裙",
    "skirts": "裙子",
    "scarves": "围巾",
    "leggings": "打底裤",
}


# ----------------------------------------------------------------------------- the store


def write_real_subset(source: Path, target: Path, count: int) -> Path:
    """``count`` catalogue rows spread evenly over ``source``, media paths made absolute."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        data = list(reader)
    step = max(1, len(data) // count)
    image = header.index("image")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in data[::step][:count]:
            row[image] = str(source.parent / row[image])
            writer.writerow(row)
    return target


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def synthetic_titles(
    donors: list[dict[str, Any]],
    brands: Sequence[str],
    colours: Sequence[str],
    count: int,
    rng: random.Random,
) -> list[tuple[str, int, str]]:
    """``(title, donor index, colour)`` triples: a donor's gender and type, a brand, a colour."""
    titles = []
    for _ in range(count):
        d = rng.randrange(len(donors))
        attributes = donors[d]["attributes"]
        colour = attributes.get("baseColour") if rng.random() < 0.5 else rng.choice(colours)
        colour = colour or rng.choice(colours)
        gender = GENDER_WORDS.get(str(attributes.get("gender")), "Unisex")
        title = (
            f"{rng.choice(brands)} {gender} {colour} {rng.choice(STYLE_WORDS)}{attributes.get('articleType')}"
        )
        titles.append((title, d, colour))
    return titles


def ann_copy(exact: Path, kind: str) -> Path:
    """A copy of the exact store at ``exact`` whose manifest asks for a ``kind`` FAISS index.

    The rows are the same; only the search differs (built in memory by the server on first use).
    """
    target = exact.with_name(f"{exact.name}-ann-{kind}")
    if (target / CONFIG_FILE).is_file():
        return target
    shutil.copytree(exact, target)
    settings = AnnSettings.model_validate({"kind": kind})
    manifest = StoreManifest.load(target / "store.json")
    manifest.ann = settings
    manifest.save(target / "store.json")
    config = EngineConfig.load(target / CONFIG_FILE)
    config.ann = settings
    config.save(target / CONFIG_FILE)
    return target


def build_store(root: Path, encoder: str, products: int, real: int, title_pool: int, seed: int) -> Engine:
    """Open the store at ``root``, building it first when it holds fewer than ``products``."""
    if (root / CONFIG_FILE).is_file():
        engine = Engine.open(root, create=False)
        if engine.store.count() >= products:
            print(f"reusing {root}: {engine.store.count()} products")
            return engine
        shutil.rmtree(root)
    started = time.perf_counter()
    config = EngineConfig(text_encoder=ComponentSpec(name=encoder))
    engine = Engine.open(root, config)
    catalog = write_real_subset(
        find_data() / "fashion-products" / "metadata.csv", root.parent / f"real-{real}.csv", real
    )
    report = engine.ingest(catalog, FASHION_MAPPING, progress=False, learn="off")
    print(f"{encoder}: ingested {report.summary()}")
    store = engine.store
    text_ids, text_matrix = store.vectors("text")
    image_ids, image_matrix = store.vectors("image")
    text_row = {pid: i for i, pid in enumerate(text_ids)}
    image_row = {pid: i for i, pid in enumerate(image_ids)}
    donors = [row for row in store.get(text_ids) if row["id"] in image_row]
    brands = sorted({(row["title"] or "").split()[0] for row in donors if row["title"]})
    colours = [str(row["attributes"]["baseColour"]) for row in donors if row["attributes"].get("baseColour")]
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    pool = synthetic_titles(donors, brands, colours, title_pool, rng)
    pool_vectors = engine.text_encoder.encode_text([t for t, _, _ in pool], role="passage")
    dim_text, dim_image = text_matrix.shape[1], image_matrix.shape[1]
    text_sigma, image_sigma = math.sqrt(0.108 / dim_text), math.sqrt(0.235 / dim_image)  # cos ~.95, ~.9
    todo = products - store.count()
    batch = 5000
    for start in range(0, todo, batch):
        size = min(batch, todo - start)
        picks = nprng.integers(0, len(pool), size)
        texts = unit(pool_vectors[picks] + nprng.normal(0, text_sigma, (size, dim_text)))
        donor_rows = [image_row[donors[pool[p][1]]["id"]] for p in picks]
        images = unit(image_matrix[donor_rows] + nprng.normal(0, image_sigma, (size, dim_image)))
        records = []
        for i, p in enumerate(picks):
            title, d, colour = pool[p]
            donor = donors[d]
            pid = f"syn-{start + i:07d}"
            attributes = {**donor["attributes"], "baseColour": colour, "id": None}
            attributes.pop("id")
            product = Product(
                id=pid, title=title, images=tuple(donor.get("images") or ()), lang="en", attributes=attributes
            )
            digest = hashlib.sha256(f"synthetic|{pid}|{title}".encode()).hexdigest()
            records.append(Record(product, digest, {"text": texts[i], "image": images[i]}))
        store.upsert(records)
    store.optimize()
    del text_row
    print(f"{encoder}: built {store.count()} products in {time.perf_counter() - started:.0f}s")
    return engine


# ----------------------------------------------------------------------------- queries


def query_pools(engine: Engine, head: int, seed: int) -> tuple[list[str], list[str]]:
    """Unique queries (English and Chinese, shuffled) and the ``head`` frequent ones."""
    pairs: Counter[tuple[str, str]] = Counter()
    for row in engine.store.get(engine.store.vectors("text")[0][:20000]):
        attributes = row["attributes"]
        if attributes.get("baseColour") and attributes.get("articleType"):
            pairs[(str(attributes["baseColour"]).lower(), str(attributes["articleType"]).lower())] += 1
    english, chinese = [], []
    for (colour, kind), _ in pairs.most_common():
        for prefix, zh_prefix in QUERY_PREFIXES.items():
            for suffix in QUERY_SUFFIXES:
                english.append(f"{prefix}{colour} {kind}{suffix}")
            if colour in ZH_COLOURS and kind in ZH_TYPES:
                chinese.append(f"{zh_prefix}{ZH_COLOURS[colour]}{ZH_TYPES[kind]}")
                chinese.append(f"{zh_prefix}{ZH_TYPES[kind]} {ZH_COLOURS[colour]}")
    rng = random.Random(seed)
    frequent = [q for q in english if not q.endswith(tuple(QUERY_SUFFIXES[1:]))][: head * 3 // 4]
    frequent += chinese[: head - len(frequent)]
    unique = sorted(set(english) | set(chinese))
    rng.shuffle(unique)
    rng.shuffle(frequent)
    return unique, frequent


def zipf_stream(queries: Sequence[str], seed: int) -> Iterator[str]:
    """Endless draws from ``queries`` with Zipf(1) frequencies (rank r drawn with weight 1/r)."""
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(len(queries))]
    while True:
        yield from rng.choices(queries, weights=weights, k=1000)


def unique_stream(queries: Sequence[str]) -> Iterator[str]:
    """Each query once, then again from the start (reported as repeats)."""
    while True:
        yield from queries


# ----------------------------------------------------------------------------- the client


class Connection:
    """One keep-alive HTTP/1.1 connection: GET a path, read the whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def get(self, path: str) -> int:
        """The status code of ``GET path`` (0 on a broken connection, which is then reopened)."""
        if self.writer is not None and time.perf_counter() - self.used > IDLE_REOPEN_S:
            await self.close()  # uvicorn drops keep-alive connections idle for 5 s; browsers reopen too
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await self.reader.readexactly(length)
            self.used = time.perf_counter()
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            await self.close()
            return 0

    async def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass(slots=True)
class Outcome:
    """Latencies and statuses of one scenario."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Throughput, latency percentiles, errors, distinct queries."""
        ms = np.asarray(self.latencies) * 1000 if self.latencies else np.zeros(1)
        sent = sum(self.statuses.values())
        return {
            "requests": sent,
            "throughput_rps": round(sent / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p90_ms": round(float(np.percentile(ms, 90)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1),
            "errors": sent - self.statuses.get(200, 0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "distinct_queries": len(self.queries),
            "repeat_fraction": round(1 - len(self.queries) / sent, 3) if sent else 0.0,
        }


def search_path(query: str, mode: str) -> str:
    """The ``/search`` request line's path for ``query``."""
    return f"/search?{urllib.parse.urlencode({'q': query, 'mode': mode, 'k': 10})}"


async def closed_loop(
    host: str, port: int, clients: int, duration: float, mode: str, queries: Iterator[str]
) -> Outcome:
    """``clients`` connections, each sending its next request when the last one is answered."""
    outcome = Outcome()
    stop = time.perf_counter() + duration

    async def client() -> None:
        connection = Connection(host, port)
        while time.perf_counter() < stop:
            query = next(queries)
            started = time.perf_counter()
            status = await connection.get(search_path(query, mode))
            outcome.latencies.append(time.perf_counter() - started)
            outcome.statuses[status] += 1
            outcome.queries[query] += 1
        await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    outcome.seconds = time.perf_counter() - began
    return outcome


async def open_loop(
    host: str,
    port: int,
    clients: int,
    duration: float,
    mode: str,
    rate: float,
    queries: Iterator[str],
    seed: int,
) -> Outcome:
    """Requests due at Poisson times with mean ``rate``/s, each on a free one of ``clients``
    connections; latency counts from the due time, so waiting for a connection counts too."""
    outcome = Outcome()
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(clients):
        free.put_nowait(Connection(host, port))
    rng = random.Random(seed)
    tasks = []

    async def one(due: float, query: str) -> None:
        connection = await free.get()
        status = await connection.get(search_path(query, mode))
        outcome.latencies.append(time.perf_counter() - due)
        outcome.statuses[status] += 1
        outcome.queries[query] += 1
        free.put_nowait(connection)

    began = time.perf_counter()
    due = began
    while True:
        due += rng.expovariate(rate)
        if due - began > duration:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due, next(queries))))
    await asyncio.gather(*tasks)
    outcome.seconds = duration
    while not free.empty():
        await free.get_nowait().close()
    return outcome


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children so far (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    """``shopfuse serve`` in a subprocess on loopback."""

    def __init__(self, store: Path, workers: int, extra: Sequence[str] = ()) -> None:
        self.port = free_port()
        handle, name = tempfile.mkstemp(prefix="shopfuse-serve-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        command = [sys.executable, "-m", "shopfuse", "serve", "--store", str(store), "--port", str(self.port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([*command, *extra], stdout=out, stderr=subprocess.STDOUT, env=env)

    async def wait(self, timeout: float = 600.0) -> None:
        """Until ``/health`` answers 200."""
        deadline = time.perf_counter() + timeout
        connection = Connection("127.0.0.1", self.port)
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            if await connection.get("/health") == 200:
                await connection.close()
                return
            await asyncio.sleep(0.5)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def run_scenarios(args: argparse.Namespace, engine: Engine, encoder: str) -> list[dict[str, Any]]:
    """Every scenario of every mode against one freshly started server on ``engine``'s store."""
    unique, frequent = query_pools(engine, args.head, args.seed)
    rows: list[dict[str, Any]] = []
    for mode in args.modes:
        for scenario in args.scenarios:
            # a fresh server per scenario, so every one starts with a cold query cache
            server = Server(engine.path, args.workers)
            try:
                await server.wait()
                warm = Connection("127.0.0.1", server.port)
                for query in ["warm up", "黑色T恤", *frequent[:0]]:
                    await warm.get(search_path(query, mode))
                await warm.close()
                queries = iter(unique[(len(rows) * 997) % len(unique) :] + unique)
                cpu_before, wall_before = cpu_seconds(server.process.pid), time.perf_counter()
                if scenario == "closed-unique":
                    outcome = await closed_loop(
                        "127.0.0.1", server.port, args.clients, args.duration, mode, unique_stream(unique)
                    )
                elif scenario == "closed-zipf":
                    outcome = await closed_loop(
                        "127.0.0.1",
                        server.port,
                        args.clients,
                        args.duration,
                        mode,
                        zipf_stream(frequent, args.seed),
                    )
                else:
                    rate = float(scenario.removeprefix("open-"))
                    outcome = await open_loop(
                        "127.0.0.1", server.port, args.clients, args.duration, mode, rate, queries, args.seed
                    )
                cpu = cpu_seconds(server.process.pid) - cpu_before
                wall = time.perf_counter() - wall_before
            finally:
                server.stop()
            row = {
                "encoder": encoder,
                "mode": mode,
                "scenario": scenario,
                "workers": args.workers,
                **outcome.summary(),
                "server_cpu_cores_busy": round(cpu / wall, 2),
                "server_cpu_ms_per_request": round(1000 * cpu / max(1, len(outcome.latencies)), 2),
            }
            rows.append(row)
            print(
                f"  {encoder} {mode} {scenario}: {row['throughput_rps']} req/s, p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms, errors {row['errors']}, "
                f"server cores {row['server_cpu_cores_busy']}",
                flush=True,
            )
    return rows


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "shopfuse-load",
        help="Folder for the stores (reused when they are there).",
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=2000, help="Real catalogue products ingested for real.")
    parser.add_argument("--title-pool", type=int, default=20_000, help="Synthetic titles encoded for real.")
    parser.add_argument("--encoders", default="use-multilingual,multilingual-e5-small")
    parser.add_argument("--modes", default="vector,hybrid")
    parser.add_argument("--scenarios", default="closed-unique,closed-zipf,open-50,open-100")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--head", type=int, default=300, help="Frequent queries in the Zipf scenario.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--results", default=NAME, help="Name of the results file (benchmarks/results/NAME.json)."
    )
    parser.add_argument(
        "--ann", choices=["hnsw", "ivf"], help="Serve a copy of each store with this approximate index."
    )
    args = parser.parse_args()
    args.encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    return args


def main() -> None:
    """Build or reuse the stores, then load each one's server."""
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows: list[dict[str, Any]] = []
    for encoder in args.encoders:
        engine = build_store(
            args.work / encoder, encoder, args.products, args.real, args.title_pool, args.seed
        )
        if args.build_only:
            continue
        if args.ann:
            engine = Engine.open(ann_copy(engine.path, args.ann), create=False)
            encoder = f"{encoder}+{args.ann}"
        rows += asyncio.run(run_scenarios(args, engine, encoder))
    if args.build_only:
        return
    print_table(
        f"load: {args.clients} clients, {args.duration:.0f} s per scenario, {args.products} products, "
        f"{os.cpu_count()} CPUs shared by server and client",
        [
            "encoder",
            "mode",
            "scenario",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            "repeats",
            "srv cores",
        ],
        [
            [
                r["encoder"],
                r["mode"],
                r["scenario"],
                r["throughput_rps"],
                r["p50_ms"],
                r["p90_ms"],
                r["p99_ms"],
                r["errors"],
                r["repeat_fraction"],
                r["server_cpu_cores_busy"],
            ]
            for r in rows
        ],
    )
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_results(args.results, params, {"rows": rows, "cpu_count": os.cpu_count()})


if __name__ == "__main__":
    main()
