"""Print the "when and under what load" table of benchmarks/README.md from the result files.

Every row comes from a result file's own ``environment`` (written by ``_common.write_results``) and
from git (the commit that last changed the file), so the table is regenerated, never hand-copied::

    python benchmarks/index.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _commit(path: Path) -> str:
    """``abbrev, date`` of the last commit that changed ``path``, or "not committed"."""
    out = subprocess.run(
        ["git", "log", "--format=%h, %cd", "--date=format:%Y-%m-%d %H:%M", "-1", "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", str(path)], capture_output=True, text=True, cwd=path.parent
    ).stdout.strip()
    if not out:
        return "not committed"
    return out + (" (changed since)" if changed else "")


def row(path: Path) -> str:
    """One table row for a result file."""
    environment: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("environment", {})
    stamp = str(environment.get("timestamp", "not recorded")).replace("T", " ")[:19]
    start, end = environment.get("load_average_start"), environment.get("load_average_end")
    load = f"{start[0]:.2f} -> {end[0]:.2f}" if start and end else "not recorded"
    elapsed = environment.get("elapsed_s")
    seconds = f"{elapsed:.0f} s" if isinstance(elapsed, int | float) else "not recorded"
    return f"| `{path.name}` | {stamp} | {load} | {seconds} | {_commit(path)} |"


def main() -> None:
    """Print the table."""
    print("| result file | date (UTC) | load, 1 min (start -> end) | run time | commit |")
    print("|---|---|---|---|---|")
    for path in sorted(RESULTS.glob("*.json")):
        print(row(path))


if __name__ == "__main__":
    main()
