"""Photo-only recognition at 224 px and from 60x80 thumbnails, before and after learning from thumbnails.

Runs on the work folder of ``benchmarks/learned_default.py`` (its learned store, whose 1,436
held-out products are photo-only, and its 60x80 copies of their photos). The store is copied, its
model is refitted with ``Engine.learn("on")`` (which now also trains the attribute heads on 60x80
thumbnails of up to 2,000 training photos, ``model.train.SMALL_PHOTOS``), and articleType and
baseColour accuracy is measured on the held-out products from their 224 px photos and, through the
same model, from their 60x80 copies.

    python benchmarks/small_photos.py --learned-default /tmp/learned-default
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, print_table, write_results

from shopfuse.config import EngineConfig
from shopfuse.demo import find_data
from shopfuse.engine import Engine
from shopfuse.model.train import SMALL_PHOTOS

BEFORE = {
    "224": {"articleType": 0.836, "baseColour": 0.640},
    "60x80": {"articleType": 0.603, "baseColour": 0.582},
}
"""``learned_default.json`` (photo_only_recognition), the model learned without thumbnails."""


def accuracy(engine: Engine, ids: list[str], truth: dict[str, dict[str, str]]) -> dict[str, float]:
    """Share of products whose predicted articleType / baseColour is the catalogue's."""
    rows = engine.predict_attributes(ids=ids)
    out = {}
    for label in ("articleType", "baseColour"):
        pairs = [(r.predicted[label].value, truth[r.id][label]) for r in rows if truth[r.id][label]]
        out[label] = round(sum(a == b for a, b in pairs) / len(pairs), 4)
    return out


def main() -> None:
    """Refit with thumbnails, measure both sizes, write ``results/small_photos.json``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learned-default", type=Path, default=Path("/tmp/learned-default"))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="shopfuse-small-"))
    shutil.rmtree(work / "store", ignore_errors=True)
    shutil.rmtree(work / "small", ignore_errors=True)
    shutil.copytree(args.learned_default / "learned", work / "store")
    metadata = find_data() / "fashion-products" / "metadata.csv"
    with metadata.open(newline="", encoding="utf-8") as handle:
        truth = {r["id"]: r for r in csv.DictReader(handle)}
    engine = Engine.open(work / "store")
    held = [r["id"] for r in engine.store.get(sorted(engine.store.hashes())) if not r.get("title")]
    started = time.perf_counter()
    learned: dict[str, Any] = engine.learn("on", progress=False)
    learn_seconds = time.perf_counter() - started
    full = accuracy(engine, held, truth)
    model = engine.model_folder(str(engine.config.model)).resolve()
    small = Engine.open(work / "small", EngineConfig(model=str(model)))
    small.ingest(args.learned_default / "held_out_small.jsonl", progress=False, learn="off")
    thumbs = accuracy(small, sorted(small.store.hashes()), truth)
    after = {"224": full, "60x80": thumbs}
    print_table(
        "photo-only recognition (1,436 held-out products)",
        ["label", "224 before", "224 after", "60x80 before", "60x80 after"],
        [
            [label, BEFORE["224"][label], full[label], BEFORE["60x80"][label], thumbs[label]]
            for label in ("articleType", "baseColour")
        ],
    )
    write_results(
        "small_photos",
        vars(args) | {"work": str(work), "small_photos": SMALL_PHOTOS},
        {
            "held_out": len(held),
            "before": BEFORE,
            "after": after,
            "learn_seconds": round(learn_seconds, 1),
            "learning": {k: v for k, v in learned.items() if k != "metrics"},
            "peak_rss_mib": round(peak_rss_mib(), 1),
        },
    )


if __name__ == "__main__":
    main()
