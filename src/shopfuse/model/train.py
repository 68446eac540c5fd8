"""``shopfuse train``: learn a shop model (alignment, fusion, attribute heads) from a catalogue."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shopfuse.alignment.metrics import recall_at_k
from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.context import Context
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.encoders.image import EfficientNetColourEncoder, onnx_cache_dir
from shopfuse.encoders.tail import save_tail
from shopfuse.errors import ConfigError
from shopfuse.modalities.base import modality_spec
from shopfuse.model.attributes import AttributeHeads
from shopfuse.model.backbone import (
    TailSettings,
    advance,
    early_activations,
    onnx_bottom,
    tail_features,
    tune_tail,
)
from shopfuse.model.shop_model import ModelConfig, ShopModel
from shopfuse.registry import registry
from shopfuse.store.base import VectorStore
from shopfuse.types import Modality

__all__ = [
    "AUTO_TUNE_PAIRS",
    "FeatureTable",
    "TuneMode",
    "default_features_dir",
    "fit_model",
    "load_features",
    "training_config",
]

Echo = Callable[[str], None]
TuneMode = Literal["auto", "on", "off"]
AUTO_TUNE_PAIRS = 2000
"""``--tune-backbone auto`` tunes from this many photo+title pairs on: on the shared data, 8.6k pairs
gained 3 points of title->photo R@10 and 2-3 of photo-only type accuracy; 724 pairs gained nothing."""


@dataclass(slots=True)
class FeatureTable:
    """Every stored product's raw vectors per modality (zeros where missing) and attributes."""

    ids: list[str]
    raw: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    attributes: list[dict[str, Any]]

    def rows(self, index: np.ndarray) -> FeatureTable:
        """The products at ``index``."""
        return FeatureTable(
            [self.ids[i] for i in index],
            {m: v[index] for m, v in self.raw.items()},
            {m: v[index] for m, v in self.masks.items()},
            [self.attributes[i] for i in index],
        )


SMALL_PHOTOS = 2000
"""Training products whose photo is also learned from as a 60x80 thumbnail (catalogue thumbnail size)."""
SMALL_SIZE = (60, 80)


BASE_MODALITIES = (Modality.IMAGE.value, Modality.TEXT.value, Modality.OCR.value)
"""Fused by every model, in this order (models trained before video and sound keep their layout)."""


def fused_modalities(store: VectorStore) -> list[str]:
    """The store's modalities a model fuses: the base ones, then every other column with a tower
    that some product has (video frames, speech), so a shop with videos gets towers for them."""
    counts = store.modality_counts()
    extra = [
        column
        for column in store.manifest.columns
        if column not in BASE_MODALITIES
        and column in registry.names("modality")
        and modality_spec(column).tower is not None
        and counts.get(column, 0) > 0
    ]
    return [*BASE_MODALITIES, *extra]


def load_features(store: VectorStore, modalities: Sequence[str]) -> FeatureTable:
    """Read the raw vectors of every product in ``store`` for ``modalities``, aligned by product."""
    ids = sorted(store.hashes())
    position = {pid: i for i, pid in enumerate(ids)}
    raw, masks = {}, {}
    for modality in modalities:
        dim = store.manifest.encoder(modality).dim
        matrix = np.zeros((len(ids), dim), dtype=np.float32)
        mask = np.zeros(len(ids), dtype=bool)
        column_ids, vectors = store.vectors(modality)
        rows = np.array([position[i] for i in column_ids], dtype=np.int64)
        if len(rows):
            matrix[rows] = vectors
            mask[rows] = True
        raw[modality], masks[modality] = matrix, mask
    attributes: list[dict[str, Any]] = []
    for start in range(0, len(ids), 1000):
        attributes += [row["attributes"] for row in store.get(ids[start : start + 1000])]
    return FeatureTable(ids, raw, masks, attributes)


def default_features_dir(catalog: Path, mapping: FieldMapping, config: EngineConfig) -> Path:
    """A cache folder of encoded features per (catalogue, mapping, encoders), reused across trainings."""
    key = json.dumps(
        [
            str(catalog.resolve()),
            mapping.model_dump(),
            config.text_encoder.model_dump(),
            config.image_encoder.model_dump() if config.image_encoder else None,
            config.ocr,
        ],
        sort_keys=True,
    )
    return onnx_cache_dir().parent / "features" / hashlib.sha256(key.encode()).hexdigest()[:16]


def training_config(engine_config: EngineConfig | None) -> EngineConfig:
    """The encoders a model is trained over (defaults when none are given); training needs photos."""
    config = engine_config or EngineConfig()
    if config.image_encoder is None:
        raise ConfigError("training a shop model needs an image encoder")
    return config


def fit_model(
    features: Context,
    out: str | Path,
    *,
    catalog: Path,
    alignment: ComponentSpec | None = None,
    fusion: ComponentSpec | None = None,
    labels: Sequence[str] = (),
    seed: int = 0,
    valid_fraction: float = 0.1,
    image_heads: bool = True,
    small_photos: int = SMALL_PHOTOS,
    tune_backbone: TuneMode = "auto",
    tail: TailSettings | None = None,
    unlabelled: Sequence[str | Path] = (),
    progress: bool = True,
    echo: Echo = print,
    started: float | None = None,
) -> ShopModel:
    """Learn a model from the products in ``features`` (``catalog``, ingested), save it to ``out``.

    ``tune_backbone`` fine-tunes the top of the image backbone first (:mod:`shopfuse.model.backbone`,
    settings ``tail``): ``on``, ``off``, or ``auto`` = on when the catalogue has at least
    :data:`AUTO_TUNE_PAIRS` photo+title pairs (below that, tuning measured no gain). Every later
    part then learns on the tuned photo features, and the model's image encoder becomes the tuned one.
    ``unlabelled`` catalogues (photos of other shops, no text needed) join its self-supervised term
    and batch-norm statistics: adaptation to shops without text (implies tuning).
    ``started`` (a :func:`time.perf_counter` reading) is when the whole training began, encoding included.
    ``small_photos`` training products also join the attribute heads as 60x80 thumbnails of their
    photo (photo only), so shops with small catalogue photos are recognised too; 0: off.
    """
    started = time.perf_counter() if started is None else started
    alignment = alignment or ComponentSpec(name="cca")
    fusion = fusion or ComponentSpec(name="cross-attention")
    config = training_config(features.config)
    store = features.store
    modalities = fused_modalities(store)
    table = load_features(store, modalities)
    missing = [label for label in labels if not any(a.get(label) is not None for a in table.attributes)]
    if missing:
        raise ConfigError(
            f"no product has a value for label(s) {missing}; attributes are {sorted(table.attributes[0])}"
        )

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(table.ids))
    n_valid = round(len(order) * valid_fraction)
    metrics: dict[str, Any] = {}
    image_spec, image_info = config.image_encoder, store.manifest.encoder(Modality.IMAGE.value)
    if tune_backbone not in ("auto", "on", "off"):
        raise ConfigError(f"tune_backbone must be auto, on or off, not {tune_backbone!r}")
    pairs = int((table.masks[Modality.IMAGE.value] & table.masks[Modality.TEXT.value]).sum())
    if unlabelled and tune_backbone == "off":
        raise ConfigError("photos to adapt to were given but backbone tuning is off")
    if tune_backbone == "on" or unlabelled or (tune_backbone == "auto" and pairs >= AUTO_TUNE_PAIRS):
        image_spec, image_info = _tune_backbone(
            features,
            table,
            np.sort(order[n_valid:]),
            np.sort(order[:n_valid]),
            labels,
            tail or TailSettings(),
            unlabelled=unlabelled,
            out=Path(out),
            seed=seed,
            progress=progress,
            echo=echo,
            metrics=metrics,
        )
    valid, train = table.rows(np.sort(order[:n_valid])), table.rows(np.sort(order[n_valid:]))
    paired = train.masks["image"] & train.masks["text"]
    valid_paired = valid.masks["image"] & valid.masks["text"]
    if paired.sum() < 50:
        raise ConfigError(f"only {int(paired.sum())} products have both a photo and text; need at least 50")
    echo(
        f"training on {len(train.ids)} products ({int(paired.sum())} photo+text pairs), "
        f"validating on {len(valid.ids)}"
    )

    t0 = time.perf_counter()
    aligner = registry.create("alignment", alignment.name, **alignment.params)
    valid_pairs = (
        (valid.raw["image"][valid_paired], valid.raw["text"][valid_paired]) if valid_paired.sum() else None
    )
    aligner.fit(
        train.raw["image"][paired], train.raw["text"][paired], valid=valid_pairs, seed=seed, progress=progress
    )
    seconds_alignment = time.perf_counter() - t0
    metrics["alignment_seconds"] = round(seconds_alignment, 2)
    if valid_pairs is not None:
        r10 = recall_at_k(aligner.embed_text(valid_pairs[1]), aligner.embed_image(valid_pairs[0]), 10)
        metrics["valid_title_to_image_R@10"] = round(float(r10), 4)
        echo(
            f"alignment {alignment.name}: title->image R@10 on {len(valid_pairs[0])} held-out pairs "
            f"= {r10:.3f} ({seconds_alignment:.1f}s)"
        )

    model_config = ModelConfig(
        model_id="pending",
        text_encoder=config.text_encoder,
        image_encoder=image_spec,
        encoders={
            m: (
                image_info if modality_spec(m).encoder == "image_encoder" else store.manifest.encoder(m)
            ).to_dict()
            for m in modalities
        },
        alignment=alignment,
        fusion=fusion,
        modalities=modalities,
        joint_dim=int(aligner.joint_dim),
        labels=list(labels),
        seed=seed,
    )
    fuser = registry.create("fusion", fusion.name, **fusion.params)
    has_photo = table.masks["image"]
    source = table.raw["image"][has_photo].mean(0) if has_photo.any() else None
    model = ShopModel(
        model_config,
        aligner,
        fuser,
        image_shift={"source": source.astype(np.float32)} if source is not None else None,
    )
    with_text = train.masks["text"]
    titled = train.rows(np.flatnonzero(with_text))
    joint = model.joint_modalities(titled.raw, titled.masks)
    t0 = time.perf_counter()
    fuser.fit(joint, titled.masks, joint["text"], seed=seed, progress=progress)
    metrics["fusion_seconds"] = round(time.perf_counter() - t0, 2)
    if valid_paired.sum():
        subset = valid.rows(np.flatnonzero(valid_paired))
        image_only = {m: (v & (m == "image")) for m, v in subset.masks.items()}
        fused = model.fuse(subset.raw, image_only).vectors
        target = model.embed_query(subset.raw["text"])
        r10 = recall_at_k(target, fused, 10)
        metrics["valid_title_to_image_only_product_R@10"] = round(float(r10), 4)
        echo(
            f"fusion {fusion.name}: title->image-only product R@10 = {r10:.3f} "
            f"({metrics['fusion_seconds']:.1f}s)"
        )

    if labels:
        t0 = time.perf_counter()
        small = _small_photos(features, image_spec, train, small_photos, seed) if small_photos else None
        heads, label_metrics = _train_heads(model, train, valid, list(labels), seed, progress, small)
        model.heads = heads
        if image_heads:
            model.image_heads, photo_metrics = _train_image_heads(
                train, valid, list(labels), seed, progress, small
            )
            for label, accuracy in photo_metrics.items():
                label_metrics[label]["accuracy_photo_heads"] = accuracy
        metrics["heads_seconds"] = round(time.perf_counter() - t0, 2)
        metrics["attributes"] = label_metrics
        for label, label_scores in label_metrics.items():
            photo = label_scores.get("accuracy_photo_heads")
            echo(
                f"attribute {label}: held-out accuracy {label_scores['accuracy']:.3f} "
                f"(image only {label_scores['accuracy_image_only']:.3f}"
                + (f", photo heads {photo:.3f})" if photo is not None else ")")
            )

    metrics["products"] = len(table.ids)
    metrics["pairs"] = int(paired.sum())
    metrics["catalog"] = str(catalog.resolve())
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    model_config.trained_on = metrics
    digest = hashlib.sha256(
        json.dumps(
            [
                model_config.model_dump(exclude={"trained_on", "model_id"}),
                sorted(store.hashes().values()),
            ],
            sort_keys=True,
            default=str,
        ).encode()
    )
    model_config.model_id = digest.hexdigest()[:12]
    model.save(out)
    echo(f"saved {model.describe()} to {out} in {metrics['seconds']:.0f}s")
    return model


def _tune_backbone(
    features: Context,
    table: FeatureTable,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    labels: Sequence[str],
    settings: TailSettings,
    *,
    unlabelled: Sequence[str | Path],
    out: Path,
    seed: int,
    progress: bool,
    echo: Echo,
    metrics: dict[str, Any],
) -> tuple[ComponentSpec, EncoderInfo]:
    """Tune the backbone's top, rewrite ``table``'s photo vectors with it, return the tuned encoder."""
    from shopfuse.catalog.load import load_catalog
    from shopfuse.encoders.colour import COLOUR_DIM
    from shopfuse.media.images import load_image

    spec = features.config.image_encoder
    if spec is None or spec.name != "efficientnet-colour":
        raise ConfigError("--tune-backbone needs the efficientnet-colour image encoder")
    if spec.params.get("tail"):
        raise ConfigError("the image encoder is already tuned; train from the untuned encoder")
    encoder = EfficientNetColourEncoder(**{**spec.params, "runtime": "torch"})
    net = encoder.network
    n_blocks = len(net._blocks)
    if not 0 <= settings.blocks <= n_blocks:
        raise ConfigError(f"--tune-blocks must be within 0..{n_blocks}")
    cut = n_blocks - settings.blocks
    has_photo = table.masks[Modality.IMAGE.value]
    photo_rows = np.flatnonzero(has_photo)
    paths: list[str] = []
    for start in range(0, len(photo_rows), 1000):
        chunk = [table.ids[i] for i in photo_rows[start : start + 1000]]
        paths += [row["images"][0] for row in features.store.get(chunk)]

    def pixels(batch: Sequence[str]) -> np.ndarray:
        return encoder.pixels([load_image(p) for p in batch])

    cache = features.path / "backbone"
    # one cache below the last block serves every setting of ``blocks`` <= 1
    stored = min(cut, n_blocks - 1)
    echo(f"backbone: caching activations below block {stored} for {len(paths)} photos")
    bottom = onnx_bottom(net, stored, encoder.input_size, f"{encoder.backbone}-{encoder.image_info.version}")

    def activations(photos: Sequence[str]) -> np.ndarray:
        computed = early_activations(
            net, pixels, photos, stored, cache=cache, runtime=bottom, progress=progress
        )
        return advance(net, computed, stored, cut)

    acts = activations(paths)
    extra_paths = [
        p.image for source in unlabelled for p in load_catalog(source).products if p.image is not None
    ]
    extra = activations(extra_paths) if extra_paths else None
    position = np.full(len(table.ids), -1)
    position[photo_rows] = np.arange(len(photo_rows))
    text_mask = table.masks[Modality.TEXT.value]
    pick = train_rows[has_photo[train_rows] & text_mask[train_rows]]
    held = valid_rows[has_photo[valid_rows] & text_mask[valid_rows]]
    no_text = train_rows[has_photo[train_rows] & ~text_mask[train_rows]]
    values = {
        label: [
            None if table.attributes[i].get(label) is None else str(table.attributes[i][label]) for i in pick
        ]
        for label in labels
    }
    pool = [a for a in (acts[position[no_text]], extra) if a is not None and len(a)]
    state, record = tune_tail(
        net,
        cut,
        acts[position[pick]],
        table.raw[Modality.TEXT.value][pick],
        values,
        valid=(acts[position[held]], table.raw[Modality.TEXT.value][held]) if len(held) else None,
        unlabelled=np.concatenate(pool) if pool else None,
        settings=settings,
        seed=seed,
        progress=progress,
        echo=echo,
    )
    file = out / "backbone" / "tail.pt"
    save_tail(file, encoder.backbone, cut, state, record)
    tuned = tail_features(net, cut, acts)
    weight = encoder.colour_weight
    photos = table.raw[Modality.IMAGE.value]
    colours = photos[photo_rows, -COLOUR_DIM:]
    photos[photo_rows] = np.concatenate([l2_normalize(tuned) * np.sqrt(1.0 - weight), colours], axis=1)
    metrics["backbone"] = record
    tuned_spec = ComponentSpec(name=spec.name, params={**spec.params, "tail": str(file.resolve())})
    return tuned_spec, EfficientNetColourEncoder(**tuned_spec.params).image_info


def _small_photos(
    features: Context, image_spec: ComponentSpec | None, train: FeatureTable, limit: int, seed: int
) -> FeatureTable | None:
    """Up to ``limit`` training products with their photo re-encoded from a 60x80 thumbnail, photo only."""
    from PIL import Image

    from shopfuse.errors import MediaError
    from shopfuse.media.images import load_image

    if image_spec is None:
        return None
    with_photo = np.flatnonzero(train.masks["image"])
    if not len(with_photo):
        return None
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(with_photo, size=min(limit, len(with_photo)), replace=False))
    rows = {r["id"]: r for r in features.store.get([train.ids[i] for i in chosen])}
    keep, thumbnails = [], []
    for i in chosen:
        path = (rows.get(train.ids[i]) or {}).get("image")
        if not path:
            continue
        try:
            photo = load_image(path)
        except MediaError:
            continue
        keep.append(int(i))
        thumbnails.append(photo.resize(SMALL_SIZE, Image.Resampling.LANCZOS))
    if not keep:
        return None
    encoder = registry.create("image_encoder", image_spec.name, **image_spec.params)
    small = train.rows(np.array(keep))
    small.raw["image"] = encoder.encode_images(thumbnails)
    small.masks = {m: np.full(len(keep), m == "image") for m in small.masks}
    return small


def _train_heads(
    model: ShopModel,
    train: FeatureTable,
    valid: FeatureTable,
    labels: list[str],
    seed: int,
    progress: bool,
    small: FeatureTable | None = None,
) -> tuple[AttributeHeads, dict[str, dict[str, float]]]:
    """Heads on fused vectors of full products and of their photo alone, so image-only items get labels."""
    from shopfuse.evaluation.attributes import attribute_metrics

    def views(table: FeatureTable) -> tuple[np.ndarray, np.ndarray]:
        full = model.fuse(table.raw, table.masks).vectors
        has_image = table.masks["image"]
        photo = {m: (v & (m == "image")) for m, v in table.masks.items()}
        only = table.rows(np.flatnonzero(has_image))
        return full, model.fuse(only.raw, {m: photo[m][has_image] for m in photo}).vectors

    full, photo_only = views(train)
    has_image = train.masks["image"]
    parts = [full, photo_only]
    values = {
        label: [a.get(label) for a in train.attributes]
        + [a.get(label) for a, keep in zip(train.attributes, has_image, strict=True) if keep]
        for label in labels
    }
    if small is not None:
        parts.append(model.fuse(small.raw, small.masks).vectors)
        for label in labels:
            values[label] += [a.get(label) for a in small.attributes]
    vectors = np.concatenate(parts)
    values = {k: [None if v is None else str(v) for v in vs] for k, vs in values.items()}
    heads = AttributeHeads().fit(vectors, values, seed=seed, progress=progress)
    metrics: dict[str, dict[str, float]] = {}
    if valid.ids:
        valid_full, valid_photo = views(valid)
        full_pred = heads.predict(valid_full)
        photo_pred = heads.predict(valid_photo)
        photo_truth = [a for a, keep in zip(valid.attributes, valid.masks["image"], strict=True) if keep]
        for label in labels:
            truth = [None if a.get(label) is None else str(a.get(label)) for a in valid.attributes]
            scores = attribute_metrics(truth, [p[label].value for p in full_pred])
            only = attribute_metrics(
                [None if a.get(label) is None else str(a.get(label)) for a in photo_truth],
                [p[label].value for p in photo_pred],
            )
            scores["accuracy_image_only"] = only["accuracy"]
            metrics[label] = {k: round(v, 4) for k, v in scores.items()}
    return heads, metrics


def _train_image_heads(
    train: FeatureTable,
    valid: FeatureTable,
    labels: list[str],
    seed: int,
    progress: bool,
    small: FeatureTable | None = None,
) -> tuple[AttributeHeads, dict[str, float]]:
    """Heads straight on the photo features: what a photo-only product is, without the alignment's loss."""
    from shopfuse.evaluation.attributes import attribute_metrics

    def labelled(table: FeatureTable) -> tuple[np.ndarray, dict[str, list[str | None]]]:
        rows = np.flatnonzero(table.masks["image"])
        values = {
            label: [
                None if table.attributes[i].get(label) is None else str(table.attributes[i][label])
                for i in rows
            ]
            for label in labels
        }
        return table.raw["image"][rows], values

    vectors, values = labelled(train)
    if small is not None:
        more, more_values = labelled(small)
        vectors = np.concatenate([vectors, more])
        values = {label: values[label] + more_values[label] for label in labels}
    heads = AttributeHeads(hidden=1024, dropout=0.5, epochs=40).fit(
        vectors, values, seed=seed, progress=progress
    )
    metrics: dict[str, float] = {}
    valid_vectors, valid_values = labelled(valid)
    if len(valid_vectors):
        predicted = heads.predict(valid_vectors)
        for label in labels:
            scores = attribute_metrics(valid_values[label], [p[label].value for p in predicted])
            metrics[label] = round(scores["accuracy"], 4)
    return heads, metrics
