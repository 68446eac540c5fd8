"""A results sheet of jewellery try-on for a person to look at, with cut-out and render times.

Real H&M earrings and necklaces (``hm-purchases``: their catalogue photos, cut out) on frontal
portraits (``faces/images/*_03.jpg``), placed with the anchors the MediaPipe face landmarker gives
(``shopfuse.tryon.anchors``): one row per portrait, one column per product, each cell cropped to
the head and neck at reduced size. Writes ``benchmarks/results/tryon_sheet.png`` and
``tryon_sheet.json`` (times per photo and per product, the anchors used).

Rings are not on the sheet: neither the portraits nor the H&M photos show a hand (900 H&M photos
scanned with the hand landmarker found none but a false alarm on a hat), and no hand is made up.
Ring placement is tested on hand points directly (``tests/unit/tryon/test_render.py``).

    python benchmarks/tryon_sheet.py [--data DIR] [--faces 4] [--cell 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import latency_ms, print_table, write_results

from shopfuse.demo import find_data
from shopfuse.tryon.anchors import face_anchors
from shopfuse.tryon.cutout import cutout
from shopfuse.tryon.render import place_necklace
from shopfuse.tryon.service import earrings_on, neck_line

PRODUCTS = [
    ("0795850001", "earrings", "Cool Vega earring"),
    ("0807704001", "earrings", "Class Volt earring"),
    ("0834002001", "earrings", "Cool Babben earring"),
    ("0853632001", "earrings", "Flirty Svala stud pk"),
    ("0743098001", "necklace", "Flirty Linnea necklace"),
    ("0880597001", "necklace", "Flirty Samba Necklace"),
]
"""(article_id, kind, name) of the H&M products on the sheet."""
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--cell", type=int, default=300)
    args = parser.parse_args()
    data = args.data or find_data()
    portraits = sorted((data / "faces" / "images").glob("*_03.jpg"))
    step = max(1, len(portraits) // args.faces)
    chosen = portraits[::step][: args.faces]

    cuts: dict[str, Image.Image] = {}
    cut_ms: dict[str, float] = {}
    for article, _, _ in PRODUCTS:
        with Image.open(data / "hm-purchases" / "images" / f"{article}.jpg") as opened:
            source = opened.convert("RGB")
        start = time.perf_counter()
        cuts[article] = cutout(source)
        cut_ms[article] = round((time.perf_counter() - start) * 1000, 1)

    cell, label = args.cell, 22
    sheet = Image.new("RGB", (cell * (len(PRODUCTS) + 1), label + cell * (len(chosen) + 1)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (article, kind, name) in enumerate(PRODUCTS, start=1):
        thumb = cuts[article].copy()
        thumb.thumbnail((cell - 40, cell - 40))
        x = column * cell + (cell - thumb.width) // 2
        sheet.paste(thumb, (x, label + (cell - thumb.height) // 2), thumb)
        draw.text((column * cell + 6, 4), f"{article} {kind}", fill="black")
        draw.text((column * cell + 6, label + cell - 16), name, fill="black")

    anchor_s: list[float] = []
    render_s: dict[str, list[float]] = {"earrings": [], "necklace": []}
    rows: list[dict[str, Any]] = []
    for row, path in enumerate(chosen, start=1):
        with Image.open(path) as opened:
            photo = opened.convert("RGB")
        start = time.perf_counter()
        anchors = face_anchors(photo)
        anchor_s.append(time.perf_counter() - start)
        ipd = anchors.ipd_px
        px_per_mm = anchors.to_dict()["scale_px_per_mm"]
        eyes_y = (anchors.left_pupil[1] + anchors.right_pupil[1]) / 2
        centre_x = (anchors.left_pupil[0] + anchors.right_pupil[0]) / 2
        side = 5.0 * ipd
        box = (
            round(centre_x - side / 2),
            round(eyes_y - 1.0 * ipd),
            round(centre_x + side / 2),
            round(eyes_y - 1.0 * ipd + side),
        )
        lift = max(0, box[3] - photo.height)  # keep the crop inside the photo
        box = (box[0], box[1] - lift, box[2], box[3] - lift)
        top = label + row * cell
        sheet.paste(photo.crop(box).resize((cell, cell)), (0, top))
        draw.text((6, top + 4), path.stem, fill="black")
        for column, (article, kind, _) in enumerate(PRODUCTS, start=1):
            start = time.perf_counter()
            if kind == "earrings":
                result, _ = earrings_on(photo, cuts[article], anchors, None, 240)
            else:
                result = place_necklace(photo, cuts[article], *neck_line(anchors), px_per_mm)
            render_s[kind].append(time.perf_counter() - start)
            sheet.paste(result.crop(box).resize((cell, cell), Image.Resampling.LANCZOS), (column * cell, top))
        rows.append(
            {"portrait": path.name, "anchors": anchors.to_dict(), "anchors_ms": round(anchor_s[-1] * 1000, 1)}
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "tryon_sheet.png"
    sheet.save(out, optimize=True)
    speed = {
        "anchors_per_photo_ms": latency_ms(anchor_s[1:] or anchor_s),
        "anchors_first_photo_ms": round(anchor_s[0] * 1000, 1),
        "cutout_per_product_ms": cut_ms,
        "render_per_photo_ms": {k: latency_ms(v) for k, v in render_s.items() if v},
    }
    print_table(
        "try-on times (ms)",
        ["step", "p50", "p99"],
        [["anchors", *(speed["anchors_per_photo_ms"][k] for k in ("p50_ms", "p99_ms"))]]
        + [[f"render {k}", v["p50_ms"], v["p99_ms"]] for k, v in speed["render_per_photo_ms"].items()],
    )
    print("cut-out ms per product:", cut_ms)
    write_results(
        "tryon_sheet",
        {"portraits": [p.name for p in chosen], "products": PRODUCTS, "cell": cell, "sheet": str(out.name)},
        {"speed": speed, "portraits": rows, "rings": "not on the sheet: no hand photo in the data"},
    )


if __name__ == "__main__":
    main()
