"""Shared fixtures: the real shared data, and real encoders loaded once per session."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.engine import Engine

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    # The H&M protocols are benchmark code, not shopfuse (``benchmarks/hm``); the benchmark scripts
    # import them as ``hm`` (they run from benchmarks/), and so do the tests. Appended, so nothing
    # in benchmarks/ shadows an installed module.
    sys.path.append(str(BENCHMARKS))


def pytest_configure(config: pytest.Config) -> None:
    """A fresh cache per run, so the ONNX export of the image backbone is exercised every time."""
    os.environ["SHOPFUSE_CACHE"] = tempfile.mkdtemp(prefix="shopfuse-cache-")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


HM_MAPPING = FieldMapping(
    id="article_id", title="prod_name", description="detail_desc", exclude=["product_code"]
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; the tests use the real catalogues."""
    return find_data()


@pytest.fixture(scope="session")
def fashion_csv(shared_data: Path) -> Path:
    """The shared fashion catalogue."""
    return shared_data / "fashion-products" / "metadata.csv"


@pytest.fixture(scope="session")
def hm_csv(shared_data: Path) -> Path:
    """The shared H&M article catalogue (most rows have a photo and no text)."""
    return shared_data / "hm-purchases" / "items.csv"


def write_subset(source: Path, target: Path, rows: list[int]) -> Path:
    """Copy the header and the given data rows (0-based) of a CSV, making media paths absolute."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        data = list(reader)
    image = header.index("image")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in rows:
            row = list(data[i])
            row[image] = str(source.parent / row[image])
            writer.writerow(row)
    return target


@pytest.fixture(scope="session")
def fashion_subset(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 fashion products spread over the catalogue (every 80th row)."""
    return write_subset(
        fashion_csv, tmp_path_factory.mktemp("fashion") / "fashion.csv", list(range(0, 9572, 80))
    )


@pytest.fixture(scope="session")
def fashion_engine(fashion_subset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A store holding the fashion subset, ingested once per session with the default encoders."""
    engine = Engine.open(tmp_path_factory.mktemp("stores") / "fashion")
    engine.ingest(fashion_subset, FASHION_MAPPING, progress=False)
    yield engine


@pytest.fixture(scope="session")
def media_set(fashion_csv: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The constructed video and sound catalogue (see :mod:`tests.helpers.media`)."""
    from tests.helpers.media import build_media_set

    return build_media_set(fashion_csv, tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def media_engine(media_set, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A store of the constructed media catalogue, ingested once per session (OCR on text-like boxes)."""
    from shopfuse.config import EngineConfig

    engine = Engine.open(tmp_path_factory.mktemp("stores") / "media", EngineConfig(ocr="auto"))
    engine.last_report = engine.ingest(media_set.catalog, progress=False)  # type: ignore[attr-defined]
    yield engine
