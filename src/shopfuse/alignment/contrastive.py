"""Two projection towers trained with a symmetric InfoNCE loss (CLIP's objective, on stored vectors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
from tqdm.auto import tqdm

from shopfuse.alignment.base import LEGACY
from shopfuse.alignment.metrics import recall_at_k
from shopfuse.encoders.base import l2_normalize
from shopfuse.optional import require
from shopfuse.persist import Legacy, load_config, load_weights, save_component
from shopfuse.registry import registry
from shopfuse.training.early_stopping import EarlyStopping, snapshot

__all__ = ["ContrastiveAligner"]

TextTower = Literal["frozen", "residual", "linear"]
OLD_LAYOUT = Legacy(LEGACY.file, LEGACY.config, weights="towers.pt")
"""Before ``component.json`` the towers' weights were ``towers.pt``."""


def _torch() -> Any:
    return require("torch", "torch", "image", "the contrastive aligner")


@registry.register("alignment", "contrastive")
class ContrastiveAligner:
    """An MLP image tower (with heavy dropout) and a text tower, trained so that in a mini-batch
    each photo scores its own title above every other title, and the reverse.

    ``text_tower``: ``"frozen"`` keeps the text vectors as they are (the joint space is the text
    space, so the text encoder's multilingual alignment carries over untouched), ``"residual"`` is
    identity plus a zero-initialised linear correction, ``"linear"`` a free ``d_text → dim`` map.
    The temperature is learned as ``log(1/T)``, clamped to ``[0, log(max_logit_scale)]``.
    With ``valid`` pairs, training stops after ``patience`` epochs without a better title→image
    recall@10 and keeps the best epoch's weights.
    """

    name = "contrastive"

    def __init__(
        self,
        *,
        text_tower: TextTower = "frozen",
        dim: int = 512,
        hidden: int = 1024,
        dropout: float = 0.5,
        input_dropout: float = 0.2,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        temperature: float = 0.07,
        max_logit_scale: float = 100.0,
        patience: int = 4,
    ) -> None:
        self.text_tower = text_tower
        self.dim = dim
        self.hidden = hidden
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.max_logit_scale = max_logit_scale
        self.patience = patience

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters."""
        names = (
            "text_tower", "dim", "hidden", "dropout", "input_dropout", "epochs", "batch_size", "lr",
            "weight_decay", "temperature", "max_logit_scale", "patience",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    @property
    def joint_dim(self) -> int:
        """``dim`` for a linear text tower, else the text dimension."""
        return int(self.towers_.joint_dim)

    def fit(
        self,
        image: np.ndarray,
        text: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Mini-batch AdamW on the symmetric InfoNCE loss, with early stopping on ``valid``."""
        torch = _torch()
        image = np.asarray(image, dtype=np.float32)
        text = np.asarray(text, dtype=np.float32)
        if image.ndim != 2 or text.ndim != 2 or len(image) != len(text) or len(image) < 2:
            raise ValueError(f"expected row-aligned (n, d) matrices, got {image.shape} and {text.shape}")
        torch.manual_seed(seed)
        towers = build_towers(self.get_params(), image.shape[1], text.shape[1])
        optimiser = torch.optim.AdamW(towers.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        order = torch.Generator().manual_seed(seed)
        x, t = torch.from_numpy(image), torch.from_numpy(text)
        batch = min(self.batch_size, len(x))
        stopping: EarlyStopping[dict[str, Any]] = EarlyStopping(self.patience)
        self.history_: list[dict[str, float]] = []
        bar = tqdm(range(self.epochs), desc="contrastive", unit="epoch", disable=not progress)
        for epoch in bar:
            record = {"epoch": epoch + 1, "loss": _train_epoch(towers, optimiser, x, t, order, batch)}
            self.history_.append(record)
            bar.set_postfix(loss=f"{record['loss']:.3f}")
            if valid is None:
                continue
            record["valid_r10"] = score = recall_at_k(
                _embed(towers, towers.text, valid[1]), _embed(towers, towers.image, valid[0]), 10
            )
            bar.set_postfix(loss=f"{record['loss']:.3f}", valid_r10=f"{score:.3f}")
            if progress:
                tqdm.write(f"epoch {epoch + 1}: loss {record['loss']:.4f}, valid R@10 {score:.4f}")
            if stopping.step(score, lambda: snapshot(towers)):
                break
        bar.close()
        if stopping.best_state is not None:
            towers.load_state_dict(stopping.best_state)
        towers.eval()
        self.towers_ = towers
        self.epochs_ = stopping.best_epoch or len(self.history_)
        return self

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """Image tower output, unit rows."""
        return _embed(self.towers_, self.towers_.image, image)

    def embed_text(self, text: np.ndarray) -> np.ndarray:
        """Text tower output, unit rows."""
        return _embed(self.towers_, self.towers_.text, text)

    def save(self, folder: Path) -> None:
        """Parameters and input sizes to ``component.json``, the towers' ``state_dict`` to ``state.pt``."""
        _torch()
        params = {**self.get_params(), "image_dim": self.towers_.image_dim, "text_dim": self.towers_.text_dim}
        save_component(folder, "alignment", self.name, params, weights=self.towers_.state_dict())

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read what :meth:`save` wrote."""
        _torch()
        params = load_config(folder, "alignment", cls.name, OLD_LAYOUT)
        image_dim, text_dim = params.pop("image_dim"), params.pop("text_dim")
        aligner = cls(**params)
        towers = build_towers(params, image_dim, text_dim)
        towers.load_state_dict(load_weights(folder, OLD_LAYOUT))
        towers.eval()
        aligner.towers_ = towers
        return aligner


def _embed(towers: Any, tower: Any, vectors: np.ndarray) -> np.ndarray:
    """``tower`` (a part of ``towers``) applied in eval mode (no dropout), unit rows."""
    torch = _torch()
    was_training = towers.training
    towers.eval()
    with torch.inference_mode():
        out = tower(torch.from_numpy(np.asarray(vectors, dtype=np.float32))).numpy()
    towers.train(was_training)
    return l2_normalize(out)


def _train_epoch(towers: Any, optimiser: Any, x: Any, t: Any, order: Any, batch: int) -> float:
    """One pass over shuffled pairs; returns the mean loss.

    The last partial batch is dropped: a batch of a few pairs gives a noisy, too easy loss.
    """
    torch = _torch()
    towers.train()
    permutation = torch.randperm(len(x), generator=order)
    steps = len(x) // batch
    total = 0.0
    for step in range(steps):
        rows = permutation[step * batch : (step + 1) * batch]
        loss = towers.loss(x[rows], t[rows])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        towers.clamp_scale()
        total += loss.item()
    return total / steps


def build_towers(params: dict[str, Any], image_dim: int, text_dim: int) -> Any:
    """The :class:`~shopfuse.alignment.towers.Towers` module; a clear error when torch is missing."""
    _torch()
    from shopfuse.alignment.towers import Towers

    return Towers(params, image_dim, text_dim)
