"""Latency of ``POST /creative/choose`` (and ``/creative/feedback``) over real HTTP.

The creative router is served by uvicorn in a thread of this process (like the tests' ``serving``)
over the 46 items of the Open Bandit women's campaign; one keep-alive ``httpx.Client`` sends
sequential requests with a real context row of the Open Bandit random log (its 4 hashed user
features and 46 user-item affinities). Policies: ``uniform``, and Thompson sampling per
``user_feature_0`` fitted on the Bernoulli-TS log when :mod:`shopfuse.creative.bandits` is there.
Every chosen impression gets its feedback (the log's click), so the feedback latency includes the
appended log row and the online update. Client and server share this process (and its GIL): the
figures include both sides.

    python benchmarks/creative_choose.py [--requests 2000] [--warmup 100]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _common import latency_ms, print_table, write_results

from shopfuse.creative.journal import read_journal
from shopfuse.creative.logs import read_actions, read_log
from shopfuse.creative.policy import Policy, UniformPolicy
from shopfuse.creative.serving import CreativeServer
from shopfuse.demo import find_data


def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    """uvicorn serving ``app`` on a free loopback port in a thread."""
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    return server, thread, f"http://127.0.0.1:{port}"


def contexts(log_path: Path, n: int) -> tuple[list[dict[str, Any]], list[float]]:
    """The first ``n`` context rows of the log as JSON-ready dicts, and their clicks."""
    log = read_log(log_path)
    rows = []
    for i in range(min(n, len(log))):
        row: dict[str, Any] = {}
        for name, values in log.context.items():
            value = values[i]
            row[name] = float(value) if values.dtype.kind == "f" else str(value)
        rows.append(row)
    return rows, log.reward[: len(rows)].tolist()


def measure(
    policy: Policy, rows: list[dict[str, Any]], clicks: list[float], warmup: int, work: Path
) -> dict[str, Any]:
    """p50/p99 of choose and feedback for ``policy`` over ``rows``."""
    from fastapi import FastAPI

    from shopfuse.service.routes import creative

    app = FastAPI()
    app.include_router(creative.router)
    folder = work / f"log-{policy.kind}"
    app.state.creative = CreativeServer(policy, folder, seed=0)
    server, thread, url = serve(app)
    choose_s: list[float] = []
    feedback_s: list[float] = []
    errors = 0
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for i, (context, click) in enumerate(zip(rows, clicks, strict=True)):
                started = time.perf_counter()
                answer = client.post("/creative/choose", json={"context": context})
                chosen = time.perf_counter()
                if answer.status_code != 200:
                    errors += 1
                    continue
                done = client.post(
                    "/creative/feedback",
                    json={"impression_id": answer.json()["impression_id"], "reward": click},
                )
                ended = time.perf_counter()
                errors += done.status_code != 200
                if i >= warmup:
                    choose_s.append(chosen - started)
                    feedback_s.append(ended - chosen)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.creative.close()
    logged = len(read_journal(folder))
    return {
        "policy": policy.kind,
        "requests": len(choose_s),
        "errors": errors,
        "rows_logged": logged,
        "choose_ms": latency_ms(choose_s),
        "feedback_ms": latency_ms(feedback_s),
    }


def thompson(actions: list[str], data: Path) -> Policy | str:
    """Thompson sampling per user_feature_0 fitted on the BTS log, or why it is not available."""
    try:
        from shopfuse.creative.bandits import fit
    except ImportError as exc:
        return f"shopfuse.creative.bandits not importable: {exc}"
    log = read_log(data / "bts" / "women" / "women.csv")
    policy: Policy = fit(log, actions, kind="thompson", segment="user_feature_0")
    return policy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="Measured choose+feedback pairs per policy."
    )
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    data = find_data() / "open-bandit"
    actions = read_actions(data / "random" / "women" / "item_context.csv").ids
    rows, clicks = contexts(data / "random" / "women" / "women.csv", args.requests + args.warmup)
    policies: list[Policy] = [UniformPolicy(actions)]
    notes = ["Client and server in one process (uvicorn in a thread): both sides are timed."]
    learned = thompson(actions, data)
    if isinstance(learned, str):
        notes.append(learned)
    else:
        policies.append(learned)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="creative-choose-") as work:
        for policy in policies:
            results[policy.kind] = measure(policy, rows, clicks, args.warmup, Path(work))
    print_table(
        "POST /creative/choose and /creative/feedback over HTTP (ms)",
        ["policy", "requests", "choose p50", "choose p99", "feedback p50", "feedback p99", "errors"],
        [
            [
                r["policy"],
                r["requests"],
                r["choose_ms"]["p50_ms"],
                r["choose_ms"]["p99_ms"],
                r["feedback_ms"]["p50_ms"],
                r["feedback_ms"]["p99_ms"],
                r["errors"],
            ]
            for r in results.values()
        ],
    )
    write_results(
        "creative_choose",
        {"requests": args.requests, "warmup": args.warmup, "actions": len(actions), "campaign": "women"},
        {"policies": results, "notes": notes},
    )


if __name__ == "__main__":
    main()
