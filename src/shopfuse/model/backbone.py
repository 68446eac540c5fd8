"""Fine-tune the top of the EfficientNet-Lite image backbone on a shop's own photos, on a CPU.

The frozen ImageNet network is split at block ``cut``: everything below runs once per photo and its
activations (``(C, 7, 7)`` maps, float16) are cached on disk; only the top (the last ``blocks``
MBConv blocks and the 1x1 head convolution with its batch norm) is trained, so an epoch over 10k
photos costs seconds to minutes instead of hours. The objectives, summed:

- symmetric InfoNCE between the pooled photo features (through a projection) and the frozen title
  vectors of the same products (the shop's own image/title pairs);
- cross-entropy for every attribute label the shop has (type, colour, pattern, ...);
- self-supervised InfoNCE between two augmented views of the same photo (random crops and flips
  of the activation map, channel dropout), over every photo including those without text, and
  over the photos of another shop given as ``unlabelled`` (adaptation without text).

After training the batch-norm statistics of the tuned layers are re-estimated over all photos seen
(labelled and unlabelled), which adapts their normalisation to the shops being served (AdaBN).

The result is a small state file (:func:`shopfuse.encoders.tail.save_tail`) that
:class:`EfficientNetColourEncoder` loads with ``tail=PATH``; its vectors then form a different
space, named by the file's digest.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from shopfuse.errors import ConfigError

__all__ = [
    "TailSettings",
    "TunedTail",
    "advance",
    "early_activations",
    "onnx_bottom",
    "tail_features",
    "tune_tail",
]


@dataclass(slots=True)
class TailSettings:
    """How the top of the backbone is tuned."""

    blocks: int = 1
    """MBConv blocks tuned below the head convolution (0: the head convolution only)."""
    epochs: int = 4
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_weight: float = 1.0
    """Weight of the attribute cross-entropy (per label, averaged)."""
    self_supervised_weight: float = 0.5
    """Weight of the two-view InfoNCE on photos (0 turns it off)."""
    patience: int = 2
    """Epochs without a better validation score before stopping."""
    max_unlabelled: int = 20000
    """At most this many photos without text join the self-supervised term (sampled)."""


class TunedTail(nn.Module):
    """The trainable top of an EfficientNet-Lite: blocks ``cut..``, head conv + BN + swish, pooling."""

    def __init__(self, net: Any, cut: int) -> None:
        super().__init__()
        if not 0 <= cut <= len(net._blocks):
            raise ConfigError(f"cut {cut} outside the backbone's {len(net._blocks)} blocks")
        self.cut = cut
        self.blocks = nn.ModuleList(net._blocks[cut:])
        self.conv_head, self.bn1, self.swish = net._conv_head, net._bn1, net._swish

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.swish(self.bn1(self.conv_head(x))).mean((2, 3))


def backbone_prefixes(cut: int, n_blocks: int) -> tuple[str, ...]:
    """State-dict key prefixes of the tuned layers in the full network."""
    return (*(f"_blocks.{i}." for i in range(cut, n_blocks)), "_conv_head.", "_bn1.")


def early(net: Any, pixels: torch.Tensor, cut: int) -> torch.Tensor:
    """The frozen bottom of the network: stem and blocks ``< cut``."""
    x = net._swish(net._bn0(net._conv_stem(pixels)))
    for block in net._blocks[:cut]:
        x = block(x)
    return x


def advance(net: Any, activations: np.ndarray, start: int, stop: int, batch_size: int = 256) -> np.ndarray:
    """Cached maps entering block ``start`` moved through the frozen blocks ``start..stop``."""
    if stop == start or not len(activations):
        return activations
    out = []
    with torch.inference_mode():
        for s in range(0, len(activations), batch_size):
            x = torch.from_numpy(activations[s : s + batch_size]).float()
            for block in net._blocks[start:stop]:
                x = block(x)
            out.append(x.numpy().astype(np.float16))
    return np.concatenate(out)


def early_activations(
    net: Any,
    pixels: Callable[[Sequence[str]], np.ndarray],
    paths: Sequence[str],
    cut: int,
    *,
    cache: Path | None = None,
    runtime: Callable[[np.ndarray], np.ndarray] | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """``(n, C, h, w)`` float16 activations entering block ``cut`` for the photos at ``paths``.

    ``pixels`` turns paths into the network's normalised ``(n, 3, s, s)`` input; ``runtime`` (for
    example :func:`onnx_bottom`) computes the activations from it, else eager PyTorch. With
    ``cache`` (a folder), activations are kept per photo content digest in append-only shards and
    reused by later runs.
    """
    from tqdm.auto import tqdm

    keys = [_file_key(p, cut) for p in paths]
    known: dict[str, np.ndarray] = {}
    wanted = set(keys)
    shards = sorted(cache.glob(f"activations-cut{cut}-*.npz")) if cache and cache.is_dir() else []
    for shard in shards:
        with np.load(shard) as saved:
            stored = saved["keys"]
            hits = [i for i, k in enumerate(stored) if k in wanted]
            if hits:
                values = saved["values"][hits]
                known.update({str(stored[i]): values[j] for j, i in enumerate(hits)})
    todo = sorted({keys[i]: i for i, k in enumerate(keys) if k not in known}.values())
    net.eval()
    fresh: dict[str, np.ndarray] = {}
    bar = tqdm(total=len(todo), desc="backbone activations", unit="photo", disable=not progress)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        batch = pixels([paths[i] for i in chunk])
        if runtime is not None:
            out = runtime(batch)
        else:
            with torch.inference_mode():
                out = early(net, torch.from_numpy(batch), cut).numpy()
        for i, row in zip(chunk, out.astype(np.float16), strict=True):
            fresh[keys[i]] = row
        bar.update(len(chunk))
    bar.close()
    known.update(fresh)
    if cache is not None and fresh:
        cache.mkdir(parents=True, exist_ok=True)
        names = sorted(fresh)
        shard = cache / f"activations-cut{cut}-{len(shards):05d}-{os.getpid()}.npz"
        tmp = shard.with_name(f".{shard.name}.tmp.npz")
        np.savez(tmp, keys=np.array(names), values=np.stack([fresh[k] for k in names]))
        tmp.replace(shard)
    if not keys:
        return np.zeros((0, 0, 0, 0), dtype=np.float16)
    return np.stack([known[k] for k in keys])


def onnx_bottom(net: Any, cut: int, size: int, name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The frozen bottom (stem + blocks ``< cut``) exported once to ONNX and run by onnxruntime.

    About twice as fast as eager PyTorch on a CPU; the file is cached next to the encoders' exports.
    """
    from shopfuse.encoders.image import export_onnx, onnx_cache_dir, onnx_session

    class Bottom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return early(self.net, pixels, cut)

    path = onnx_cache_dir() / f"{name}-bottom{cut}.onnx"
    if not path.is_file():
        export_onnx(Bottom(), size, path, "maps")
    session = onnx_session(path)
    return lambda pixels: np.asarray(session.run(None, {"pixels": pixels})[0])


def _file_key(path: str, cut: int) -> str:
    """A photo's identity for the activation cache: its bytes' digest and the cut."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:20]
    return f"{digest}-{cut}"


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random view of activation maps: crop (keeps at least 5x5 of 7x7), flip, channel dropout."""
    n, _, h, w = x.shape
    size = int(torch.randint(max(h - 2, 1), h + 1, (1,), generator=generator))
    top = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - size + 1, (1,), generator=generator))
    x = x[:, :, top : top + size, left : left + size]
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    keep = (torch.rand(n, x.shape[1], 1, 1, generator=generator) > 0.1).to(x.dtype) / 0.9
    return x * keep


class _Objectives(nn.Module):
    """Projection to the text space, one linear head per label, a self-supervised projection."""

    def __init__(self, text_dim: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.to_text = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, text_dim))
        self.heads = nn.ModuleList(nn.Sequential(nn.Dropout(0.3), nn.Linear(1280, s)) for s in sizes)
        self.views = nn.Sequential(nn.Linear(1280, 512), nn.GELU(), nn.Linear(512, 128))
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


def tune_tail(
    net: Any,
    cut: int,
    activations: np.ndarray,
    text: np.ndarray,
    labels: Mapping[str, Sequence[str | None]],
    *,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    unlabelled: np.ndarray | None = None,
    settings: TailSettings | None = None,
    seed: int = 0,
    progress: bool = False,
    echo: Callable[[str], None] = print,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train the top of ``net`` (in place) from block ``cut``; returns its state and a training record.

    ``activations[i]`` and ``text[i]`` are a product's cached maps and title vector; ``labels`` hold
    per-row values (``None`` unknown). ``valid`` (maps, title vectors) picks the best epoch by
    title->photo R@10; ``unlabelled`` maps (photos without text) feed the self-supervised term.
    """
    from tqdm.auto import tqdm

    from shopfuse.alignment.metrics import recall_at_k
    from shopfuse.training.early_stopping import EarlyStopping, snapshot
    from shopfuse.training.losses import info_nce

    settings = settings or TailSettings()
    if len(activations) != len(text):
        raise ConfigError(f"{len(activations)} photo activations but {len(text)} title vectors")
    if len(activations) < 50:
        raise ConfigError(f"tuning the backbone needs at least 50 photo+title pairs, got {len(activations)}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    tail = TunedTail(net, cut)
    classes = {name: sorted({v for v in values if v is not None}) for name, values in labels.items()}
    classes = {name: c for name, c in classes.items() if len(c) >= 2}
    targets = {
        name: torch.tensor([classes[name].index(v) if v in classes[name] else -100 for v in labels[name]])
        for name in classes
    }
    objectives = _Objectives(text.shape[1], [len(c) for c in classes.values()])
    extra = unlabelled if unlabelled is not None else np.zeros((0, *activations.shape[1:]), np.float16)
    if len(extra) > settings.max_unlabelled:
        extra = extra[np.sort(rng.choice(len(extra), settings.max_unlabelled, replace=False))]
    photos = np.concatenate([activations, extra]) if len(extra) else activations
    parameters = [*tail.parameters(), *objectives.parameters()]
    optimiser = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * math.ceil(len(activations) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.lr, total_steps=max(steps, 1))
    x_all = torch.from_numpy(activations)
    t_all = torch.from_numpy(np.asarray(text, dtype=np.float32))
    record: dict[str, Any] = {"settings": asdict(settings), "cut": cut, "epochs": []}

    def score() -> float:
        if valid is None or not len(valid[0]):
            return -float(record["epochs"][-1]["loss"]) if record["epochs"] else 0.0
        tail.eval()
        objectives.eval()
        with torch.inference_mode():
            photo = objectives.to_text(tail_batches(tail, valid[0]))
        return float(recall_at_k(np.asarray(valid[1]), photo.numpy(), 10))

    stopping: EarlyStopping[dict[str, torch.Tensor]] = EarlyStopping(settings.patience)
    started = time.perf_counter()
    bar = tqdm(range(settings.epochs), desc="backbone", unit="epoch", disable=not progress)
    for epoch in bar:
        tail.train()
        objectives.train()
        order = torch.from_numpy(rng.permutation(len(activations)))
        total, batches = 0.0, 0
        for start in range(0, len(order), settings.batch_size):
            idx = order[start : start + settings.batch_size]
            if len(idx) < 8:
                continue
            x = x_all[idx].float()
            pooled = tail(_augment(x, generator))
            scale = objectives.log_scale.exp().clamp(max=100)
            loss = info_nce(objectives.to_text(pooled), t_all[idx], scale)
            if classes and settings.label_weight:
                parts = []
                for head, name in zip(objectives.heads, classes, strict=True):
                    y = targets[name][idx]
                    if (y >= 0).any():
                        parts.append(F.cross_entropy(head(pooled), y, ignore_index=-100))
                if parts:
                    loss = loss + settings.label_weight * torch.stack(parts).mean()
            if settings.self_supervised_weight:
                pick = np.sort(
                    rng.choice(len(photos), min(len(photos), max(len(idx) // 2, 8)), replace=False)
                )
                views = torch.from_numpy(photos[pick]).float()
                a = objectives.views(tail(_augment(views, generator)))
                b = objectives.views(tail(_augment(views, generator)))
                loss = loss + settings.self_supervised_weight * info_nce(a, b, torch.tensor(10.0))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total, batches = total + float(loss.detach()), batches + 1
        record["epochs"].append({"epoch": epoch + 1, "loss": round(total / max(batches, 1), 4)})
        current = score()
        record["epochs"][-1]["valid_R@10"] = round(current, 4)
        bar.set_postfix(loss=f"{total / max(batches, 1):.3f}", r10=f"{current:.3f}")
        if stopping.step(current, lambda: snapshot(tail)):
            break
    if stopping.best_state is not None:
        tail.load_state_dict(stopping.best_state)
    best = stopping.best if stopping.best is not None else -float("inf")
    _re_estimate_batch_norm(tail, photos, settings.batch_size)
    tail.eval()
    record["best_valid_R@10"] = round(best, 4)
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["photos"] = {"paired": len(activations), "unlabelled": len(extra)}
    echo(
        f"backbone: tuned {len(tail.blocks)} block(s) + head on {len(activations)} pairs"
        f" (+{len(extra)} photos without text), best title->photo R@10 {best:.3f}, {record['seconds']:.0f}s"
    )
    prefixes = backbone_prefixes(cut, len(net._blocks))
    state = {k: v.detach().clone() for k, v in net.state_dict().items() if k.startswith(prefixes)}
    return state, record


def _re_estimate_batch_norm(tail: TunedTail, photos: np.ndarray, batch_size: int) -> None:
    """AdaBN: the tuned layers' batch-norm statistics recomputed over every photo, no gradients."""
    norms = [m for m in tail.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    tail.train()
    with torch.no_grad():
        for start in range(0, len(photos), batch_size * 2):
            tail(torch.from_numpy(photos[start : start + batch_size * 2]).float())
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    tail.eval()


def tail_batches(tail: TunedTail, activations: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Pooled ``(n, 1280)`` features of cached maps through ``tail`` (caller sets the mode)."""
    out = [
        tail(torch.from_numpy(activations[s : s + batch_size]).float())
        for s in range(0, len(activations), batch_size)
    ]
    return torch.cat(out) if out else torch.zeros(0, 1280)


def tail_features(net: Any, cut: int, activations: np.ndarray) -> np.ndarray:
    """Pooled features of cached maps through the (tuned) top of ``net``, eval mode."""
    tail = TunedTail(net, cut).eval()
    with torch.inference_mode():
        return tail_batches(tail, activations).numpy().astype(np.float32)
