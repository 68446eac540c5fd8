"""A small real store with purchases: H&M customers' articles ingested, their purchases appended.

For the creative service (a user's segment) and the marketing report. ``hostile`` renames a few
attribute values to markup and formula-like text, as a catalogue under attack would carry them.
"""

from __future__ import annotations

import json
from pathlib import Path

from hm.recommend import build_split

from shopfuse.engine import Engine
from shopfuse.recommend import InteractionLog, read_interactions

HOSTILE = "<script>alert('x')</script> $\\frac{1}{ & <b>bold</b>"
"""A name that must reach the page as text: markup, an ampersand, and broken matplotlib math."""


def build_hm_store(shared_data: Path, work: Path, *, users: int, hostile: bool = False) -> Path:
    """A store of ``users`` H&M customers' articles and all their purchases (train and last day)."""
    items, train, test = build_split(shared_data, work, users=users)
    if hostile:
        records = [json.loads(line) for line in items.read_text(encoding="utf-8").splitlines()]
        changed = 0
        for record in records:
            attributes = record.get("attributes") or {}
            if "colour_group_name" in attributes and changed < 12:
                attributes["colour_group_name"] = HOSTILE
                attributes["product_type_name"] = HOSTILE + " type"
                changed += 1
        items.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    folder = work / "store"
    Engine.open(folder).ingest(items, progress=False, learn="off")
    log = InteractionLog(folder / "interactions")
    log.append(read_interactions(train))
    log.append(read_interactions(test))
    return folder
