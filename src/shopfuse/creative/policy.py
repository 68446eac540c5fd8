"""Policies: which action (creative, item) to show in a context, as probabilities.

Every policy answers :meth:`Policy.probabilities` for the rows of a log (the off-policy estimators
need the target's probability of every action in every logged context) and saves itself as JSON
(``{"kind": ..., ...}``) that :func:`load_policy` reads back through the registry (kind
``policy``). Learning policies (Thompson sampling, LinUCB...) add ``choose`` and ``update``.

Built in here: ``uniform`` (every action alike) and ``table`` (given probabilities per value of a
context column, e.g. per segment, with ``"*"`` for any other value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopfuse.config import atomic_write_text
from shopfuse.creative.logs import BanditLog
from shopfuse.errors import ConfigError
from shopfuse.registry import registry

__all__ = ["Policy", "TablePolicy", "UniformPolicy", "load_policy", "save_policy"]


@runtime_checkable
class Policy(Protocol):
    """Action probabilities per context."""

    kind: str
    actions: list[str]

    def probabilities(self, log: BanditLog) -> np.ndarray:
        """``(len(log), len(self.actions))``: each row a distribution over :attr:`actions`."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``kind``."""
        ...


@registry.register("policy", "uniform")
class UniformPolicy:
    """Every action with the same probability."""

    kind = "uniform"

    def __init__(self, actions: Sequence[str]) -> None:
        if not actions:
            raise ConfigError("a policy needs at least one action")
        self.actions = list(actions)

    def probabilities(self, log: BanditLog) -> np.ndarray:
        """``1 / len(actions)`` everywhere."""
        return np.full((len(log), len(self.actions)), 1.0 / len(self.actions))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "uniform", "actions": [...]}``."""
        return {"kind": self.kind, "actions": self.actions}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UniformPolicy:
        """Read back :meth:`to_dict`."""
        return cls(list(data["actions"]))


@registry.register("policy", "table")
class TablePolicy:
    """Given action probabilities per value of one context column (``"*"``: any other value)."""

    kind = "table"

    def __init__(
        self, actions: Sequence[str], table: Mapping[str, Mapping[str, float]], context: str | None = None
    ) -> None:
        self.actions = list(actions)
        self.context = context
        index = {a: i for i, a in enumerate(self.actions)}
        self.table: dict[str, np.ndarray] = {}
        for value, probs in table.items():
            unknown = sorted(set(probs) - set(index))
            if unknown:
                raise ConfigError(f"policy table {value!r}: unknown action(s) {', '.join(unknown[:10])}")
            row = np.zeros(len(self.actions))
            for action, p in probs.items():
                if not np.isfinite(p) or p < 0:
                    raise ConfigError(f"policy table {value!r}: probability of {action!r} must be >= 0")
                row[index[action]] = float(p)
            total = row.sum()
            if not 0.999 <= total <= 1.001:
                raise ConfigError(f"policy table {value!r}: probabilities sum to {total:.4f}, not 1")
            self.table[str(value)] = row / total
        if context is None and set(self.table) != {"*"}:
            raise ConfigError('a policy table without a context column has one entry, "*"')

    def probabilities(self, log: BanditLog) -> np.ndarray:
        """The table's row for each logged context value; a value it lacks takes ``"*"``."""
        if self.context is None:
            return np.tile(self.table["*"], (len(log), 1))
        if self.context not in log.context:
            raise ConfigError(f"the policy reads context column {self.context!r}, which the log lacks")
        values = log.context[self.context]
        out = np.empty((len(log), len(self.actions)))
        for i, value in enumerate(values):
            key = str(value)
            row = self.table.get(key, self.table.get("*"))
            if row is None:
                raise ConfigError(f'the policy has no probabilities for {self.context} = {key!r} and no "*"')
            out[i] = row
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "table", "context": column, "probabilities": {value: {action: p}}}``."""
        return {
            "kind": self.kind,
            "actions": self.actions,
            "context": self.context,
            "probabilities": {
                value: {a: float(p) for a, p in zip(self.actions, row, strict=True) if p > 0}
                for value, row in self.table.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TablePolicy:
        """Read back :meth:`to_dict`; ``actions`` may be left out (the table's actions, sorted)."""
        probabilities = data.get("probabilities")
        if not isinstance(probabilities, Mapping) or not probabilities:
            raise ConfigError('a table policy needs "probabilities": {context value: {action: p}}')
        actions = data.get("actions") or sorted({a for row in probabilities.values() for a in row})
        return cls(actions, probabilities, data.get("context"))


def save_policy(policy: Policy, path: str | Path) -> None:
    """Write the policy's JSON atomically."""
    atomic_write_text(path, json.dumps(policy.to_dict(), indent=1))


def load_policy(spec: str | Path, actions: Sequence[str] | None = None) -> Policy:
    """``uniform`` (over ``actions``), or a policy JSON file (any registered ``kind``)."""
    if str(spec) == "uniform":
        if not actions:
            raise ConfigError("the uniform policy needs the actions (from the log or the action table)")
        return UniformPolicy(actions)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"policy {spec!r}: not 'uniform' and no such file")
    if path.stat().st_size > 64 << 20:
        raise ConfigError(f"policy {spec!r}: larger than 64 MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"policy {spec!r}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "kind" not in data:
        raise ConfigError(f'policy {spec!r}: expected an object with "kind"')
    factory = registry.get("policy", str(data["kind"]))
    from_dict = getattr(factory, "from_dict", None)
    if from_dict is None:
        raise ConfigError(f"policy kind {data['kind']!r} cannot be read from JSON")
    if actions and "actions" not in data:
        data = {**data, "actions": list(actions)}
    policy: Policy = from_dict(data)
    return policy
