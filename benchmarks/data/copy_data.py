"""Copy data sets as catalogue records with held-out references: AdvertiseGen (zh) and H&M (en).

Each converter returns a :class:`CopySplit`: ``train`` records carry their human copy as
``description`` (what a generator may learn phrasing from), ``test`` records carry none, and
``references`` holds the held-out copy (``{id: [texts]}``). Records are catalogue-JSONL dicts
(``id``, ``title``?, ``lang``, ``attributes`` with string or list values), so they can be written as
JSONL and passed to ``shopfuse copy generate --catalog`` / ``shopfuse eval copy --catalog``.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfuse.content.facts import parse_key_values

__all__ = ["HM_ATTRIBUTES", "CopySplit", "advertisegen", "hm_articles", "write_jsonl"]

HM_ATTRIBUTES = (
    "product_type_name",
    "product_group_name",
    "colour_group_name",
    "graphical_appearance_name",
    "index_group_name",
    "garment_group_name",
)
"""The H&M columns that become attributes (title = ``prod_name``, reference = ``detail_desc``)."""


@dataclass
class CopySplit:
    """Training records (with their copy as ``description``), test records and their references."""

    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    references: dict[str, list[str]] = field(default_factory=dict)


def _split(keys: list[str], seed: int, test_share: float) -> set[str]:
    order = sorted(keys)
    random.Random(seed).shuffle(order)
    return set(order[: max(1, round(len(order) * test_share))])


def advertisegen(path: Path, *, seed: int = 0, test_share: float = 0.2) -> CopySplit:
    """AdvertiseGen pairs (``{"content": "类型#上衣*...", "summary": ad}``): one product per distinct
    ``content`` (its ads are all references), split by product; ids ``adgen-<first line>``."""
    products: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        content, summary = str(row["content"]).strip(), str(row["summary"]).strip()
        if content and summary:
            first_line.setdefault(content, number)
            products.setdefault(content, []).append(summary)
    held_out = _split(list(products), seed, test_share)
    split = CopySplit([], [])
    for content, summaries in products.items():
        record = {"id": f"adgen-{first_line[content]}", "lang": "zh", "attributes": parse_key_values(content)}
        if content in held_out:
            split.test.append(record)
            split.references[record["id"]] = summaries
        else:
            split.train.append({**record, "description": summaries[0]})
    return split


def hm_articles(path: Path, *, seed: int = 0, test_share: float = 0.2) -> CopySplit:
    """H&M articles with a ``detail_desc``; split by ``product_code`` so that colour variants of one
    product are all on one side; ids are the article ids."""
    by_product: dict[str, list[dict[str, str]]] = defaultdict(list)
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if (row.get("detail_desc") or "").strip() and (row.get("product_code") or "").strip():
                by_product[row["product_code"].strip()].append(row)
    held_out = _split(list(by_product), seed, test_share)
    split = CopySplit([], [])
    for code, rows in by_product.items():
        for row in rows:
            attributes = {k: row[k].strip() for k in HM_ATTRIBUTES if (row.get(k) or "").strip()}
            record: dict[str, Any] = {
                "id": row["article_id"],
                "title": row["prod_name"].strip(),
                "lang": "en",
                "attributes": attributes,
            }
            if code in held_out:
                split.test.append(record)
                split.references[record["id"]] = [row["detail_desc"].strip()]
            else:
                split.train.append({**record, "description": row["detail_desc"].strip()})
    return split


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSONL (UTF-8, Chinese unescaped)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
