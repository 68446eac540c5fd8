"""The tuned-backbone file: the layers ``shopfuse train`` tuned on top of the image encoder's network.

:mod:`shopfuse.model.backbone` tunes them and writes the file with :func:`save_tail`;
:class:`~shopfuse.encoders.image.EfficientNetColourEncoder` reads it back (``tail=PATH``) with
:func:`load_tail`, and names its image space by :func:`tail_digest`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopfuse.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["TAIL_FORMAT", "load_tail", "save_tail", "tail_digest"]

TAIL_FORMAT = 1


def save_tail(
    path: Path, backbone: str, cut: int, state: dict[str, torch.Tensor], record: dict[str, Any]
) -> str:
    """Write the tuned layers; returns the file's digest (names the image space)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"format": TAIL_FORMAT, "backbone": backbone, "cut": cut, "state": state, "record": record}, path
    )
    return tail_digest(path)


def tail_digest(path: str | Path) -> str:
    """Short content digest of a tail file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def load_tail(net: Any, path: str | Path, backbone: str) -> int:
    """Put a saved tail's weights into ``net``; returns its cut. Clear errors for the wrong file."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"tuned backbone file {file} does not exist (was the model folder copied partly?)")
    payload = torch.load(file, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != TAIL_FORMAT:
        raise ConfigError(f"{file} is not a shopfuse tuned-backbone file")
    if payload["backbone"] != backbone:
        raise ConfigError(f"{file} tunes {payload['backbone']}, but the encoder uses {backbone}")
    missing = set(payload["state"]) - set(net.state_dict())
    if missing:
        raise ConfigError(f"{file} has weights this backbone lacks: {sorted(missing)[:3]}")
    net.load_state_dict(payload["state"], strict=False)
    return int(payload["cut"])
