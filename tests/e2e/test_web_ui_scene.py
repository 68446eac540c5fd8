"""The product page shows the main photo's scene and shot type (headless Chromium, real server)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopfuse.demo import FASHION_MAPPING
from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import write_subset
from tests.e2e.test_web_ui import browser, page, shoot  # noqa: F401  (fixtures)
from tests.helpers.processes import serving

pytestmark = pytest.mark.e2e

IDS = ("18755", "18439", "10001")  # on a model, a packshot, a flat lay (hand labels)


@pytest.fixture(scope="module")
def base_url(fashion_csv: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-product store served on a free port."""
    with fashion_csv.open(newline="", encoding="utf-8") as handle:
        rows = [i for i, row in enumerate(csv.DictReader(handle)) if row["id"] in IDS]
    folder = tmp_path_factory.mktemp("scene-ui")
    engine = Engine.open(folder / "store")
    engine.ingest(write_subset(fashion_csv, folder / "three.csv", rows), FASHION_MAPPING, progress=False)
    settings = ServiceSettings(image_roots=[str(shared_data / "fashion-products" / "images")])
    with serving(create_app(engine, settings)) as url:
        yield url


def test_product_page_shows_scene_and_shot(page: Any) -> None:  # noqa: F811
    page.evaluate("location.hash = '#/product/18755'")
    page.wait_for_selector("[data-testid=product-view] [data-testid=product-scene-shot]")
    assert page.get_by_test_id("product-scene").get_attribute("data-value") == "studio"
    assert page.get_by_test_id("product-shot").get_attribute("data-value") == "on_model"
    assert page.get_by_test_id("product-shot").inner_text() == "On a model"
    assert page.locator("[data-testid=product-attribute][data-attr=shot]").count() == 0  # a tag, not a row
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=product-image]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    shoot(page, "scene-product", full_page=True)

    page.evaluate("location.hash = '#/product/18439'")
    page.wait_for_selector("[data-testid=product-shot][data-value=packshot]")
    assert page.get_by_test_id("product-scene").inner_text() == "Studio shot"
