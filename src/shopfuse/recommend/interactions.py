"""Interactions (purchases, carts, views): reading with row-level errors, weighting, appending."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.errors import CatalogError

__all__ = [
    "EVENT_WEIGHTS",
    "Event",
    "Interactions",
    "read_interactions",
    "write_interactions",
]

EVENT_WEIGHTS: dict[str, float] = {"purchase": 1.0, "cart": 0.5, "wishlist": 0.4, "view": 0.15}
"""Default strength of each event type; a row's own ``weight`` column multiplies it."""

REQUIRED = ("user_id", "item_id", "timestamp")


@dataclass(slots=True, frozen=True)
class Event:
    """One interaction of a user with an item."""

    user_id: str
    item_id: str
    timestamp: float
    """Seconds since the epoch (UTC)."""
    event: str = "purchase"
    weight: float = 1.0
    price: float | None = None


def _parse_time(value: str) -> float:
    """Seconds since the epoch from ISO dates/times or a number of seconds."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    """``(row number, row)`` from a CSV (row 2 is the first data row) or JSONL (line numbers)."""
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CatalogError(f"{path}: line {number}: invalid JSON: {exc}") from exc
                if not isinstance(row, dict):
                    raise CatalogError(f"{path}: line {number}: expected an object")
                yield number, {k: "" if v is None else str(v) for k, v in row.items()}
        return
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogError(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"interactions need {', '.join(REQUIRED)} (optional: event, weight, price)"
            )
        for number, row in enumerate(reader, start=2):
            yield number, {k: (v or "") for k, v in row.items() if k is not None}


def read_interactions(path: str | Path) -> Interactions:
    """Read ``user_id,item_id,timestamp[,event][,weight][,price]`` rows from CSV or JSONL.

    Every bad row is an error naming the file, row and field; nothing is half-read.
    """
    source = Path(path)
    if not source.is_file():
        raise CatalogError(f"interactions file not found: {source}")
    events: list[Event] = []
    for number, row in _rows(source):
        for name in REQUIRED:
            if not row.get(name, "").strip():
                raise CatalogError(f"{source}: row {number}: field {name!r} is empty or missing")
        try:
            stamp = _parse_time(row["timestamp"])
        except ValueError as exc:
            raise CatalogError(
                f"{source}: row {number}: field 'timestamp': cannot read {row['timestamp']!r} "
                "(use an ISO date/time or epoch seconds)"
            ) from exc
        kind = (row.get("event") or "purchase").strip().lower()
        if kind not in EVENT_WEIGHTS:
            raise CatalogError(
                f"{source}: row {number}: field 'event': unknown {kind!r} (one of {', '.join(EVENT_WEIGHTS)})"
            )
        numbers: dict[str, float | None] = {}
        for name in ("weight", "price"):
            text = (row.get(name) or "").strip()
            try:
                numbers[name] = float(text) if text else None
            except ValueError as exc:
                raise CatalogError(f"{source}: row {number}: field {name!r}: not a number: {text!r}") from exc
            value = numbers[name]
            if value is not None and (not math.isfinite(value) or value < 0):
                raise CatalogError(f"{source}: row {number}: field {name!r}: must be >= 0, got {text!r}")
        events.append(
            Event(
                user_id=row["user_id"].strip(),
                item_id=row["item_id"].strip(),
                timestamp=stamp,
                event=kind,
                weight=1.0 if numbers["weight"] is None else numbers["weight"],
                price=numbers["price"],
            )
        )
    return Interactions(events)


def write_interactions(path: str | Path, events: Sequence[Event]) -> None:
    """Write events as CSV (ISO timestamps), the format :func:`read_interactions` reads."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*REQUIRED, "event", "weight", "price"])
        for e in events:
            stamp = datetime.fromtimestamp(e.timestamp, tz=UTC).isoformat()
            price = "" if e.price is None else repr(e.price)
            writer.writerow([e.user_id, e.item_id, stamp, e.event, repr(e.weight), price])


@dataclass(slots=True)
class Interactions:
    """An append-only list of events with per-user views and recency weights."""

    events: list[Event] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events)

    def extend(self, more: Iterable[Event]) -> None:
        """Append events (new users and new items included)."""
        self.events.extend(more)

    @property
    def users(self) -> list[str]:
        """Distinct users, in order of first appearance."""
        return list(dict.fromkeys(e.user_id for e in self.events))

    @property
    def items(self) -> list[str]:
        """Distinct items, in order of first appearance."""
        return list(dict.fromkeys(e.item_id for e in self.events))

    @property
    def last_time(self) -> float:
        """The newest timestamp (0 without events)."""
        return max((e.timestamp for e in self.events), default=0.0)

    def by_user(self) -> dict[str, list[Event]]:
        """Each user's events, oldest first."""
        out: dict[str, list[Event]] = {}
        for event in sorted(self.events, key=lambda e: e.timestamp):
            out.setdefault(event.user_id, []).append(event)
        return out

    def weight(self, event: Event, now: float, half_life_days: float) -> float:
        """The event's type weight times its own weight, halved every ``half_life_days``."""
        age_days = max(0.0, now - event.timestamp) / 86_400.0
        decay = 0.5 ** (age_days / half_life_days) if half_life_days > 0 else 1.0
        return EVENT_WEIGHTS[event.event] * event.weight * decay

    def history(
        self, events: Sequence[Event], index: dict[str, int], *, now: float, half_life_days: float
    ) -> dict[int, float]:
        """``{item row: summed weight}`` of ``events`` for items in ``index`` (unknown items skipped)."""
        out: dict[int, float] = {}
        for event in events:
            row = index.get(event.item_id)
            if row is not None:
                out[row] = out.get(row, 0.0) + self.weight(event, now, half_life_days)
        return out

    def matrix(self, index: dict[str, int], *, half_life_days: float) -> tuple[list[str], Any]:
        """Users and the ``(users, items)`` CSR matrix of recency-weighted events."""
        from scipy import sparse

        now = self.last_time
        users = self.users
        user_row = {u: i for i, u in enumerate(users)}
        rows, cols, vals = [], [], []
        for event in self.events:
            col = index.get(event.item_id)
            if col is None:
                continue
            rows.append(user_row[event.user_id])
            cols.append(col)
            vals.append(self.weight(event, now, half_life_days))
        matrix = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(users), len(index))
        )
        matrix.sum_duplicates()
        return users, matrix
