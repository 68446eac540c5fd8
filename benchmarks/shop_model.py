"""The whole shop model on a held-out split: every alignment method and every fusion strategy, each
modality alone and fused, for three tasks, with training time per part.

Features come from a store of the whole shared fashion catalogue (``--store``, built with
``shopfuse ingest ../shared/data/fashion-products/metadata.csv --store DIR
--field title=productDisplayName``), read once with :func:`shopfuse.model.train.load_features`:
image vectors (EfficientNet-Lite0 + colour, 1392-d), USE title vectors (512-d) and OCR vectors
(empty when the store was ingested with ``--ocr off``, as the default is).

A seeded split holds out ``--test`` products. The rest is what ``shopfuse train`` would see, and
each model is built from it as :func:`shopfuse.model.train.train_model` builds one: 10% of it are
validation pairs for the aligner (ridge picks its alpha, contrastive stops early on them), the
aligner is fitted on the other photo+title pairs, the fusion on the joint modalities of the titled
training products with the joint title as target, and the attribute heads on fused vectors of the
training products, full and photo-only views together.

Rows:

- ``ALIGNMENT + cross-attention``: each alignment method with the default fusion;
- ``cca + FUSION``: each other fusion strategy with the default alignment;
- ``image alone (ALIGNMENT)``: no fusion, the aligned photo vector is the product (heads trained on it);
- ``text alone (cca)``: no fusion, the joint title vector is the product (heads trained on it).

Measured on the held-out products (all of them have a photo and a title):

- image-only R@10/MRR: each held-out title (``model.embed_query``) ranks the held-out products
  fused from their photo alone, the title hidden: the real test of finding photo-only products;
- full R@10/MRR: the same, with every modality present. The query is the product's own title, so
  this is close to 1 by construction; it shows fusion does not lose the title;
- attributes: accuracy and macro-F1 of articleType, baseColour and gender predicted from the
  photo-only vectors (``photo``), and from the full vectors (``full``; titles for ``text alone``);
- training seconds of the alignment, the fusion and the heads (fusing the training views included).

Run (about 10 minutes on a busy 2-core box; ``--quick`` is a smoke run of a minute or two)::

    python benchmarks/shop_model.py --store /tmp/fullstore

Results: a table on stdout, ``benchmarks/results/shop_model.json`` and a bar chart
``benchmarks/results/shop_model.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS_DIR, print_table, write_results

from shopfuse.alignment.base import Aligner
from shopfuse.alignment.metrics import ranks
from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.encoders.base import l2_normalize
from shopfuse.engine import CONFIG_FILE
from shopfuse.evaluation.attributes import attribute_metrics
from shopfuse.fusion.base import Fusion
from shopfuse.model.attributes import AttributeHeads
from shopfuse.model.shop_model import ModelConfig, ShopModel
from shopfuse.model.train import load_features
from shopfuse.registry import registry
from shopfuse.store.lance import LanceStore

NAME = "shop_model"
MODALITIES = ["image", "text", "ocr"]
LABELS = ["articleType", "baseColour", "gender"]
ALIGNMENTS = ["ridge", "procrustes", "cca", "contrastive"]
DEFAULT_ALIGNMENT, DEFAULT_FUSION = "cca", "cross-attention"
QUICK_ALIGNMENTS = ["ridge", "cca", "contrastive"]
QUICK_FUSIONS = ["attention", "late", "concat"]
VALID_FRACTION = 0.1
"""As ``train_model``'s default: the share of the training products kept for the aligner's validation."""


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Limit torch and BLAS threads (busy-waiting threads on a shared box cost 10x)."""
    import torch

    if count <= 0:
        yield
        return
    torch.set_num_threads(count)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not a shopfuse dependency; without it only torch is limited
        limits: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    else:
        limits = threadpool_limits(count)
    with limits:
        yield


def retrieval(queries: np.ndarray, documents: np.ndarray, k: int) -> dict[str, float]:
    """Recall@k and MRR of each query's own row among ``documents``."""
    rank = ranks(queries, documents)
    return {"recall": round(float((rank < k).mean()), 4), "mrr": round(float((1.0 / (rank + 1)).mean()), 4)}


def label_values(attributes: Sequence[dict[str, Any]], label: str) -> list[str | None]:
    """A label's values as strings, ``None`` where unknown."""
    return [None if a.get(label) is None else str(a.get(label)) for a in attributes]


def fit_heads(
    vectors: np.ndarray, attributes: Sequence[dict[str, Any]], epochs: int, seed: int
) -> AttributeHeads:
    """Attribute heads as ``train_model`` fits them, on the given vectors."""
    values = {label: label_values(attributes, label) for label in LABELS}
    return AttributeHeads(epochs=epochs).fit(vectors, values, seed=seed)


def attribute_scores(
    heads: AttributeHeads, vectors: np.ndarray, attributes: Sequence[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 per label."""
    predicted = heads.predict(vectors)
    scores = {}
    for label in LABELS:
        metrics = attribute_metrics(label_values(attributes, label), [p[label].value for p in predicted])
        scores[label] = {"accuracy": round(metrics["accuracy"], 4), "macro_f1": round(metrics["macro_f1"], 4)}
    return scores


def photo_only(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The masks with every modality but the photo hidden."""
    return {m: (v & (m == "image")) for m, v in masks.items()}


class Bench:
    """The split, the features and what every row needs to build and measure a model."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        store = LanceStore(args.store)
        self.engine_config = EngineConfig.load(args.store / CONFIG_FILE)
        self.encoders = {m: store.manifest.encoder(m).to_dict() for m in MODALITIES}
        started = time.perf_counter()
        table = load_features(store, MODALITIES)
        print(f"loaded {len(table.ids)} products in {time.perf_counter() - started:.1f} s", flush=True)
        order = np.random.default_rng(args.seed).permutation(len(table.ids))
        if args.train_limit:
            order = order[: args.test + args.train_limit]
        self.test = table.rows(np.sort(order[: args.test]))
        rest = table.rows(np.sort(order[args.test :]))
        # What train_model does with the catalogue it is given (here: everything but the test split).
        inner = np.random.default_rng(args.seed).permutation(len(rest.ids))
        n_valid = round(len(inner) * VALID_FRACTION)
        self.valid, self.train = rest.rows(np.sort(inner[:n_valid])), rest.rows(np.sort(inner[n_valid:]))
        self.paired = self.train.masks["image"] & self.train.masks["text"]
        valid_paired = self.valid.masks["image"] & self.valid.masks["text"]
        self.valid_pairs = (self.valid.raw["image"][valid_paired], self.valid.raw["text"][valid_paired])
        test_paired = np.flatnonzero(self.test.masks["image"] & self.test.masks["text"])
        self.probe = self.test.rows(test_paired)
        self.photo_test = self.test.rows(np.flatnonzero(self.test.masks["image"]))
        self.titled_train = self.train.rows(np.flatnonzero(self.train.masks["text"]))
        self.split: dict[str, Any] = {
            "products": len(table.ids),
            "test": len(self.test.ids),
            "test_pairs": len(self.probe.ids),
            "train": len(self.train.ids),
            "train_pairs": int(self.paired.sum()),
            "valid": len(self.valid.ids),
            "modalities_present": {m: int(v.sum()) for m, v in table.masks.items()},
        }

    def fit_aligner(self, name: str) -> tuple[Aligner, float]:
        """The aligner on the training pairs, validated on the validation pairs; seconds taken."""
        params: dict[str, Any] = {"epochs": self.args.contrastive_epochs} if name == "contrastive" else {}
        aligner: Aligner = registry.create("alignment", name, **params)
        started = time.perf_counter()
        aligner.fit(
            self.train.raw["image"][self.paired],
            self.train.raw["text"][self.paired],
            valid=self.valid_pairs,
            seed=self.args.seed,
        )
        return aligner, time.perf_counter() - started

    def model_row(self, alignment: str, aligner: Aligner, align_s: float, fusion_name: str) -> dict[str, Any]:
        """Build a ShopModel as ``train_model`` does and measure it on the held-out products."""
        seed, k = self.args.seed, self.args.k
        params: dict[str, Any] = {"training": {"epochs": self.args.fusion_epochs}} if self.args.quick else {}
        config = ModelConfig(
            model_id="benchmark",
            text_encoder=self.engine_config.text_encoder,
            image_encoder=self.engine_config.image_encoder,
            encoders=self.encoders,
            alignment=ComponentSpec(name=alignment),
            fusion=ComponentSpec(name=fusion_name, params=params),
            modalities=MODALITIES,
            joint_dim=int(aligner.joint_dim),
            labels=LABELS,
            seed=seed,
        )
        fusion: Fusion = registry.create("fusion", fusion_name, **params)
        model = ShopModel(config, aligner, fusion)
        titled = self.titled_train
        joint = model.joint_modalities(titled.raw, titled.masks)
        started = time.perf_counter()
        fusion.fit(joint, titled.masks, joint["text"], seed=seed)
        fusion_s = time.perf_counter() - started

        started = time.perf_counter()
        train, has_image = self.train, self.train.masks["image"]
        photos = train.rows(np.flatnonzero(has_image))
        vectors = np.concatenate(
            [
                model.fuse(train.raw, train.masks).vectors,
                model.fuse(photos.raw, photo_only(photos.masks)).vectors,
            ]
        )
        model.heads = fit_heads(
            vectors, [*train.attributes, *photos.attributes], self.args.heads_epochs, seed
        )
        heads_s = time.perf_counter() - started

        probe = self.probe
        queries = model.embed_query(probe.raw["text"])
        image_only = model.fuse(probe.raw, photo_only(probe.masks))
        full = model.fuse(probe.raw, probe.masks)
        photo_test = self.photo_test
        photo_vectors = model.fuse(photo_test.raw, photo_only(photo_test.masks)).vectors
        return {
            "row": f"{alignment} + {fusion_name}",
            "kind": "fused",
            "alignment": alignment,
            "fusion": fusion_name,
            "joint_dim": int(aligner.joint_dim),
            "image_only": retrieval(queries, image_only.vectors, k),
            "full": retrieval(queries, full.vectors, k),
            "attributes_photo": attribute_scores(model.heads, photo_vectors, photo_test.attributes),
            "attributes_full": attribute_scores(
                model.heads, model.fuse(self.test.raw, self.test.masks).vectors, self.test.attributes
            ),
            "full_mean_contribution": {
                m: round(float(c[probe.masks[m]].mean()), 3)
                for m, c in full.contributions.items()
                if probe.masks[m].any()
            },
            "seconds": {
                "alignment": round(align_s, 2),
                "fusion": round(fusion_s, 2),
                "heads": round(heads_s, 2),
            },
        }

    def image_alone_row(self, alignment: str, aligner: Aligner, align_s: float) -> dict[str, Any]:
        """No fusion: the aligned photo vector is the product; heads trained on those vectors."""
        train, seed = self.train, self.args.seed
        photos = train.rows(np.flatnonzero(train.masks["image"]))
        started = time.perf_counter()
        heads = fit_heads(
            aligner.embed_image(photos.raw["image"]), photos.attributes, self.args.heads_epochs, seed
        )
        heads_s = time.perf_counter() - started
        queries = l2_normalize(aligner.embed_text(self.probe.raw["text"]))
        return {
            "row": f"image alone ({alignment})",
            "kind": "image alone",
            "alignment": alignment,
            "fusion": None,
            "joint_dim": int(aligner.joint_dim),
            "image_only": retrieval(queries, aligner.embed_image(self.probe.raw["image"]), self.args.k),
            "full": None,
            "attributes_photo": attribute_scores(
                heads, aligner.embed_image(self.photo_test.raw["image"]), self.photo_test.attributes
            ),
            "attributes_full": None,
            "seconds": {"alignment": round(align_s, 2), "fusion": None, "heads": round(heads_s, 2)},
        }

    def text_alone_row(self, alignment: str, aligner: Aligner, align_s: float) -> dict[str, Any]:
        """No fusion: the joint title vector is the product; heads trained on it, measured on titles."""
        titled, seed = self.titled_train, self.args.seed
        started = time.perf_counter()
        heads = fit_heads(
            aligner.embed_text(titled.raw["text"]), titled.attributes, self.args.heads_epochs, seed
        )
        heads_s = time.perf_counter() - started
        queries = l2_normalize(aligner.embed_text(self.probe.raw["text"]))
        test_titled = self.test.rows(np.flatnonzero(self.test.masks["text"]))
        return {
            "row": f"text alone ({alignment})",
            "kind": "text alone",
            "alignment": alignment,
            "fusion": None,
            "joint_dim": int(aligner.joint_dim),
            "image_only": None,
            "full": retrieval(queries, queries, self.args.k),
            "attributes_photo": None,
            "attributes_full": attribute_scores(
                heads, aligner.embed_text(test_titled.raw["text"]), test_titled.attributes
            ),
            "seconds": {"alignment": round(align_s, 2), "fusion": None, "heads": round(heads_s, 2)},
        }


def table_rows(results: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the printed (and README) table."""
    headers = [
        "model", "img-only R@10", "img-only MRR", "full R@10", "full MRR",
        *(f"{label[:7]} acc/F1 photo" for label in LABELS), "artType acc full",
        "align s", "fusion s", "heads s",
    ]  # fmt: skip

    def get(row: dict[str, Any], *keys: str) -> Any:
        value: Any = row
        for key in keys:
            if value is None:
                return None
            value = value[key]
        return value

    def pair(scores: dict[str, Any] | None, label: str) -> str:
        if scores is None:
            return "-"
        return f"{scores[label]['accuracy']:.3f}/{scores[label]['macro_f1']:.3f}"

    def seconds(value: float | None) -> str | None:
        return None if value is None else f"{value:.1f}"

    rows = []
    for r in results:
        default = r["alignment"] == DEFAULT_ALIGNMENT and r["fusion"] == DEFAULT_FUSION
        rows.append(
            [
                # the stored photo features are the frozen backbone's: default methods, not the
                # default training (which tunes the backbone from 2,000 pairs on)
                r["row"] + (" (default methods, frozen backbone)" if default else ""),
                get(r, "image_only", "recall"), get(r, "image_only", "mrr"),
                get(r, "full", "recall"), get(r, "full", "mrr"),
                *(pair(r["attributes_photo"], label) for label in LABELS),
                get(r, "attributes_full", "articleType", "accuracy"),
                *(seconds(r["seconds"][part]) for part in ("alignment", "fusion", "heads")),
            ]
        )  # fmt: skip
    return headers, rows


def markdown(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The table as GitHub markdown, for the README."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if isinstance(value, float) and abs(value) < 10 else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path, title: str) -> None:
    """Grouped horizontal bars: image-only R@10 and photo-only attribute accuracies per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r["attributes_photo"] is not None or r["image_only"] is not None]
    series = [
        ("title→image-only product R@10", lambda r: r["image_only"]["recall"] if r["image_only"] else 0.0),
        *(
            (f"{label} accuracy (photo only)", lambda r, lb=label: r["attributes_photo"][lb]["accuracy"])
            for label in LABELS
        ),
    ]
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(shown) + 2.0))
    y = np.arange(len(shown))
    for i, (name, value) in enumerate(series):
        values = [value(r) for r in shown]
        ax.barh(y + (i - (len(series) - 1) / 2) * height, values, height, label=name)
    labels = [
        r["row"] + (" *" if r["alignment"] == DEFAULT_ALIGNMENT and r["fusion"] == DEFAULT_FUSION else "")
        for r in shown
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Fit every configuration on the training split, measure on the held-out one, print and save."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=Path("/tmp/fullstore"), help="store of the catalogue")
    parser.add_argument("--test", type=int, default=1500, help="held-out products")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--alignments", default=None, help=f"comma-separated (default: {','.join(ALIGNMENTS)})"
    )
    parser.add_argument("--fusions", default=None, help="comma-separated (default: every registered one)")
    parser.add_argument(
        "--heads-epochs", type=int, default=30, help="attribute heads epochs (train_model: 30)"
    )
    parser.add_argument("--contrastive-epochs", type=int, default=30, help="upper bound, early-stopped")
    parser.add_argument("--fusion-epochs", type=int, default=2, help="fusion epochs with --quick")
    parser.add_argument("--train-limit", type=int, default=0, help="use only this many training products")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (0: libraries' own)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: alignments {','.join(QUICK_ALIGNMENTS)}, fusions {','.join(QUICK_FUSIONS)}, "
        "2 fusion / 3 heads / 2 contrastive epochs, 3,000 training products",
    )
    args = parser.parse_args()
    if args.quick:
        args.heads_epochs, args.contrastive_epochs = (
            min(args.heads_epochs, 3),
            min(args.contrastive_epochs, 2),
        )
        args.train_limit = args.train_limit or 3000
    alignments = (args.alignments or ",".join(QUICK_ALIGNMENTS if args.quick else ALIGNMENTS)).split(",")
    fusions = (args.fusions or ",".join(QUICK_FUSIONS if args.quick else registry.names("fusion"))).split(",")

    with threads(args.threads):
        bench = Bench(args)
        # One untimed tiny fit first, so the first timed heads do not pay torch's and sklearn's imports.
        warm = bench.train.rows(np.arange(min(64, len(bench.train.ids))))
        attribute_scores(
            fit_heads(warm.raw["text"], warm.attributes, 1, args.seed), warm.raw["text"], warm.attributes
        )
        print(f"split: {bench.split}", flush=True)
        aligners: dict[str, tuple[Aligner, float]] = {}
        for name in dict.fromkeys([*alignments, DEFAULT_ALIGNMENT]):
            aligners[name] = bench.fit_aligner(name)
            print(f"alignment {name}: {aligners[name][1]:.1f} s", flush=True)

        results: list[dict[str, Any]] = []

        def add(row: dict[str, Any]) -> None:
            results.append(row)
            print(
                f"{row['row']}: image-only {row['image_only']}, articleType photo "
                f"{(row['attributes_photo'] or {}).get('articleType')}, seconds {row['seconds']}",
                flush=True,
            )

        for name in alignments:
            add(bench.model_row(name, *aligners[name], DEFAULT_FUSION))
        for fusion_name in fusions:
            if fusion_name != DEFAULT_FUSION:
                add(bench.model_row(DEFAULT_ALIGNMENT, *aligners[DEFAULT_ALIGNMENT], fusion_name))
        for name in alignments:
            add(bench.image_alone_row(name, *aligners[name]))
        add(bench.text_alone_row(DEFAULT_ALIGNMENT, *aligners[DEFAULT_ALIGNMENT]))

    split = bench.split
    title = (
        f"{split['test']} held-out fashion products (trained on {split['train']}, "
        f"{split['train_pairs']} pairs; aligner validation {split['valid']}), seed {args.seed}"
    )
    headers, rows = table_rows(results)
    print_table(title, headers, rows)
    print("\nmarkdown:\n" + markdown(headers, rows))
    fused = [r for r in results if r["kind"] == "fused"]
    best = max(fused, key=lambda r: r["image_only"]["recall"])
    print(f"best title→image-only R@10: {best['row']} ({best['image_only']['recall']:.3f})")
    best = max(fused, key=lambda r: r["attributes_photo"]["articleType"]["accuracy"])
    accuracy = best["attributes_photo"]["articleType"]["accuracy"]
    print(f"best articleType photo accuracy: {best['row']} ({accuracy:.3f})")

    png = RESULTS_DIR / f"{NAME}{'_quick' if args.quick else ''}.png"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    plot(results, png, f"Shop model, {title}\n(* = default; photo only = title hidden)\n\n")
    print(f"plot written to {png}")
    params = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    params.update(alignments=alignments, fusions=fusions, labels=LABELS, split=split)
    write_results(
        f"{NAME}_quick" if args.quick else NAME,
        params,
        {"chance_r10": args.k / max(split["test_pairs"], 1), "rows": results},
    )


if __name__ == "__main__":
    main()
