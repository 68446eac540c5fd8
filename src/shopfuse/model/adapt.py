"""``shopfuse adapt``: fit a trained model to another shop's photos, no text or labels needed."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shopfuse.config import EngineConfig
from shopfuse.context import Context
from shopfuse.errors import ConfigError
from shopfuse.model.shop_model import MODEL_FILE, ShopModel
from shopfuse.types import Modality

__all__ = ["adapt_to", "adaptable_model"]


def adaptable_model(model_dir: str | Path, out: str | Path) -> tuple[ShopModel, EngineConfig]:
    """The model in ``model_dir`` and the encoders to read a new shop's photos with.

    Refuses to write over the original and models without photo statistics.
    """
    source_dir, out = Path(model_dir), Path(out)
    if out.resolve() == source_dir.resolve():
        raise ConfigError("write the adapted model to a new folder (--out), not over the original")
    model = ShopModel.load(source_dir)
    if "source" not in model.image_shift:
        raise ConfigError(f"model {source_dir} predates photo statistics; retrain it to adapt it")
    config = EngineConfig(
        text_encoder=model.config.text_encoder, image_encoder=model.config.image_encoder, ocr="off"
    )
    return model, config


def adapt_to(
    model: ShopModel,
    photos_of: Context,
    catalog: Path,
    out: str | Path,
    *,
    echo: Callable[[str], None] = print,
) -> ShopModel:
    """Save ``model`` to ``out`` with its image side normalised to the photos stored in ``photos_of``.

    Per-shop feature normalisation: the mean photo feature of the new shop (``catalog``, ingested
    into ``photos_of``) is moved onto the training shop's mean before alignment and the attribute
    heads. Studio lighting, backgrounds and model-vs-flat-lay styles shift every feature of a shop
    the same way; this removes that shift.
    """
    out = Path(out)
    _, photos = photos_of.store.vectors(Modality.IMAGE.value)
    if len(photos) < 20:
        raise ConfigError(f"{catalog} has {len(photos)} products with a photo; adapting needs at least 20")
    model.image_shift["target"] = photos.mean(0).astype(np.float32)
    model.config.adapted_to = {"catalog": str(catalog.resolve()), "photos": len(photos)}
    digest = hashlib.sha256(model.image_shift["target"].tobytes()).hexdigest()[:6]
    model.config.model_id = f"{model.config.model_id}-a{digest}"
    if out.exists():
        if not (out / MODEL_FILE).is_file():
            raise ConfigError(f"{out} exists and is not a model folder; refusing to overwrite it")
        shutil.rmtree(out)
    model.save(out)
    echo(f"adapted {model.describe()} to {len(photos)} photos of {catalog}; saved to {out}")
    return model
