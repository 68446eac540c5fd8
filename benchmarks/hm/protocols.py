"""The in-shop and cross-shop retrieval protocols built from the shared H&M items.

Both search photo-only products by text. Queries are "<colour> <product type>" in English and in
Chinese, relevance = items of that colour and type; and description queries (the item's description
plus its colour), the item itself graded 2 and its colour variants (same product code) graded 1.
The Chinese comes from two sources: ``colour_type_zh`` from the translation table below, which the
query glossary largely repeats (so it tests the glossary against itself), and, given the seller
data, ``colour_type_zh_seller`` from the words Taobao sellers wrote
(:mod:`hm.seller_queries`). ``Protocol.coverage`` says how much of each Chinese
set the glossary knows.

- in-shop: the H&M items with text are split by product code; the model trains on one half
  (titles, descriptions, attributes) and the other half, photos only, is searched.
- cross-shop: the model trains on another shop; every H&M item with text is searched, photo only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hm.seller_queries import glossary_coverage, seller_queries
from shopfuse.query.glossary import concepts

__all__ = ["ZH_COLOUR", "ZH_TYPE", "Protocol", "build_protocol"]

ZH_COLOUR = {
    "Beige": "米色", "Black": "黑色", "Blue": "蓝色", "Bronze/Copper": "古铜色", "Dark Beige": "深米色",
    "Dark Blue": "深蓝色", "Dark Green": "深绿色", "Dark Grey": "深灰色", "Dark Orange": "深橙色",
    "Dark Pink": "深粉色", "Dark Purple": "深紫色", "Dark Red": "深红色", "Dark Turquoise": "深青绿色",
    "Dark Yellow": "深黄色", "Gold": "金色", "Green": "绿色", "Greenish Khaki": "军绿色", "Grey": "灰色",
    "Greyish Beige": "灰米色", "Light Beige": "浅米色", "Light Blue": "浅蓝色", "Light Green": "浅绿色",
    "Light Grey": "浅灰色", "Light Orange": "浅橙色", "Light Pink": "浅粉色", "Light Purple": "浅紫色",
    "Light Red": "浅红色", "Light Turquoise": "浅青绿色", "Light Yellow": "浅黄色", "Off White": "米白色",
    "Orange": "橙色", "Other Orange": "橙色", "Other Pink": "粉色", "Other Yellow": "黄色", "Pink": "粉色",
    "Purple": "紫色", "Red": "红色", "Silver": "银色", "Transparent": "透明", "Turquoise": "青绿色",
    "White": "白色", "Yellow": "黄色", "Yellowish Brown": "黄棕色",
}  # fmt: skip
ZH_TYPE = {
    "Bag": "包", "Ballerinas": "芭蕾平底鞋", "Belt": "腰带", "Bikini top": "比基尼上衣", "Blazer": "西装外套",
    "Blouse": "女士衬衫", "Bodysuit": "连体衣", "Boots": "靴子", "Bra": "文胸", "Braces": "背带",
    "Cardigan": "开衫", "Coat": "大衣", "Costumes": "服装套装", "Dress": "连衣裙", "Earring": "耳环",
    "Felt hat": "毡帽", "Garment Set": "套装", "Hair clip": "发夹", "Hair string": "发绳",
    "Hair ties": "发圈", "Hair/alice band": "发箍", "Hat/beanie": "帽子", "Heeled sandals": "高跟凉鞋", "Hoodie": "连帽衫",
    "Jacket": "夹克", "Jumpsuit/Playsuit": "连身裤", "Kids Underwear top": "儿童内衣上衣",
    "Leggings/Tights": "打底裤", "Necklace": "项链", "Nipple covers": "乳贴", "Other accessories": "配饰",
    "Polo shirt": "Polo衫", "Pyjama bottom": "睡裤", "Pyjama jumpsuit/playsuit": "连体睡衣",
    "Pyjama set": "睡衣套装", "Ring": "戒指", "Sandals": "凉鞋", "Sarong": "纱笼", "Scarf": "围巾",
    "Shirt": "衬衫", "Shorts": "短裤", "Shoulder bag": "单肩包", "Skirt": "半身裙", "Slippers": "拖鞋",
    "Sneakers": "运动鞋", "Socks": "袜子", "Sunglasses": "太阳镜", "Sweater": "毛衣", "Swimsuit": "连体泳衣",
    "Swimwear bottom": "泳裤", "Swimwear set": "泳衣套装", "T-shirt": "T恤", "Top": "上衣",
    "Trousers": "长裤",    "Umbrella": "雨伞", "Underdress": "衬裙", "Underwear Tights": "连裤袜", "Underwear body": "塑身衣",
    "Underwear bottom": "内裤", "Vest top": "背心", "Wedge": "坡跟鞋",
}  # fmt: skip

LABELS = ("product_type_name", "colour_group_name", "graphical_appearance_name", "index_group_name")
"""The H&M columns the in-shop model learns (type, colour, pattern, department)."""


@dataclass(slots=True)
class Protocol:
    """Files of one protocol: catalogues, query sets (``{name: (queries.tsv, qrels)}``)."""

    name: str
    train: Path | None
    catalog: Path
    queries: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)
    """Best P@10 any ranking can reach per query set (pairs with fewer than 10 items cap it)."""
    coverage: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per Chinese query set, how much of it is glossary words (:func:`glossary_coverage`)."""


def _titled_items(items_csv: Path) -> list[dict[str, str]]:
    with items_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    root = items_csv.parent
    out = []
    for row in rows:
        if (row.get("prod_name") or "").strip() and (row.get("image") or "").strip():
            row["image"] = str((root / row["image"]).resolve())
            out.append(row)
    return out


def _write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _query_sets(
    catalog: list[dict[str, str]], folder: Path, min_items: int, descriptions: int, seed: int
) -> tuple[dict[str, tuple[Path, Path]], dict[str, float], list[tuple[str, str]]]:
    pairs: dict[tuple[str, str], list[str]] = {}
    for row in catalog:
        colour, kind = row.get("colour_group_name") or "", row.get("product_type_name") or ""
        if colour and kind and kind != "Unknown" and colour in ZH_COLOUR and kind in ZH_TYPE:
            pairs.setdefault((colour, kind), []).append(row["article_id"])
    kept = sorted((key, ids) for key, ids in pairs.items() if len(ids) >= min_items)
    sets: dict[str, tuple[Path, Path]] = {}
    ceilings: dict[str, float] = {}
    qrels_lines = []
    for n, (_, ids) in enumerate(kept):
        qrels_lines += [f"ct{n:03d} 0 {pid} 1" for pid in ids]
    qrels = folder / "colour_type.qrels"
    qrels.write_text("\n".join(qrels_lines) + "\n", encoding="utf-8")
    for language in ("en", "zh"):
        lines = []
        for n, ((colour, kind), _) in enumerate(kept):
            text = f"{colour} {kind}" if language == "en" else f"{ZH_COLOUR[colour]}{ZH_TYPE[kind]}"
            lines.append(f"ct{n:03d}\t{text}")
        path = folder / f"colour_type_{language}.tsv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sets[f"colour_type_{language}"] = (path, qrels)
        ceilings[f"colour_type_{language}"] = float(np.mean([min(len(ids), 10) / 10 for _, ids in kept]))

    by_code: dict[str, list[str]] = {}
    for row in catalog:
        by_code.setdefault(row.get("product_code") or row["article_id"], []).append(row["article_id"])
    described = [r for r in catalog if (r.get("detail_desc") or "").strip() and r.get("colour_group_name")]
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(described), size=min(descriptions, len(described)), replace=False))
    q_lines, r_lines = [], []
    for n, index in enumerate(chosen):
        row = described[int(index)]
        qid = f"d{n:04d}"
        q_lines.append(f"{qid}\t{row['colour_group_name']} {' '.join(row['detail_desc'].split())}")
        r_lines.append(f"{qid} 0 {row['article_id']} 2")
        code = row.get("product_code") or row["article_id"]
        r_lines += [f"{qid} 0 {other} 1" for other in by_code[code] if other != row["article_id"]]
    queries, qrels = folder / "description.tsv", folder / "description.qrels"
    queries.write_text("\n".join(q_lines) + "\n", encoding="utf-8")
    qrels.write_text("\n".join(r_lines) + "\n", encoding="utf-8")
    sets["description_en"] = (queries, qrels)
    return sets, ceilings, [(ZH_COLOUR[colour], ZH_TYPE[kind]) for (colour, kind), _ in kept]


def _seller_set(
    catalog: list[dict[str, str]], folder: Path, pairs_jsonl: Path, min_items: int
) -> tuple[tuple[Path, Path], float, list[tuple[str, str]]]:
    """The seller-worded Chinese queries: files, P@10 ceiling, and each query's two words."""
    built = seller_queries(pairs_jsonl, catalog, min_items=min_items)
    queries, qrels = folder / "colour_type_zh_seller.tsv", folder / "colour_type_zh_seller.qrels"
    queries.write_text("".join(f"{qid}\t{text}\n" for qid, text in built.queries.items()), encoding="utf-8")
    qrels.write_text(
        "".join(f"{qid} 0 {pid} 1\n" for qid, ids in built.qrels.items() for pid in ids), encoding="utf-8"
    )
    ceiling = float(np.mean([min(len(ids), 10) / 10 for ids in built.qrels.values()]))
    return (queries, qrels), ceiling, list(built.words.values())


def build_protocol(
    name: str,
    items_csv: Path,
    folder: Path,
    *,
    seed: int = 0,
    min_items: int = 3,
    descriptions: int = 300,
    seller_pairs: Path | None = None,
) -> Protocol:
    """Write the catalogues, queries and qrels of protocol ``name`` ("in-shop" or "cross-shop").

    ``seller_pairs`` (``product-copy-zh/pairs.jsonl``) adds the seller-worded Chinese query set.
    """
    if name not in ("in-shop", "cross-shop"):
        raise ValueError(f"unknown protocol {name!r}; use in-shop or cross-shop")
    folder.mkdir(parents=True, exist_ok=True)
    items = _titled_items(items_csv)
    if not items:
        raise ValueError(f"{items_csv} has no items with both a title and a photo")
    train_path: Path | None = None
    if name == "in-shop":
        codes = sorted({row.get("product_code") or row["article_id"] for row in items})
        rng = np.random.default_rng(seed)
        rng.shuffle(codes)
        train_codes = set(codes[: len(codes) // 2])
        train = [r for r in items if (r.get("product_code") or r["article_id"]) in train_codes]
        searched = [r for r in items if (r.get("product_code") or r["article_id"]) not in train_codes]
        train_path = folder / "train.jsonl"
        _write_jsonl(
            train_path,
            [
                {
                    "id": r["article_id"],
                    "title": r["prod_name"],
                    "description": r.get("detail_desc") or "",
                    "image": r["image"],
                    **{label: r.get(label) or None for label in LABELS},
                }
                for r in train
            ],
        )
    else:
        searched = items
    catalog = folder / "catalog.jsonl"
    _write_jsonl(catalog, [{"id": r["article_id"], "image": r["image"]} for r in searched])
    sets, ceilings, table_words = _query_sets(searched, folder, min_items, descriptions, seed)
    glossary_words = [word for _, other in concepts() for word in other]
    coverage = {"colour_type_zh": glossary_coverage(table_words, glossary_words)}
    if seller_pairs is not None:
        key = "colour_type_zh_seller"
        sets[key], ceilings[key], seller_words = _seller_set(searched, folder, seller_pairs, min_items)
        coverage[key] = glossary_coverage(seller_words, glossary_words)
    return Protocol(name, train_path, catalog, sets, ceilings, coverage)
