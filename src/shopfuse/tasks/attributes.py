"""Attribute recognition over a store built with a trained model: fill gaps, flag low confidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError
from shopfuse.model.attributes import Prediction, stated_value
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
    stated: list[str] = field(default_factory=list)
    """Labels whose value the product states (attribute or title); the prediction is that value."""
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
                    "stated": name in self.stated,
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
    use_stated: bool = True,
) -> list[AttributeRow]:
    """Predict every label of ``model`` for the stored products (all, or ``ids``).

    ``zero_shot`` names candidate values never seen in training; ``embed_labels`` maps value texts
    into the model's joint space (text encoder, then the model's text side). With ``use_stated``
    a value the product states (its attribute, or the one value its title names) is the prediction,
    at confidence 1; evaluation turns it off to score the model alone.
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
    classes = {label: list(values) for label, values in model.heads.classes_.items()}
    rows = []
    for start in range(0, len(all_ids), 1000):
        chunk = all_ids[start : start + 1000]
        stored = {r["id"]: r for r in store.get(chunk)}
        for offset, pid in enumerate(chunk):
            predicted = predictions[start + offset]
            attributes = stored[pid]["attributes"]
            known = {name: attributes.get(name) for name in predicted}
            stated = []
            for name in predicted if use_stated else ():
                value = stated_value(name, attributes, stored[pid].get("title"), classes.get(name, []))
                if value is not None:
                    # a value the catalogue states is not contradicted by a guess from the photo
                    predicted[name] = Prediction(value, 1.0)
                    stated.append(name)
            flagged = [name for name, p in predicted.items() if p.confidence < min_confidence]
            rows.append(AttributeRow(pid, known, predicted, flagged, stored[pid]["contributions"], stated))
    return rows
