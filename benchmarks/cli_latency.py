"""How fast the command line answers: a cold ``shopfuse search --store`` against ``--server``.

Every run is a fresh process, timed from start to exit (the whole table printed), with its own
peak resident memory (``os.wait4``):

- ``local``: ``shopfuse search "red dress" --store S``, which loads the encoders and opens the store;
- ``server``: ``shopfuse search --server URL "red dress"`` against a ``shopfuse serve --store S``
  started by this script (timed until ``/health`` answers), which holds the encoders and vectors;
- ``help``: ``shopfuse --help``.

Each is run once untimed (disk cache, the server's first query), then ``--runs`` times; the table
gives the median. One more ``--json`` run of each path checks that both return the same ids in the
same order. The store holds the first ``--limit`` rows of the shared fashion catalogue (default
encoders), built under ``--store`` on the first run and reused.

    python benchmarks/cli_latency.py                      # 500 products in /tmp/cli-bench-store
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from _common import print_table, write_results

from shopfuse.demo import find_data

QUERY = "red dress"


def shopfuse_command() -> list[str]:
    """The installed ``shopfuse`` script next to this Python, else ``python -m shopfuse``."""
    script = Path(sys.executable).with_name("shopfuse")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "shopfuse"]


def run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one ``shopfuse`` process; failure stops the script."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("SHOPFUSE_SERVER", None)
    env.pop("SHOPFUSE_STORE", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([*shopfuse_command(), *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            reason = err.read().decode()
            raise SystemExit(f"shopfuse {' '.join(args)} failed ({process.returncode}): {reason}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def timed(name: str, args: list[str], runs: int) -> dict[str, Any]:
    """One untimed warm-up run, then ``runs`` timed ones: median and every run."""
    warm_up, _, _ = run(args)
    results = [run(args) for _ in range(runs)]
    seconds = [r[0] for r in results]
    rss = [r[1] for r in results]
    row = {
        "command": shlex.join(["shopfuse", *args]),
        "warm_up_s": round(warm_up, 3),
        "median_s": round(median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "peak_rss_mib": round(max(rss), 1),
    }
    print(f"{name}: median {row['median_s']} s, peak RSS {row['peak_rss_mib']} MiB")
    return row


def build_store(store: Path, limit: int) -> float | None:
    """The store of the first ``limit`` catalogue rows, built unless already there; seconds taken."""
    if (store / "engine.json").is_file():
        print(f"reusing {store}")
        return None
    shutil.rmtree(store, ignore_errors=True)
    csv = find_data() / "fashion-products" / "metadata.csv"
    args = ["ingest", str(csv), "--limit", str(limit), "--store", str(store)]
    args += ["--field", "title=productDisplayName", "--no-progress"]
    helptext = subprocess.run([*shopfuse_command(), "ingest", "--help"], capture_output=True, text=True)
    if "--learn" in helptext.stdout:
        args += ["--learn", "off"]
    started = time.perf_counter()
    run(args)
    seconds = time.perf_counter() - started
    print(f"built {store} ({limit} products) in {seconds:.0f} s")
    return round(seconds, 1)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``shopfuse serve --store S`` on loopback, timed until ``/health`` answers."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [*shopfuse_command(), "serve", "--store", str(store), "--port", str(self.port)]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait(self, timeout: float = 600.0) -> float:
        """Seconds from start until ``/health`` answered 200."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"the server exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("the server did not start")

    def rss_mib(self) -> float | None:
        """The server's peak resident memory so far (``VmHWM``)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def ids(output: str) -> list[str]:
    """The hit ids of a ``--json`` answer."""
    return [hit["id"] for hit in json.loads(output)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=Path("/tmp/cli-bench-store"), help="Store (reused).")
    parser.add_argument("--limit", type=int, default=500, help="Catalogue rows in the store.")
    parser.add_argument("--runs", type=int, default=5, help="Timed runs of each command.")
    parser.add_argument("--results", default="cli_latency", help="benchmarks/results/NAME.json")
    args = parser.parse_args()

    build_seconds = build_store(args.store, args.limit)
    store = str(args.store)
    rows: dict[str, dict[str, Any]] = {}
    rows["help"] = timed("help", ["--help"], args.runs)
    rows["local"] = timed("local", ["search", QUERY, "--store", store], args.runs)
    server = Server(args.store)
    try:
        start_s = server.wait()
        print(f"server up in {start_s:.1f} s on {server.url}")
        rows["server"] = timed("server", ["search", "--server", server.url, QUERY], args.runs)
        local_ids = ids(run(["search", QUERY, "--store", store, "--json"])[2])
        server_ids = ids(run(["search", "--server", server.url, QUERY, "--json"])[2])
        server_rss = server.rss_mib()
    finally:
        server.stop()

    speedup = rows["local"]["median_s"] / rows["server"]["median_s"]
    print_table(
        f'shopfuse search "{QUERY}" ({args.limit} products), {args.runs} runs each',
        ["command", "median s", "min s", "max s", "peak RSS MiB"],
        [
            [rows[name][key] for key in ("command", "median_s", "min_s", "max_s", "peak_rss_mib")]
            for name in ("local", "server", "help")
        ],
    )
    print(f"\nthrough the server {speedup:.1f}x faster; server start {start_s:.1f} s, RSS {server_rss} MiB")
    print(f"same ids in the same order: {local_ids == server_ids} ({len(local_ids)} hits)")
    write_results(
        args.results,
        {"store": store, "products": args.limit, "query": QUERY, "runs": args.runs},
        {
            **rows,
            "server_start_s": round(start_s, 2),
            "server_peak_rss_mib": server_rss,
            "speedup_median": round(speedup, 1),
            "same_ids": local_ids == server_ids,
            "hits": len(local_ids),
            "store_build_s": build_seconds,
        },
    )


if __name__ == "__main__":
    main()
