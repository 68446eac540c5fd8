"""Plumbing every fusion strategy shares: input checks, masking, modality dropout, InfoNCE, training.

A strategy only says how it fuses (a small ``nn.Module``); :class:`TorchFusion` does the rest:
stacking the modalities into one ``(n, M, d)`` tensor with an ``(n, M)`` mask, holding out a
validation slice, training with in-batch InfoNCE under modality dropout, early stopping,
leave-one-modality-out contributions where a strategy has no natural ones, and save/load.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the usual torch spelling)
from torch import Tensor, nn
from tqdm.auto import tqdm

from shopfuse.fusion.base import LEGACY, FusionOutput, Masks, Modalities
from shopfuse.persist import load_config, load_weights, save_component
from shopfuse.training.early_stopping import EarlyStopping, snapshot
from shopfuse.training.losses import info_nce
from shopfuse.types import Modality

__all__ = [
    "FuseFn",
    "TorchFusion",
    "TrainingConfig",
    "Weights",
    "masked_mean",
    "masked_softmax",
    "modality_dropout",
    "normalise_contributions",
    "outer_with_ones",
    "split_rows",
    "stack_inputs",
]

CHUNK = 2048

FuseFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor | None]]
"""``(rows, row_masks) -> (fused rows, contributions or None)``: fuse some rows, hiding modalities."""


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """How a trainable strategy is fitted; the same for every strategy so they compare fairly.

    ``drop_rate`` hides each present modality with that probability per epoch, ``title_drop_rate``
    does so for ``title_modality`` (the input that equals the target, so the model cannot just
    copy it); a product never loses all its modalities.
    """

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    temperature: float = 0.05
    drop_rate: float = 0.25
    title_drop_rate: float = 0.5
    title_modality: str = Modality.TEXT.value
    valid_fraction: float = 0.1
    patience: int = 3

    @classmethod
    def of(cls, value: TrainingConfig | Mapping[str, Any] | None) -> TrainingConfig:
        """A config from itself, a dict (as saved in JSON) or ``None`` (the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, TrainingConfig):
            return value
        return cls(**dict(value))


def stack_inputs(
    modalities: Modalities, masks: Masks, names: Sequence[str] | None = None
) -> tuple[list[str], Tensor, Tensor]:
    """Modalities as one ``(n, M, d)`` float tensor (missing rows zeroed) and an ``(n, M)`` bool mask.

    ``names`` fixes the order (a fitted strategy's modalities): a known modality absent from
    ``modalities`` counts as missing everywhere, an unknown one is an error. A modality without a
    mask is taken as present where its row is non-zero. Every row needs one present modality.
    """
    if not modalities:
        raise ValueError("fusion needs at least one modality")
    order = list(names) if names is not None else list(modalities)
    unknown = sorted(set(modalities) - set(order))
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; this fusion was fitted on {order}")
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in modalities.items()}
    shapes = {v.shape for v in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"modalities must share one (n, d) shape, got {sorted(shapes)}")
    n, d = next(iter(shapes))
    x = np.zeros((n, len(order), d), dtype=np.float32)
    mask = np.zeros((n, len(order)), dtype=bool)
    for i, name in enumerate(order):
        if name not in arrays:
            continue
        given = masks.get(name)
        present = np.any(arrays[name] != 0, axis=1) if given is None else np.asarray(given, dtype=bool)
        if present.shape != (n,):
            raise ValueError(f"mask of {name!r} must have shape ({n},), got {present.shape}")
        if not np.isfinite(arrays[name][present]).all():
            raise ValueError(f"modality {name!r} has non-finite values in present rows")
        mask[:, i] = present
        x[present, i] = arrays[name][present]
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        shown = ", ".join(str(i) for i in empty[:10]) + (" ..." if empty.size > 10 else "")
        raise ValueError(
            f"{empty.size} product(s) have no modality present (rows {shown}); "
            f"each needs at least one of {order}"
        )
    return order, torch.from_numpy(x), torch.from_numpy(mask)


def split_rows(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, validation) row indices; no validation rows when there are too few rows."""
    order = rng.permutation(n)
    n_valid = round(n * fraction) if n >= 20 else 0
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def modality_dropout(
    mask: Tensor, config: TrainingConfig, names: Sequence[str], rng: np.random.Generator
) -> Tensor:
    """Randomly hide present modalities, the title more often; never all of a product's modalities.

    A row that lost everything gets back one of its modalities at random, preferring non-title
    ones, so products with only a photo are well represented.
    """
    present = mask.numpy()
    rates = np.array(
        [config.title_drop_rate if n == config.title_modality else config.drop_rate for n in names]
    )
    keep = present & (rng.random(present.shape) >= rates)
    lost = np.flatnonzero(~keep.any(axis=1))
    if lost.size:
        is_title = np.array([n == config.title_modality for n in names])
        for row in lost:
            options = np.flatnonzero(present[row] & ~is_title)
            if options.size == 0:
                options = np.flatnonzero(present[row])
            keep[row, rng.choice(options)] = True
    return torch.from_numpy(keep)


def without_title(mask: Tensor, config: TrainingConfig, names: Sequence[str]) -> Tensor:
    """The mask with the title modality hidden in every row that has another modality."""
    if config.title_modality not in names:
        return mask
    title = list(names).index(config.title_modality)
    hidden = mask.clone()
    others = torch.cat([mask[:, :title], mask[:, title + 1 :]], dim=1).any(1)
    hidden[others, title] = False
    return hidden


def masked_softmax(logits: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """Softmax over the present entries only; missing entries get exactly zero."""
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=dim).masked_fill(~mask, 0.0)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` ``(B, M, d)`` over the present modalities of each row."""
    weights = mask.to(x.dtype)
    return (x * weights[..., None]).sum(1) / weights.sum(1, keepdim=True).clamp_min(1.0)


def outer_with_ones(parts: Sequence[Tensor]) -> Tensor:
    """Flattened outer product of ``[h_m; 1]`` over modalities, as in the Tensor Fusion Network.

    The appended 1 keeps every lower-order term (unimodal, bimodal...), so a missing modality
    (``h_m = 0``) removes only the interactions it takes part in.
    """
    batch = parts[0].shape[0]
    out = torch.ones(batch, 1, dtype=parts[0].dtype)
    for h in parts:
        ext = torch.cat([h, torch.ones(batch, 1, dtype=h.dtype)], dim=1)
        out = (out[:, :, None] * ext[:, None, :]).reshape(batch, -1)
    return out


def normalise_contributions(raw: Tensor, mask: Tensor) -> Tensor:
    """Non-negative scores to rows summing to 1 over present modalities; all-zero rows become uniform."""
    raw = raw.clamp_min(0.0) * mask
    total = raw.sum(1, keepdim=True)
    uniform = mask.to(raw.dtype) / mask.sum(1, keepdim=True).clamp_min(1)
    return torch.where(total > 1e-12, raw / total.clamp_min(1e-12), uniform)


def leave_one_out(fuse: FuseFn, rows: Tensor, mask: Tensor, fused: Tensor) -> Tensor:
    """Contributions as the normalised similarity drop when each present modality is hidden.

    ``1 - cos(z, z without m)`` per modality; a product with one modality gives it everything.
    """
    unit = F.normalize(fused, dim=1)
    drops = torch.zeros(mask.shape, dtype=fused.dtype)
    for m in range(mask.shape[1]):
        others = mask.clone()
        others[:, m] = False
        usable = mask[:, m] & others.any(1)
        if not usable.any():
            continue
        without, _ = fuse(rows[usable], others[usable])
        drops[usable, m] = 1.0 - (unit[usable] * F.normalize(without, dim=1)).sum(1)
    return normalise_contributions(drops, mask)


class Weights(nn.Module):
    """A weighted average of the present modalities with learned weights (softmax of per-modality logits)."""

    def __init__(self, n_modalities: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_modalities))

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Weighted average ``(B, d)`` and the weights ``(B, M)``."""
        weights = masked_softmax(self.logits.expand(mask.shape), mask)
        return (weights[..., None] * x).sum(1), weights


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the setting.

    The fusion modules are small: on a busy 2-core box, synchronising two intra-op threads on
    every tiny op cost 17x (gated, 3 epochs on 8k products: 34 s on two threads, 2 s on one).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def constructor_params(obj: object) -> dict[str, Any]:
    """The constructor parameters of ``obj`` as JSON-ready values (scikit-learn's get_params)."""
    names = [p for p in inspect.signature(type(obj).__init__).parameters if p != "self"]
    params = {p: getattr(obj, p) for p in names}
    return {k: asdict(v) if isinstance(v, TrainingConfig) else v for k, v in params.items()}


class TorchFusion:
    """Base of the trainable strategies: subclasses give a module; fit, fuse, save and load live here.

    A subclass implements :meth:`_build`, returning a module called as ``module(x, mask)`` on
    masked ``(B, M, d)`` inputs, returning unnormalised ``(B, d)`` vectors and ``(B, M)``
    contributions, or ``None`` to get leave-one-modality-out contributions instead.
    """

    name: ClassVar[str]

    def __init__(self, *, training: TrainingConfig | Mapping[str, Any] | None = None) -> None:
        self.training = TrainingConfig.of(training)

    def _build(self, n_modalities: int, dim: int) -> nn.Module:
        raise NotImplementedError

    def _fuser(self, x: Tensor, mask: Tensor, context: Any = None) -> FuseFn:
        """How to fuse rows of ``x``; ``mask`` is what every row has (strategies that look at other
        rows, such as the graph one, use it); ``context`` is strategy-specific extra input."""
        module = self.module_

        def fuse(rows: Tensor, row_mask: Tensor) -> tuple[Tensor, Tensor | None]:
            out: tuple[Tensor, Tensor | None] = module(x[rows] * row_mask[..., None], row_mask)
            return out

        return fuse

    def fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int = 0,
        progress: bool = False,
    ) -> Self:
        """Train with InfoNCE towards ``target`` under modality dropout, early-stopped on a held-out slice."""
        return self._fit(modalities, masks, target, seed=seed, progress=progress)

    def _fit(
        self,
        modalities: Modalities,
        masks: Masks,
        target: np.ndarray,
        *,
        seed: int,
        progress: bool,
        context: Any = None,
    ) -> Self:
        names, x, mask = stack_inputs(modalities, masks)
        goal = torch.from_numpy(np.asarray(target, dtype=np.float32))
        if goal.shape != (x.shape[0], x.shape[2]):
            raise ValueError(f"target must have shape {(x.shape[0], x.shape[2])}, got {tuple(goal.shape)}")
        torch.manual_seed(seed)
        self.modalities_ = names
        self.dim_ = int(x.shape[2])
        self.module_ = self._build(len(names), self.dim_)
        with one_thread():
            train(self, x, mask, goal, seed=seed, progress=progress, context=context)
        self.module_.eval()
        return self

    def fuse(self, modalities: Modalities, masks: Masks) -> FusionOutput:
        """Fused unit rows and per-modality contributions (zero for missing modalities)."""
        return self._fuse(modalities, masks)

    def _fuse(self, modalities: Modalities, masks: Masks, context: Any = None) -> FusionOutput:
        names, x, mask = stack_inputs(modalities, masks, self.modalities_)
        fuse = self._fuser(x, mask, context)
        vectors, contributions = [], []
        with torch.no_grad(), one_thread():
            for start in range(0, len(x), CHUNK):
                rows = torch.arange(start, min(start + CHUNK, len(x)))
                fused, contrib = fuse(rows, mask[rows])
                if contrib is None:
                    contrib = leave_one_out(fuse, rows, mask[rows], fused)
                vectors.append(F.normalize(fused, dim=1))
                contributions.append(contrib)
        weights = torch.cat(contributions).numpy().astype(np.float32)
        return FusionOutput(
            torch.cat(vectors).numpy().astype(np.float32),
            {name: weights[:, i] for i, name in enumerate(names)},
        )

    def save(self, folder: Path) -> None:
        """``component.json`` (constructor parameters, modalities, width) and ``state.pt`` (weights)."""
        config = {"params": constructor_params(self), "modalities": self.modalities_, "dim": self.dim_}
        save_component(folder, "fusion", self.name, config, weights=self.module_.state_dict())

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Rebuild the strategy and its module from what :meth:`save` wrote."""
        data = load_config(folder, "fusion", cls.name, LEGACY)
        fusion = cls(**data["params"])
        fusion.modalities_ = list(data["modalities"])
        fusion.dim_ = int(data["dim"])
        fusion.module_ = fusion._build(len(fusion.modalities_), fusion.dim_)
        fusion.module_.load_state_dict(load_weights(folder, LEGACY))
        fusion.module_.eval()
        return fusion


def train(
    fusion: TorchFusion,
    x: Tensor,
    mask: Tensor,
    target: Tensor,
    *,
    seed: int,
    progress: bool,
    context: Any = None,
) -> None:
    """Adam on in-batch InfoNCE; keeps the state with the best validation loss (early stopping).

    Modality dropout is drawn for all rows once per epoch. The validation loss averages the
    slice as given and the slice with the title hidden wherever a product has something else
    (matching the title is trivial when it is an input); the recall@1 shown (each row's own
    product among the slice's, queried by its target) is the title-hidden one.
    """
    config, module, names = fusion.training, fusion.module_, fusion.modalities_
    rng = np.random.default_rng(seed)
    shuffle = torch.Generator().manual_seed(seed)
    train_rows, valid_rows = (torch.from_numpy(r) for r in split_rows(len(x), config.valid_fraction, rng))
    views = [(m, fusion._fuser(x, m, context)) for m in (mask, without_title(mask, config, names))]
    optimiser = torch.optim.Adam(
        module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )

    def validate() -> tuple[float, float]:
        module.eval()
        losses, goal = [], target[valid_rows]
        with torch.no_grad():
            for view_mask, view_fuse in views:
                fused, _ = view_fuse(valid_rows, view_mask[valid_rows])
                losses.append(float(info_nce(fused, goal, 1.0 / config.temperature)))
            scores = F.normalize(fused, dim=1) @ F.normalize(goal, dim=1).T
            recall = float((scores.argmax(0) == torch.arange(len(valid_rows))).float().mean())
        return sum(losses) / len(losses), recall

    stopping: EarlyStopping[dict[str, Any]] = EarlyStopping(config.patience, mode="min", min_delta=1e-4)
    if len(valid_rows):
        # The untrained state competes too: every strategy starts at (or near) a plain average.
        stopping.baseline(validate()[0], lambda: snapshot(module))
    epochs = tqdm(range(config.epochs), desc=f"fusion {fusion.name}", disable=not progress, leave=False)
    for _ in epochs:
        module.train()
        epoch_mask = modality_dropout(mask, config, names, rng)
        fuse = fusion._fuser(x, epoch_mask, context)
        order = train_rows[torch.randperm(len(train_rows), generator=shuffle)]
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            if len(rows) < 2:
                continue
            fused, _ = fuse(rows, epoch_mask[rows])
            loss = info_nce(fused, target[rows], 1.0 / config.temperature)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if len(valid_rows) == 0:
            continue
        valid_loss, recall = validate()
        epochs.set_postfix(valid_loss=f"{valid_loss:.3f}", valid_r1=f"{recall:.3f}")
        if stopping.step(valid_loss, lambda: snapshot(module)):
            break
    if stopping.best_state is not None:
        module.load_state_dict(stopping.best_state)
