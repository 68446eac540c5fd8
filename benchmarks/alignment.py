"""Learned cross-modal spaces: how well each aligner lets a product's title find its photo.

Features come from a store of the shared fashion catalogue (``--store``, built with
``shopfuse ingest ../shared/data/fashion-products/metadata.csv --store DIR
--field title=productDisplayName``): the stored image vectors (EfficientNet-Lite0 features and a
colour histogram, 1392-d) and USE title vectors (512-d), row-aligned by product id.

A seeded split holds out ``--test`` products; ``--valid`` of the rest are the validation pairs
every method receives (ridge picks its alpha on them, contrastive stops early on them; the
others ignore them) and every method trains on the remaining pairs. For each method: held-out
title→image Recall@1/5/10 and MRR (each title ranks all held-out photos), and training seconds.

Also measured:

- cross-shop (when ``--hm-store`` holds a store of the H&M articles): the fashion-trained map
  applied unchanged to the H&M items that have a title, title→image R@10 among them;
- cross-language agreement: English queries and their Chinese translations, encoded with USE,
  mapped by each method's text side; the share of the English query's top-10 held-out photos that
  the Chinese query also returns (1.0 = the text side kept USE's multilingual alignment);
- for contrastive, the image input: the stored vector (colour weight 0.25) against the two parts
  re-weighted (colour weight 0 and 0.5).

Run::

    python benchmarks/alignment.py --store /tmp/fullstore --hm-store /tmp/hmstore

Results: a table on stdout and ``benchmarks/results/alignment.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table, write_results

from shopfuse.alignment import mean_reciprocal_rank, recall_at_k
from shopfuse.alignment.metrics import ranks
from shopfuse.encoders.text import USEEncoder
from shopfuse.registry import registry
from shopfuse.store.lance import LanceStore

NAME = "alignment"
BACKBONE_DIM = 1280
"""The stored image vector is sqrt(.75) x EfficientNet features (1280-d) ++ sqrt(.25) x colour."""
STORED_COLOUR_WEIGHT = 0.25
QUERY_PAIRS = [
    ("red dress", "红色连衣裙"), ("black leather shoes", "黑色皮鞋"), ("blue jeans", "蓝色牛仔裤"),
    ("white sneakers", "白色运动鞋"), ("wrist watch", "手表"), ("handbag", "手提包"),
    ("women's sandals", "女士凉鞋"), ("men's shirt", "男士衬衫"), ("sunglasses", "太阳镜"),
    ("wallet", "钱包"), ("pink top", "粉色上衣"), ("grey sweatshirt", "灰色卫衣"),
    ("green t-shirt", "绿色T恤"), ("brown belt", "棕色皮带"), ("purple skirt", "紫色裙子"),
    ("black backpack", "黑色背包"), ("yellow kurta", "黄色库尔塔"), ("navy blue track pants", "海军蓝运动裤"),
    ("silver earrings", "银色耳环"), ("men's socks", "男士袜子"),
]  # fmt: skip
VARIANTS: list[tuple[str, str, dict[str, Any], float]] = [
    ("ridge", "ridge", {}, STORED_COLOUR_WEIGHT),
    ("procrustes", "procrustes", {}, STORED_COLOUR_WEIGHT),
    ("procrustes whitened", "procrustes", {"whiten": True}, STORED_COLOUR_WEIGHT),
    ("cca unweighted", "cca", {"weight_power": 0.0}, STORED_COLOUR_WEIGHT),
    ("cca", "cca", {}, STORED_COLOUR_WEIGHT),
    ("contrastive frozen text", "contrastive", {"text_tower": "frozen"}, STORED_COLOUR_WEIGHT),
    ("contrastive residual text", "contrastive", {"text_tower": "residual"}, STORED_COLOUR_WEIGHT),
    ("contrastive linear text", "contrastive", {"text_tower": "linear"}, STORED_COLOUR_WEIGHT),
    ("contrastive frozen, colour 0", "contrastive", {"text_tower": "frozen"}, 0.0),
    ("contrastive frozen, colour 0.5", "contrastive", {"text_tower": "frozen"}, 0.5),
]


def paired_vectors(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Ids, image and text vectors of the products in the store at ``path`` that have both."""
    store = LanceStore(path)
    image_ids, image = store.vectors("image")
    text_ids, text = store.vectors("text")
    row = {product: i for i, product in enumerate(text_ids)}
    both = [i for i, product in enumerate(image_ids) if product in row]
    ids = [image_ids[i] for i in both]
    return ids, image[both], text[[row[product] for product in ids]]


def reweight(image: np.ndarray, colour_weight: float) -> np.ndarray:
    """The stored image vector with its colour part carrying ``colour_weight`` of the squared norm."""
    if colour_weight == STORED_COLOUR_WEIGHT:
        return image
    backbone = image[:, :BACKBONE_DIM] / np.sqrt(1 - STORED_COLOUR_WEIGHT)
    colour = image[:, BACKBONE_DIM:] / np.sqrt(STORED_COLOUR_WEIGHT)
    return np.hstack([np.sqrt(1 - colour_weight) * backbone, np.sqrt(colour_weight) * colour])


def language_agreement(aligner: Any, photos: np.ndarray, english: np.ndarray, chinese: np.ndarray) -> float:
    """Mean share of the English query's top-10 photos that its Chinese translation also finds."""
    photos = aligner.embed_image(photos)
    top_en = np.argsort(-(aligner.embed_text(english) @ photos.T), axis=1)[:, :10]
    top_zh = np.argsort(-(aligner.embed_text(chinese) @ photos.T), axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_en, top_zh, strict=True)]))


def main() -> None:
    """Fit every variant on the fashion split; print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/fullstore"))
    parser.add_argument("--hm-store", type=Path, default=Path("/tmp/hmstore"))
    parser.add_argument("--test", type=int, default=1500)
    parser.add_argument("--valid", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    _, image, text = paired_vectors(args.store)
    order = np.random.default_rng(args.seed).permutation(len(image))
    test, valid, train = np.split(order, [args.test, args.test + args.valid])
    hm = paired_vectors(args.hm_store)[1:] if (args.hm_store / "store.json").is_file() else None
    encoder = USEEncoder()
    english = encoder.encode_text([en for en, _ in QUERY_PAIRS], role="query")
    chinese = encoder.encode_text([zh for _, zh in QUERY_PAIRS], role="query")

    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    rows, results = [], []
    for label, name, params, colour in VARIANTS:
        if wanted and label not in wanted:
            continue
        x = reweight(image, colour)
        aligner = registry.create("alignment", name, **params)
        start = time.perf_counter()
        aligner.fit(x[train], text[train], valid=(x[valid], text[valid]), seed=args.seed)
        seconds = time.perf_counter() - start
        queries, photos = aligner.embed_text(text[test]), aligner.embed_image(x[test])
        rank = ranks(queries, photos)
        result: dict[str, Any] = {
            "variant": label,
            "method": name,
            "params": params,
            "colour_weight": colour,
            "joint_dim": aligner.joint_dim,
            "r1": float((rank < 1).mean()),
            "r5": float((rank < 5).mean()),
            "r10": float((rank < 10).mean()),
            "mrr": mean_reciprocal_rank(queries, photos),
            "train_s": round(seconds, 2),
            "epochs": getattr(aligner, "epochs_", None),
            "alpha": getattr(aligner, "alpha_", None),
            "zh_en_top10_agreement": language_agreement(aligner, x[test], english, chinese),
            "hm_r10": None,
        }
        if hm is not None:
            hm_image, hm_text = reweight(hm[0], colour), hm[1]
            result["hm_r10"] = recall_at_k(aligner.embed_text(hm_text), aligner.embed_image(hm_image), 10)
        results.append(result)
        rows.append(
            [label, result["r1"], result["r5"], result["r10"], result["mrr"], result["train_s"],
             result["zh_en_top10_agreement"], result["hm_r10"]]
        )  # fmt: skip
        print(f"{label}: R@10 {result['r10']:.3f} in {seconds:.1f} s", flush=True)

    title = (
        f"title→image on {len(test)} held-out fashion products (train {len(train)}, valid {len(valid)})"
        + (f"; H&M: {len(hm[0])} titled items" if hm is not None else "")
    )
    headers = ["method", "R@1", "R@5", "R@10", "MRR", "train s", "zh/en agree", "H&M R@10"]
    print_table(title, headers, rows)
    chance = {"fashion_r10": 10 / len(test), "hm_r10": None if hm is None else 10 / len(hm[0])}
    params = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    write_results(NAME, params, {"chance": chance, "methods": results})


if __name__ == "__main__":
    main()
