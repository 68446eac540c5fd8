"""Attribute heads: multi-task classifiers over fused product vectors, calibrated, with zero-shot labels."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from shopfuse.persist import Legacy, load_config, load_weights, save_component

__all__ = ["AttributeHeads", "Prediction", "stated_value"]

KIND, TYPE = "attributes", "heads"
"""How attribute heads name themselves in ``component.json``."""
LEGACY = Legacy("heads.json", dict, type_key=None, weights="heads.pt")
"""Folders written before ``component.json``: ``heads.json`` (the config itself) and ``heads.pt``."""


@dataclass(slots=True, frozen=True)
class Prediction:
    """One predicted attribute value with its calibrated probability; ``zero_shot`` if never trained on."""

    value: str
    confidence: float
    zero_shot: bool = False


def stated_value(
    label: str, attributes: Mapping[str, Any], title: str | None, values: Sequence[str]
) -> str | None:
    """The value of ``label`` the product states: its attribute, else the one value its title names.

    The title counts when exactly one of the label's known values appears in it as whole words
    (a value inside a longer one found is the same mention: "Navy Blue", not "Blue"); a title that
    names two values states none.
    """
    given = attributes.get(label)
    if given is not None and str(given) in values:
        return str(given)
    if not title:
        return None
    text = f" {_words(title)} "
    found = [v for v in values if _words(v) and f" {_words(v)} " in text]
    if not found:
        return None
    # "Blue" inside a found "Navy Blue" is the same mention; two separate values: no statement
    kept = {v for v in found if not any(v != w and f" {_words(v)} " in f" {_words(w)} " for w in found)}
    return kept.pop() if len(kept) == 1 else None


def _words(text: str) -> str:
    """Lower-case words joined by single spaces (punctuation and case ignored)."""
    return " ".join(re.findall(r"\w+", text.lower()))


class _MultiTask(nn.Module):
    """A shared trunk and one linear head per label."""

    def __init__(self, dim: int, hidden: int, sizes: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout))
        self.heads = nn.ModuleList(nn.Linear(hidden, size) for size in sizes)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        shared = self.trunk(x)
        return [head(shared) for head in self.heads]


class AttributeHeads:
    """Predict a shop's label columns (articleType, colour, ...) from fused product vectors.

    Trained jointly (one shared trunk, a head per label, cross-entropy summed over the labels a
    product has), then each head's temperature is fitted on held-out rows so probabilities are
    calibrated. Values never seen in training can still be predicted zero-shot by matching the
    label text, embedded into the joint space, against the product vector.
    """

    def __init__(
        self,
        hidden: int = 512,
        dropout: float = 0.3,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay

    def fit(
        self,
        vectors: np.ndarray,
        labels: Mapping[str, Sequence[str | None]],
        *,
        seed: int = 0,
        valid_fraction: float = 0.1,
        progress: bool = False,
    ) -> Self:
        """Learn every label in ``labels`` (``None`` = unknown for that product)."""
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.labels_ = list(labels)
        self.classes_ = {
            name: sorted({v for v in values if v is not None}) for name, values in labels.items()
        }
        for name, classes in self.classes_.items():
            if len(classes) < 2:
                raise ValueError(f"label {name!r} needs at least two distinct values to learn")
        targets = np.full((len(vectors), len(self.labels_)), -1, dtype=np.int64)
        for j, name in enumerate(self.labels_):
            index = {c: i for i, c in enumerate(self.classes_[name])}
            targets[:, j] = [index[v] if v is not None else -1 for v in labels[name]]
        order = rng.permutation(len(vectors))
        n_valid = max(1, int(len(vectors) * valid_fraction)) if len(vectors) > 10 else 0
        valid, train = order[:n_valid], order[n_valid:]
        x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        y = torch.from_numpy(targets)
        self.dim_ = int(x.shape[1])
        self.net_ = _MultiTask(
            self.dim_, self.hidden, [len(self.classes_[n]) for n in self.labels_], self.dropout
        )
        optimiser = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        from tqdm.auto import tqdm

        epochs = tqdm(range(self.epochs), desc="attribute heads", disable=not progress, unit="epoch")
        for _ in epochs:
            self.net_.train()
            shuffled = train[rng.permutation(len(train))]
            for start in range(0, len(shuffled), self.batch_size):
                batch = torch.from_numpy(shuffled[start : start + self.batch_size])
                outputs = self.net_(x[batch])
                loss = sum(
                    (loss_fn(out, y[batch, j]) for j, out in enumerate(outputs) if (y[batch, j] >= 0).any()),
                    torch.zeros(()),
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            if progress and n_valid:
                epochs.set_postfix(valid_acc=f"{self._accuracy(x[valid], y[valid]):.3f}")
        self.temperatures_ = self._calibrate(x[valid], y[valid]) if n_valid else [1.0] * len(self.labels_)
        self.net_.eval()
        return self

    def _logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.net_.eval()
        with torch.no_grad():
            return list(self.net_(x))

    def _accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        hits, total = 0, 0
        for j, out in enumerate(self._logits(x)):
            known = y[:, j] >= 0
            hits += int((out.argmax(1)[known] == y[known, j]).sum())
            total += int(known.sum())
        return hits / max(total, 1)

    def _calibrate(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Per-label temperature minimising held-out negative log-likelihood (a 1-D grid search)."""
        temperatures = []
        grid = np.exp(np.linspace(math.log(0.25), math.log(8.0), 40))
        for j, out in enumerate(self._logits(x)):
            known = y[:, j] >= 0
            if int(known.sum()) < 5:
                temperatures.append(1.0)
                continue
            logits, target = out[known], y[known, j]
            losses = [float(nn.functional.cross_entropy(logits / t, target)) for t in grid]
            temperatures.append(float(grid[int(np.argmin(losses))]))
        return temperatures

    def predict_proba(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """``{label: (n, classes) calibrated probabilities}``."""
        x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        return {
            name: torch.softmax(out / t, dim=1).numpy()
            for name, out, t in zip(self.labels_, self._logits(x), self.temperatures_, strict=True)
        }

    def predict(
        self,
        vectors: np.ndarray,
        *,
        zero_shot: Mapping[str, Sequence[str]] | None = None,
        embed_labels: Callable[[list[str]], np.ndarray] | None = None,
    ) -> list[dict[str, Prediction]]:
        """Best value per label for each product.

        ``zero_shot`` adds candidate values per label that were never trained on. All values of
        the label are scored by cosine between the product vector and ``embed_labels(values)``
        (value texts in the joint space), softmaxed; an unseen value wins only where it is the
        closest value and beats the trained head's confidence.
        """
        probabilities = self.predict_proba(vectors)
        out: list[dict[str, Prediction]] = [{} for _ in range(len(vectors))]
        for name, proba in probabilities.items():
            best = proba.argmax(1)
            for i, k in enumerate(best):
                out[i][name] = Prediction(self.classes_[name][int(k)], float(proba[i, k]))
        for name, values in (zero_shot or {}).items():
            seen = list(self.classes_.get(name, []))
            unseen = [v for v in values if v not in set(seen)]
            if not unseen or embed_labels is None:
                continue
            # every value, seen or not, competes by text similarity; an unseen one is taken only
            # where it is the closest value and more probable than the trained head's answer
            candidates = seen + unseen
            sims = np.asarray(vectors, dtype=np.float32) @ embed_labels(candidates).T
            soft = np.exp((sims - sims.max(1, keepdims=True)) / 0.05)
            soft /= soft.sum(1, keepdims=True)
            for i in range(len(vectors)):
                k = int(soft[i].argmax())
                current = out[i].get(name)
                if k >= len(seen) and (current is None or soft[i, k] > current.confidence):
                    out[i][name] = Prediction(candidates[k], float(soft[i, k]), zero_shot=True)
        return out

    def save(self, folder: Path) -> None:
        """Parameters, classes and temperatures to ``component.json``, weights to ``state.pt``."""
        params: dict[str, Any] = {
            "hidden": self.hidden,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "labels": self.labels_,
            "classes": self.classes_,
            "temperatures": self.temperatures_,
            "dim": self.dim_,
        }
        save_component(folder, KIND, TYPE, params, weights=self.net_.state_dict())

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        params = load_config(folder, KIND, TYPE, LEGACY)
        heads = cls(
            hidden=params["hidden"],
            dropout=params["dropout"],
            epochs=params["epochs"],
            batch_size=params["batch_size"],
            lr=params["lr"],
            weight_decay=params["weight_decay"],
        )
        heads.labels_ = params["labels"]
        heads.classes_ = params["classes"]
        heads.temperatures_ = params["temperatures"]
        heads.dim_ = params["dim"]
        heads.net_ = _MultiTask(
            heads.dim_, heads.hidden, [len(heads.classes_[n]) for n in heads.labels_], heads.dropout
        )
        heads.net_.load_state_dict(load_weights(folder, LEGACY))
        heads.net_.eval()
        return heads
