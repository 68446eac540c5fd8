"""Field mapping: how a shop's own column names map onto shopfuse's standard fields."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from shopfuse.errors import ConfigError

__all__ = ["STANDARD_FIELDS", "FieldMapping"]

STANDARD_FIELDS = ("id", "title", "description", "image", "images", "video", "audio", "lang")


class FieldMapping(BaseModel):
    """Column name of each standard field; every other column is an attribute unless excluded."""

    model_config = ConfigDict(extra="forbid")

    id: str = "id"
    title: str = "title"
    description: str = "description"
    image: str = "image"
    images: str = "images"
    video: str = "video"
    audio: str = "audio"
    lang: str = "lang"
    attributes: list[str] | None = None
    """Columns kept as attributes; ``None`` keeps every column that is not a standard field."""
    exclude: list[str] = []
    """Columns dropped entirely."""

    @classmethod
    def from_options(cls, fields: Iterable[str] = (), file: str | Path | None = None) -> FieldMapping:
        """Build from a YAML/JSON mapping file and ``field=column`` options (options win)."""
        data: dict[str, Any] = {}
        if file is not None:
            data.update(_read_mapping_file(Path(file)))
        for option in fields:
            key, sep, column = option.partition("=")
            key, column = key.strip(), column.strip()
            if not sep or not key or not column:
                raise ConfigError(f"--field expects FIELD=COLUMN, got {option!r}")
            if key not in STANDARD_FIELDS:
                raise ConfigError(
                    f"--field {option!r}: unknown field {key!r}; standard fields are "
                    + ", ".join(STANDARD_FIELDS)
                )
            data[key] = column
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"invalid field mapping: {exc}") from exc

    def standard_columns(self) -> dict[str, str]:
        """``{standard field: column}`` for the eight standard fields."""
        return {name: getattr(self, name) for name in STANDARD_FIELDS}

    def attribute_columns(self, columns: Iterable[str]) -> list[str]:
        """Which of ``columns`` become attributes."""
        reserved = set(self.standard_columns().values()) | set(self.exclude)
        if self.attributes is not None:
            return [c for c in self.attributes if c not in reserved]
        return [c for c in columns if c not in reserved]

    def save(self, path: str | Path) -> None:
        """Write the mapping as YAML."""
        Path(path).write_text(yaml.safe_dump(self.model_dump(), sort_keys=False), encoding="utf-8")


def _read_mapping_file(path: Path) -> dict[str, Any]:
    """Read a mapping file; ``fields:`` may nest the standard fields or they may sit at top level."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"mapping file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping file {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"mapping file {path} must hold a mapping of field: column")
    data = dict(loaded)
    nested = data.pop("fields", None)
    if nested is not None:
        if not isinstance(nested, dict):
            raise ConfigError(f"mapping file {path}: 'fields' must be a mapping")
        data.update(nested)
    return data
