"""Attribute recognition over a store built with a trained model: fill gaps, flag low confidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError
from shopfuse.model.attributes import Prediction
from shopfuse.model.shop_model import ShopModel
from shopfuse.store.base import VectorStore
from shopfuse.tasks.ingest import PRODUCT

__all__ = ["AttributeRow", "predict_attributes"]


@dataclass(slots=True)
class AttributeRow:
    """One product's predictions next to the values it already had."""

    id: str
    known: dict[str, Any]
    predicted: dict[str, Prediction]
    flagged: list[str] = field(default_factory=list)
    contributions: dict[str, float] = field(default_factory=dict)
    """How much each modality shaped the product vector the predictions were made from."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per label the known value, the prediction, its confidence and flags."""
        return {
            "id": self.id,
            "labels": {
                name: {
                    "known": self.known.get(name),
                    "predicted": p.value,
                    "confidence": round(p.confidence, 4),
                    "zero_shot": p.zero_shot,
                    "filled": self.known.get(name) is None,
                    "review": name in self.flagged,
                }
                for name, p in self.predicted.items()
            },
            "contributions": self.contributions,
        }


def predict_attributes(
    store: VectorStore,
    model: ShopModel,
    *,
    ids: Sequence[str] | None = None,
    min_confidence: float = 0.5,
    zero_shot: Mapping[str, Sequence[str]] | None = None,
    embed_labels: Callable[[list[str]], np.ndarray] | None = None,
) -> list[AttributeRow]:
    """Predict every label of ``model`` for the stored products (all, or ``ids``).

    ``zero_shot`` names candidate values never seen in training; ``embed_labels`` maps value texts
    into the model's joint space (text encoder, then the model's text side).
    """
    if model.heads is None:
        raise ConfigError(
            f"model {model.config.model_id} has no attribute heads; train it with --labels a,b,c"
        )
    all_ids, matrix = store.vectors(PRODUCT)
    if ids is not None:
        position = {pid: i for i, pid in enumerate(all_ids)}
        missing = [i for i in ids if i not in position]
        if missing:
            raise ConfigError(f"{len(missing)} product(s) not in the store, e.g. {missing[:3]}")
        matrix = matrix[[position[i] for i in ids]]
        all_ids = list(ids)
    if not all_ids:
        return []

    if zero_shot and embed_labels is None:
        raise ConfigError("zero-shot labels need embed_labels (the text encoder and the model's text side)")
    predictions = model.heads.predict(matrix, zero_shot=zero_shot, embed_labels=embed_labels)
    rows = []
    for start in range(0, len(all_ids), 1000):
        chunk = all_ids[start : start + 1000]
        stored = {r["id"]: r for r in store.get(chunk)}
        for offset, pid in enumerate(chunk):
            predicted = predictions[start + offset]
            attributes = stored[pid]["attributes"]
            known = {name: attributes.get(name) for name in predicted}
            flagged = [name for name, p in predicted.items() if p.confidence < min_confidence]
            rows.append(AttributeRow(pid, known, predicted, flagged, stored[pid]["contributions"]))
    return rows
