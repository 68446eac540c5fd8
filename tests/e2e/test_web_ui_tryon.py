"""The product page's "Try it on" in headless Chromium: shown for wearable products only, photo -> overlay.

Screenshots go to ``test-artifacts/web-ui/`` like the other web UI tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import HM_MAPPING, write_subset
from tests.e2e.test_web_ui import VIEWPORT, browser, shoot  # noqa: F401  (the browser fixture)
from tests.helpers.processes import serving

pytestmark = pytest.mark.e2e

EARRINGS, BELT = "0795850001", "0673396002"


@pytest.fixture(scope="module")
def base_url(hm_csv: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("tryon-ui")
    catalog = write_subset(hm_csv, work / "jewellery.csv", [4537, 1894])
    engine = Engine.open(work / "store")
    engine.ingest(catalog, HM_MAPPING, progress=False, learn="off")
    app = create_app(engine, ServiceSettings(image_roots=[str(shared_data / "hm-purchases" / "images")]))
    with serving(app) as url:
        yield url


@pytest.fixture()
def page(browser: Any, base_url: str) -> Iterator[Any]:  # noqa: F811
    tab = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    tab.set_default_timeout(60_000)
    yield tab
    tab.close()
    assert not errors, errors


def test_try_it_on_shows_the_overlay_for_earrings(page: Any, base_url: str, shared_data: Path) -> None:
    page.goto(f"{base_url}/#/product/{EARRINGS}")
    page.get_by_test_id("tryon-button").wait_for()
    assert page.get_by_test_id("tryon-button").inner_text() == "Try them on"
    page.get_by_test_id("tryon-button").scroll_into_view_if_needed()
    shoot(page, "tryon-button")
    page.get_by_test_id("tryon-input").set_input_files(str(shared_data / "faces" / "images" / "001_03.jpg"))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=tryon-result]');"
        " return i && !i.hidden && i.complete && i.naturalWidth === 1350; }"
    )
    page.get_by_test_id("tryon-result").scroll_into_view_if_needed()
    shoot(page, "tryon-earrings")


def test_refused_photo_says_why(page: Any, base_url: str, shared_data: Path) -> None:
    page.goto(f"{base_url}/#/product/{EARRINGS}")
    page.get_by_test_id("tryon-button").wait_for()
    page.get_by_test_id("tryon-input").set_input_files(
        str(shared_data / "hm-purchases" / "images" / f"{BELT}.jpg")
    )
    status = page.get_by_test_id("tryon-status")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=tryon-status]').textContent.includes('Cannot')"
    )
    assert "pixels" in status.inner_text()  # a 240x360 packshot is too small a photo


def test_no_button_for_a_product_that_is_not_worn(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/#/product/{BELT}")
    page.get_by_test_id("product-title").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("tryon-button").count() == 0
    assert page.get_by_test_id("tryon").is_hidden()
