"""Ingest throughput on the shared fashion catalogue, next to the raw encoders it is built from.

Measured in one process, in this order:

1. photo decoding with ``shopfuse.media.images.load_image`` over the first ``--limit`` products;
2. the raw image encoder, ``EfficientNetColourEncoder().encode_images(images)`` on those photos;
3. the raw text encoder, ``USEEncoder().encode_text(titles)`` on their titles;
4. a full ``Engine.ingest`` with OCR off into a fresh temporary store, then the same ingest
   again with nothing changed (the incremental cost: hashing and the store's hash lookup);
5. ``Engine.ingest`` of the first ``--ocr-limit`` products with OCR ``off`` (the baseline),
   ``auto`` (detection first, recognition only where text is found) and ``on``.

Every model is loaded and warmed on ``--warmup`` items before its timing starts; that load
time is reported separately. Each ingest gets its own ``Engine`` and therefore loads its own
models, which is why there is a load time per ingest. Peak RSS (``ru_maxrss``) is cumulative,
so the value after a phase is the process's peak up to the end of that phase.

Run::

    python benchmarks/ingest_throughput.py                       # 1000 products, OCR on 100
    python benchmarks/ingest_throughput.py --limit 200 --ocr-limit 30   # quick check

Results: a table on stdout and ``benchmarks/results/ingest_throughput.json``.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import peak_rss_mib, print_table, rate, write_results
from PIL import Image, ImageDraw, ImageFont

from shopfuse.catalog.load import load_catalog
from shopfuse.config import EngineConfig, OcrMode
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.encoders.image import EfficientNetColourEncoder
from shopfuse.encoders.text import USEEncoder
from shopfuse.engine import Engine
from shopfuse.media.images import load_image

NAME = "ingest_throughput"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: found)")
    parser.add_argument("--limit", type=int, default=1000, help="products for the main runs (default 1000)")
    parser.add_argument("--ocr-limit", type=int, default=100, help="products for the OCR runs (default 100)")
    parser.add_argument("--warmup", type=int, default=4, help="items used to load and warm each model")
    args = parser.parse_args()
    if args.limit < 1 or args.ocr_limit < 1 or args.warmup < 1:
        parser.error("--limit, --ocr-limit and --warmup must be at least 1")
    return args


def timed(label: str, items: int, seconds: float, unit: str, **extra: Any) -> dict[str, Any]:
    """One result row: throughput plus the process's peak RSS so far."""
    return {
        "phase": label,
        "items": items,
        "seconds": round(seconds, 3),
        "per_second": rate(items, seconds),
        "unit": unit,
        "peak_rss_mib": round(peak_rss_mib()),
        **extra,
    }


def raw_throughput(
    label: str,
    unit: str,
    encode: Callable[[Sequence[Any]], object],
    items: Sequence[Any],
    warmup: int,
) -> dict[str, Any]:
    """Items per second of one encoder call over ``items``, after loading it on ``warmup`` items."""
    started = time.perf_counter()
    encode(items[:warmup])
    load = time.perf_counter() - started
    started = time.perf_counter()
    encode(items)
    return timed(label, len(items), time.perf_counter() - started, unit, load_s=round(load, 3))


def raw_encoders(titles: list[str], images: list[Image.Image], warmup: int) -> list[dict[str, Any]]:
    """Throughput of the image and text encoders alone, each model dropped after its run."""
    rows = [
        raw_throughput(
            "raw image encoder", "images", EfficientNetColourEncoder().encode_images, images, warmup
        ),
        raw_throughput("raw text encoder", "titles", USEEncoder().encode_text, titles, warmup),
    ]
    gc.collect()
    return rows


def text_photo() -> Image.Image:
    """Large black words on white: OCR warm-up then loads recognition, not only detection."""
    image = Image.new("RGB", (480, 160), "white")
    ImageDraw.Draw(image).text((20, 50), "SALE 50% OFF", fill="black", font=ImageFont.load_default(48))
    return image


def warm(engine: Engine, titles: list[str], images: list[Image.Image]) -> float:
    """Load and warm every model this engine's ingest uses; returns the seconds it took.

    OCR reads a picture with printed words: with ``auto`` a plain product photo may stop at
    detection and leave recognition to load during the timed ingest.
    """
    started = time.perf_counter()
    engine.text_encoder.encode_text(titles, role="passage")
    if engine.image_encoder is not None:
        engine.image_encoder.encode_images(images)
    pipeline = engine.product_encoder()
    if pipeline.langid is not None:
        pipeline.langid.detect(titles)
    if pipeline.ocr is not None:
        pipeline.ocr.read([text_photo()])
    return time.perf_counter() - started


def ingest_runs(
    catalog: Path,
    store: Path,
    mode: OcrMode,
    limit: int,
    sample: tuple[list[str], list[Image.Image]],
    *,
    rerun: bool,
) -> list[dict[str, Any]]:
    """Ingest ``limit`` products into a fresh ``store`` with OCR ``mode``; optionally again."""
    engine = Engine.open(store, EngineConfig(ocr=mode))
    load = warm(engine, *sample)
    rows = []
    passes = ("ingest", "re-ingest (unchanged)") if rerun else ("ingest",)
    for label in passes:
        started = time.perf_counter()
        report = engine.ingest(catalog, FASHION_MAPPING, limit=limit, progress=False, learn="off")
        seconds = time.perf_counter() - started
        rows.append(
            timed(
                f"{label}, ocr={mode}",
                report.rows,
                seconds,
                "products",
                load_s=round(load, 3) if label == "ingest" else None,
                added=report.added,
                unchanged=report.unchanged,
                skipped=report.skipped,
                with_ocr_text=engine.store.modality_counts().get("ocr", 0),
            )
        )
    del engine
    gc.collect()
    return rows


def main() -> None:
    args = parse_args()
    catalog = find_data(args.data) / "fashion-products" / "metadata.csv"
    products = load_catalog(catalog, FASHION_MAPPING, limit=args.limit).products
    titles = [p.text for p in products if p.text]
    started = time.perf_counter()
    images = [load_image(p.image) for p in products if p.image]
    decode = timed("decode photos (load_image)", len(images), time.perf_counter() - started, "images")
    sample = (titles[: args.warmup], images[: args.warmup])

    raw = raw_encoders(titles, images, args.warmup)
    del images
    gc.collect()
    raw_image_rate = raw[0]["per_second"]
    rows = [decode, *raw]
    with tempfile.TemporaryDirectory(prefix="shopfuse-bench-ingest-") as tmp:
        root = Path(tmp)
        rows += ingest_runs(catalog, root / "main", "off", args.limit, sample, rerun=True)
        ocr_rows = [
            row
            for mode in ("off", "auto", "on")
            for row in ingest_runs(catalog, root / f"ocr-{mode}", mode, args.ocr_limit, sample, rerun=False)
        ]
    baseline = ocr_rows[0]["seconds"]
    for row in ocr_rows[1:]:
        row["ocr_ms_per_product"] = round((row["seconds"] - baseline) / row["items"] * 1000, 1)
    rows += ocr_rows
    for row in rows:
        if row["unit"] == "products":
            row["vs_raw_image"] = round(row["per_second"] / raw_image_rate, 3)

    print_table(
        f"Ingest throughput, fashion catalogue: {args.limit} products, OCR on {args.ocr_limit}",
        [
            "phase",
            "items",
            "seconds",
            "per s",
            "vs raw img",
            "model load s",
            "ocr text",
            "OCR ms/product",
            "peak RSS MiB",
        ],
        [
            [
                r["phase"],
                r["items"],
                r["seconds"],
                r["per_second"],
                r.get("vs_raw_image"),
                r.get("load_s"),
                r.get("with_ocr_text"),
                r.get("ocr_ms_per_product"),
                r["peak_rss_mib"],
            ]
            for r in rows
        ],
    )
    print(
        "\n'per s' is images, titles or products per second; 'vs raw img' is ingest products/s "
        "divided by the raw image encoder's images/s (one photo per product here); 'ocr text' "
        "counts products whose photos gave OCR text; 'OCR ms/product' is the extra time over "
        "the ocr=off run of the same products; model load is excluded from 'seconds'."
    )
    write_results(
        NAME,
        {
            "catalog": str(catalog),
            "limit": args.limit,
            "ocr_limit": args.ocr_limit,
            "warmup": args.warmup,
        },
        {"phases": rows, "peak_rss_mib": round(peak_rss_mib())},
    )


if __name__ == "__main__":
    main()
