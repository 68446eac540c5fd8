"""Attribute recognition metrics per label: accuracy, macro-F1 and weighted-F1 (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["attribute_metrics"]


def attribute_metrics(truth: Sequence[str | None], predicted: Sequence[str | None]) -> dict[str, float]:
    """Metrics over the rows that have a true value; a missing prediction counts as wrong."""
    from sklearn.metrics import accuracy_score, f1_score

    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true values but {len(predicted)} predictions")
    pairs = [(t, "" if p is None else str(p)) for t, p in zip(truth, predicted, strict=True) if t is not None]
    if not pairs:
        return {"accuracy": float("nan"), "macro_f1": float("nan"), "weighted_f1": float("nan"), "n": 0.0}
    y_true = [str(t) for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    labels = sorted(set(y_true))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "n": float(len(pairs)),
    }
