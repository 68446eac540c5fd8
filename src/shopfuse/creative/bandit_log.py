"""A logged impression table as arrays: :class:`BanditLog`, what log readers return and policies read.

Its own module so that the readers (:mod:`shopfuse.creative.logs` for files,
:mod:`shopfuse.creative.journal` for the service's feedback folder) both sit above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shopfuse.errors import ConfigError

__all__ = ["BanditLog"]


@dataclass(slots=True)
class BanditLog:
    """Logged impressions as arrays, one entry per row."""

    action: np.ndarray
    """Action ids (strings)."""
    reward: np.ndarray
    propensity: np.ndarray
    timestamp: np.ndarray | None = None
    """``datetime64[ns]`` (UTC) or ``None`` when the log has no time."""
    position: np.ndarray | None = None
    context: dict[str, np.ndarray] = field(default_factory=dict)
    """Context columns: float arrays for numbers, object arrays of strings for categories."""
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.action)
        for name in ("reward", "propensity"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"log column {name} has {len(getattr(self, name))} rows, action has {n}")

    def __len__(self) -> int:
        return len(self.action)

    @property
    def actions(self) -> list[str]:
        """The distinct actions, sorted."""
        return sorted(set(self.action.tolist()))

    def take(self, rows: np.ndarray | Sequence[int]) -> BanditLog:
        """The log restricted to ``rows`` (indices or a boolean mask)."""
        index = np.asarray(rows)
        return BanditLog(
            action=self.action[index],
            reward=self.reward[index],
            propensity=self.propensity[index],
            timestamp=None if self.timestamp is None else self.timestamp[index],
            position=None if self.position is None else self.position[index],
            context={k: v[index] for k, v in self.context.items()},
            source=self.source,
        )

    def numeric_context(self) -> list[str]:
        """Context columns holding numbers."""
        return [k for k, v in self.context.items() if v.dtype.kind in "fiub"]

    def categorical_context(self) -> list[str]:
        """Context columns holding categories."""
        return [k for k, v in self.context.items() if v.dtype.kind not in "fiub"]
