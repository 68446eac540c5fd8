"""The recommendation split of the shared H&M purchases (time split: each customer's last day is test).

Customers whose purchases all fall on one day have no training history; they stay in the test
set (real new users). The catalogue is every purchased article with its photo; 1,570 also carry
a title, description and attributes, the rest are photo-only.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["ATTRIBUTES", "build_split"]

ATTRIBUTES = (
    "product_code",
    "product_type_name",
    "product_group_name",
    "colour_group_name",
    "graphical_appearance_name",
    "perceived_colour_master_name",
    "index_name",
    "garment_group_name",
)


def build_split(
    data: Path, work: Path, *, users: int | None = None, extra_items: int = 0
) -> tuple[Path, Path, Path]:
    """Write ``items.jsonl``, ``train.csv`` and ``test.csv`` under ``work``.

    ``users`` keeps that many customers with 4 to 20 purchases (for quick tests), and the
    catalogue then holds their articles plus ``extra_items`` nobody of them bought.
    """
    folder = data / "hm-purchases"
    work.mkdir(parents=True, exist_ok=True)
    with (folder / "transactions.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if users is not None:
        counts = Counter(r["customer_id"] for r in rows)
        chosen = sorted(u for u, n in counts.items() if 4 <= n <= 20)[:users]
        rows = [r for r in rows if r["customer_id"] in set(chosen)]
    bought = {r["article_id"] for r in rows}
    items = work / "items.jsonl"
    extra = 0
    with (folder / "items.csv").open(encoding="utf-8", newline="") as handle, items.open("w") as out:
        for row in csv.DictReader(handle):
            if users is not None and row["article_id"] not in bought:
                if extra >= extra_items:
                    continue
                extra += 1
            record: dict[str, object] = {"id": row["article_id"], "image": str(folder / row["image"])}
            if row.get("prod_name"):
                record["title"] = row["prod_name"]
            if row.get("detail_desc"):
                record["description"] = row["detail_desc"]
            attributes = {name: row[name] for name in ATTRIBUTES if row.get(name)}
            if attributes:
                record["attributes"] = attributes
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    last: dict[str, str] = {}
    for row in rows:
        last[row["customer_id"]] = max(last.get(row["customer_id"], ""), row["t_dat"])
    train, test = work / "train.csv", work / "test.csv"
    with train.open("w", newline="") as tr, test.open("w", newline="") as te:
        writers = {True: csv.writer(te), False: csv.writer(tr)}
        for writer in writers.values():
            writer.writerow(["user_id", "item_id", "timestamp", "price"])
        for row in rows:
            stamp = datetime.fromisoformat(row["t_dat"]).replace(tzinfo=UTC).isoformat()
            is_test = row["t_dat"] == last[row["customer_id"]]
            writers[is_test].writerow([row["customer_id"], row["article_id"], stamp, row["price"]])
    return items, train, test
