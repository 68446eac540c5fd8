"""Requests answered by a service in a child process with capped memory, for inputs that may exhaust it.

A filter such as ``length(repeat('a', 1000000000)) > 0`` makes Lance allocate a gigabyte per row;
in the test process that could take the whole shared box down. The child caps its data segment
(``RLIMIT_DATA``), so the worst case is a child that aborts, reported as a failed request.

Run by :func:`run_isolated`; as ``python -m tests.fuzz.isolated`` it reads one JSON job on stdin and
prints one line per answer.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MARK = "ISOLATED-ANSWER "
"""Prefix of the child's answer lines (libraries may print to stdout too)."""
ROOT = Path(__file__).resolve().parents[2]


def run_isolated(
    store: Path,
    requests: list[dict[str, Any]],
    *,
    api_key: str | None = None,
    restart_lifespan: bool = False,
    memory_limit_bytes: int = 4 << 30,
    request_timeout: float = 30.0,
    timeout: float = 300.0,
) -> tuple[list[dict[str, Any] | None], str]:
    """Answers to ``requests`` from a service over ``store`` in a capped child, and the child's log.

    A request is ``{"method", "url", "params"?, "data"?, "headers"?, "files"?: [[field, name, bytes,
    type]]}``; an answer ``{"status", "seconds", "body", "peak_growth_mib"}``, ``{"hung": true}`` when
    it took over ``request_timeout`` seconds (the child then stops), or None where the child died
    first. With ``api_key`` the service accepts writes; with ``restart_lifespan`` the app's lifespan
    runs once, and ends, before the one that answers.
    """
    job = {
        "store": str(store),
        "api_key": api_key,
        "restart_lifespan": restart_lifespan,
        "request_timeout": request_timeout,
        "memory_limit_bytes": memory_limit_bytes,
        "requests": [
            {
                **r,
                "files": [[f, n, base64.b64encode(d).decode(), t] for f, n, d, t in r.get("files", [])],
            }
            for r in requests
        ],
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.isolated"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
        stdout, log = done.stdout, f"exit status {done.returncode}\n{done.stderr[-3000:]}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        log = f"child killed after {timeout:.0f} s"
    answers: list[dict[str, Any] | None] = [
        json.loads(line.removeprefix(MARK)) for line in stdout.splitlines() if line.startswith(MARK)
    ]
    return answers + [None] * (len(requests) - len(answers)), log


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> None:
    """Make ``VmHWM`` start again from the current RSS (Linux: ``5`` to ``clear_refs``)."""
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    """Serve the job read from stdin: cap memory, open the store, answer each request in turn."""
    job = json.loads(sys.stdin.read())
    limit = int(job["memory_limit_bytes"])
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    from fastapi.testclient import TestClient

    from shopfuse.engine import Engine
    from shopfuse.service import ServiceSettings, create_app

    engine = Engine.open(Path(job["store"]), create=False)
    app = create_app(engine, ServiceSettings(api_keys=[job["api_key"]] if job["api_key"] else []))
    if job["restart_lifespan"]:
        with TestClient(app):
            pass
    with TestClient(app) as client:
        client.get("/search", params={"q": "warm up"})
        for request in job["requests"]:
            answers: list[dict[str, Any]] = []
            worker = threading.Thread(target=_answer, args=(client, request, answers), daemon=True)
            worker.start()
            worker.join(job["request_timeout"])
            print(MARK + json.dumps(answers[0] if answers else {"hung": True}), flush=True)
            if not answers:
                os._exit(0)  # the hung request holds the client's event loop: no clean exit


def _answer(client: Any, request: dict[str, Any], answers: list[dict[str, Any]]) -> None:
    """Send one request, timing it and measuring the peak memory it took; append the answer."""
    files = {f: (n, base64.b64decode(d), t) for f, n, d, t in request.get("files", [])}
    before = _status_mib("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    response = client.request(
        request["method"],
        request["url"],
        params=request.get("params"),
        data=request.get("data"),
        headers=request.get("headers"),
        files=files or None,
    )
    answers.append(
        {
            "status": response.status_code,
            "seconds": round(time.perf_counter() - started, 3),
            "body": response.text[:2000],
            "peak_growth_mib": round(_status_mib("VmHWM") - before, 1),
        }
    )


if __name__ == "__main__":
    main()
