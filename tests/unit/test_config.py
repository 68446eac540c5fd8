from pathlib import Path

import pytest

from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.errors import ConfigError


def test_round_trip(tmp_path: Path) -> None:
    config = EngineConfig(text_encoder=ComponentSpec(name="minilm"), ocr="auto", batch_size=8)
    config.save(tmp_path / "c.json")
    assert EngineConfig.load(tmp_path / "c.json") == config


def test_invalid_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"ocr": "sometimes"}')
    with pytest.raises(ConfigError, match=r"bad\.json"):
        EngineConfig.load(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match=r"broken\.json"):
        EngineConfig.load(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="not found"):
        EngineConfig.load(tmp_path / "none.json")


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"text_encoderr": {"name": "x"}}')
    with pytest.raises(ConfigError):
        EngineConfig.load(tmp_path / "c.json")
