"""Saving aligners to a folder: a small JSON of parameters beside the learned arrays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError

__all__ = ["load_arrays", "read_params", "save_arrays", "write_params"]

PARAMS_FILE = "aligner.json"
ARRAYS_FILE = "state.npz"


def write_params(folder: Path, name: str, params: dict[str, Any]) -> None:
    """Write ``{"name": ..., "params": ...}`` to ``folder/aligner.json``, creating the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "params": params}
    (folder / PARAMS_FILE).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def read_params(folder: Path, name: str) -> dict[str, Any]:
    """The parameters :func:`write_params` wrote; refuses a folder saved by another aligner."""
    path = Path(folder) / PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"no saved aligner at {folder} (missing {PARAMS_FILE})")
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("name") != name:
        raise ConfigError(f"{folder} holds aligner {payload.get('name')!r}, not {name!r}")
    params: dict[str, Any] = payload["params"]
    return params


def save_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the learned arrays to ``folder/state.npz``."""
    # numpy's stubs type ``**kwds`` of savez as if it were ``allow_pickle``.
    savez: Any = np.savez
    savez(Path(folder) / ARRAYS_FILE, **arrays)


def load_arrays(folder: Path) -> dict[str, np.ndarray]:
    """The arrays :func:`save_arrays` wrote."""
    with np.load(Path(folder) / ARRAYS_FILE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
