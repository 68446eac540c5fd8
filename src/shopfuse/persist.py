"""The one save/load convention of shopfuse's learned components (aligners, fusions, attribute heads).

In the spirit of sentence-transformers' ``modules.json``: every component saves itself into its
own folder, with ``save(folder)`` and ``classmethod load(folder)``, as

- ``component.json``: ``{"format": 1, "kind": ..., "type": ..., "config": {...}}``, the registry
  kind (``"alignment"``, ``"fusion"``, ``"attributes"``), the registered name of the class, and
  what it needs to rebuild itself (constructor parameters, input sizes, fitted scalars);
- ``state.npz``: its learned numpy arrays, if any;
- ``state.pt``: its torch ``state_dict``, if any.

A folder holding several components (a model folder) lists them in ``components.json``
(:func:`write_manifest`): each part's name, sub-folder, kind and type, so loading it needs no
fixed layout. Every problem with a saved folder raises :class:`ComponentError`, which names it.

Folders written before this convention (``aligner.json`` / ``params.json`` / ``heads.json`` and
other weight file names) still load: a component passes a :class:`Legacy` description of its old
layout, used when ``component.json`` is absent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopfuse.errors import ConfigError

__all__ = [
    "ARRAYS_FILE",
    "COMPONENT_FILE",
    "MANIFEST_FILE",
    "WEIGHTS_FILE",
    "ComponentError",
    "Legacy",
    "Part",
    "load_arrays",
    "load_config",
    "load_weights",
    "read_component",
    "read_manifest",
    "save_component",
    "save_part",
    "write_manifest",
]

COMPONENT_FILE = "component.json"
ARRAYS_FILE = "state.npz"
WEIGHTS_FILE = "state.pt"
MANIFEST_FILE = "components.json"
FORMAT = 1


class ComponentError(ConfigError):
    """A saved component folder is missing, incomplete, or holds another component."""

    def __init__(self, folder: str | Path, reason: str) -> None:
        super().__init__(f"{folder}: {reason}")
        self.folder = Path(folder)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Legacy:
    """How a component's folder looked before ``component.json`` (read-only compatibility)."""

    file: str
    """Its JSON file (``aligner.json``, ``params.json``, ``heads.json``)."""
    config: Callable[[dict[str, Any]], dict[str, Any]]
    """That file's contents to the component's ``config``."""
    type_key: str | None = "name"
    """The key naming the component's type, checked on load; ``None``: the file does not say."""
    weights: str = WEIGHTS_FILE
    """Its torch weights file."""


def save_component(
    folder: str | Path,
    kind: str,
    type_name: str,
    config: Mapping[str, Any],
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``component.json`` (and ``state.npz`` / ``state.pt`` when given) into ``folder``, created."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "kind": kind, "type": type_name, "config": dict(config)}
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    (root / COMPONENT_FILE).write_text(text, encoding="utf-8")
    if arrays is not None:
        # numpy's stubs type ``**kwds`` of savez as if it were ``allow_pickle``.
        savez: Any = np.savez
        savez(root / ARRAYS_FILE, **arrays)
    if weights is not None:
        import torch

        torch.save(dict(weights), root / WEIGHTS_FILE)
    return root


def read_component(folder: str | Path) -> tuple[str, str, dict[str, Any]]:
    """``(kind, type, config)`` of the component saved in ``folder``."""
    root = Path(folder)
    path = root / COMPONENT_FILE
    if not path.is_file():
        raise ComponentError(root, f"no saved component here (missing {COMPONENT_FILE})")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        kind, type_name, config = str(payload["kind"]), str(payload["type"]), dict(payload["config"])
        version = int(payload.get("format", FORMAT))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ComponentError(root, f"unreadable {COMPONENT_FILE} ({error})") from error
    if version > FORMAT:
        raise ComponentError(root, f"component format {version} is newer than this shopfuse")
    return kind, type_name, config


def load_config(
    folder: str | Path, kind: str, type_name: str, legacy: Legacy | None = None
) -> dict[str, Any]:
    """The ``config`` a component of ``kind`` / ``type_name`` saved in ``folder``.

    Refuses a folder saved by another component; without ``component.json``, reads ``legacy``.
    """
    root = Path(folder)
    if not (root / COMPONENT_FILE).is_file() and legacy is not None and (root / legacy.file).is_file():
        return _legacy_config(root, kind, type_name, legacy)
    saved_kind, saved_type, config = read_component(root)
    if (saved_kind, saved_type) != (kind, type_name):
        raise ComponentError(root, f"holds {saved_kind} {saved_type!r}, not {kind} {type_name!r}")
    return config


def _legacy_config(root: Path, kind: str, type_name: str, legacy: Legacy) -> dict[str, Any]:
    try:
        data = json.loads((root / legacy.file).read_text(encoding="utf-8"))
        saved = data.get(legacy.type_key, type_name) if legacy.type_key else type_name
        config = legacy.config(data)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ComponentError(root, f"unreadable {legacy.file} ({error})") from error
    if saved != type_name:
        raise ComponentError(root, f"holds {kind} {saved!r}, not {kind} {type_name!r}")
    return config


def load_arrays(folder: str | Path) -> dict[str, np.ndarray]:
    """The arrays :func:`save_component` wrote to ``state.npz``."""
    path = Path(folder) / ARRAYS_FILE
    if not path.is_file():
        raise ComponentError(folder, f"missing {ARRAYS_FILE} (was the folder copied partly?)")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def load_weights(folder: str | Path, legacy: Legacy | None = None) -> dict[str, Any]:
    """The torch ``state_dict`` :func:`save_component` wrote (``legacy.weights`` in an old folder)."""
    import torch

    root = Path(folder)
    path = root / WEIGHTS_FILE
    if not path.is_file() and legacy is not None and not (root / COMPONENT_FILE).is_file():
        path = root / legacy.weights
    if not path.is_file():
        raise ComponentError(root, f"missing {path.name} (was the folder copied partly?)")
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state


@dataclass(frozen=True, slots=True)
class Part:
    """One entry of a manifest: component ``name`` saved in sub-folder ``folder`` as ``kind`` / ``type``."""

    name: str
    folder: str
    kind: str
    type: str


def save_part(root: str | Path, name: str, component: Any) -> Part:
    """``component.save(root / name)``; returns its manifest entry (kind and type from what it wrote)."""
    component.save(Path(root) / name)
    kind, type_name, _ = read_component(Path(root) / name)
    return Part(name, name, kind, type_name)


def write_manifest(root: str | Path, parts: list[Part]) -> None:
    """Write ``components.json`` listing ``parts`` into ``root``."""
    payload = {"format": FORMAT, "components": [asdict(part) for part in parts]}
    (Path(root) / MANIFEST_FILE).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def read_manifest(root: str | Path) -> dict[str, Part] | None:
    """``{name: part}`` from ``root/components.json``; ``None`` where there is none (an older folder)."""
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        version = int(payload.get("format", FORMAT))
        parts = [
            Part(str(p["name"]), str(p["folder"]), str(p["kind"]), str(p["type"]))
            for p in payload["components"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ComponentError(root, f"unreadable {MANIFEST_FILE} ({error})") from error
    if version > FORMAT:
        raise ComponentError(root, f"manifest format {version} is newer than this shopfuse")
    return {part.name: part for part in parts}
