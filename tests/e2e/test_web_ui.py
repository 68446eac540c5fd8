"""The web UI in headless Chromium over a real server: search, filter, photo upload, product page.

The page is driven like a shopper would, through the HTTP API only, with Debian's Chromium
(``apt-get install chromium``) and the ``playwright`` package. Screenshots of every step are
saved under ``test-artifacts/web-ui/`` (``$SHOPFUSE_ARTIFACTS`` to change). Without a browser the
tests are skipped, unless ``SHOPFUSE_REQUIRE_BROWSER=1`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.helpers.processes import serving

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("SHOPFUSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1360, "height": 900}
ARTIFACTS = (
    Path(os.environ.get("SHOPFUSE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "web-ui"
)
READY = "[data-testid=results][data-state=ready]"
PHOTOS_LOADED = """(count) => {
  const images = [...document.querySelectorAll('[data-testid=result-image]')].slice(0, count);
  return images.length === count && images.every((i) => i.complete && i.naturalWidth > 0);
}"""


def _no_browser(reason: str) -> None:
    if os.environ.get("SHOPFUSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (SHOPFUSE_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def base_url(fashion_engine: Engine, shared_data: Path) -> Iterator[str]:
    """uvicorn on a free port in a thread, serving the 120-product store and its photos."""
    settings = ServiceSettings(image_roots=[str(shared_data / "fashion-products" / "images")])
    with serving(create_app(fashion_engine, settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with nothing reaching out to the network."""
    if not CHROMIUM.is_file():
        _no_browser(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh tab on the web UI; script errors and Content-Security-Policy refusals fail the test."""
    tab = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # the service's CSP allows only its own files: anything inline or foreign shows up here
    tab.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    tab.set_default_timeout(30_000)
    tab.goto(base_url + "/")
    yield tab
    tab.close()
    assert not errors, errors


def shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot and check it is a real, non-blank PNG of the page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    with Image.open(path) as image:
        assert image.width == VIEWPORT["width"] and image.height >= VIEWPORT["height"]
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
    return path


def search(page: Any, query: str) -> None:
    """Type a query, submit it and wait for the result cards with their photos."""
    page.get_by_test_id("search-input").fill(query)
    page.get_by_test_id("search-submit").click()
    page.wait_for_selector(READY)
    page.wait_for_function(PHOTOS_LOADED, arg=4)


def shown_ids(page: Any) -> list[str]:
    """Product ids of the result cards on the page, in order."""
    return list(
        page.eval_on_selector_all("[data-testid=result-card]", "cards => cards.map(c => c.dataset.id)")
    )


def test_text_search_shows_results_with_photos_scores_and_why(page: Any, base_url: str) -> None:
    page.wait_for_selector("[data-testid=home]")
    search(page, "black leather shoes")
    cards = page.get_by_test_id("result-card")
    assert cards.count() == 12
    # the total the API itself gives for the query (its default depth), not one of the UI's own
    total = httpx.get(f"{base_url}/search", params={"q": "black leather shoes"}).json()["total"]
    assert 24 < total <= 50
    assert f"1–12 of {total} " in page.get_by_test_id("status").inner_text()
    first = cards.first
    assert first.get_by_test_id("result-title").inner_text().strip()
    assert first.get_by_test_id("result-score").inner_text().startswith("score ")
    assert first.locator("[data-testid=result-why] .why-row[data-key=text]").count() == 1
    assert page.get_by_test_id("facet-group").count() >= 3
    shoot(page, "1-search")
    page.get_by_test_id("page-next").click()
    page.wait_for_function("() => location.hash.includes('page=2')")
    page.wait_for_selector(READY)
    page.wait_for_function(PHOTOS_LOADED, arg=4)
    assert f"13–24 of {total} " in page.get_by_test_id("status").inner_text()
    pages = -(-total // 12)
    page.evaluate(f"() => {{ location.hash = location.hash.replace('page=2', 'page={pages}'); }}")
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=page-info]').textContent === 'Page {pages} of {pages}'"
    )
    page.wait_for_selector(READY)
    last = f"{12 * (pages - 1) + 1}–{total} of {total} "  # the last page stays within the API's total
    assert last in page.get_by_test_id("status").inner_text()
    assert page.get_by_test_id("page-next").is_disabled()
    search(page, "红色连衣裙")  # any language
    assert page.get_by_test_id("result-card").count() > 0


def test_facet_filters_narrow_every_result(page: Any, base_url: str) -> None:
    search(page, "shirt")
    option = page.locator("[data-testid=facet-option][data-attr=gender]").first
    gender = option.get_attribute("data-value")
    option.check()
    page.wait_for_selector("[data-testid=active-filter]")
    page.wait_for_selector(READY)
    page.wait_for_function(PHOTOS_LOADED, arg=1)
    ids = shown_ids(page)
    assert ids
    products = [httpx.get(f"{base_url}/products/{i}").json() for i in ids]
    assert all(p["attributes"]["gender"] == gender for p in products)
    colour_option = page.locator("[data-testid=facet-option][data-attr=baseColour]").first
    colour = colour_option.get_attribute("data-value")
    colour_option.check()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=active-filter]').length === 2")
    page.wait_for_function(PHOTOS_LOADED, arg=1)
    both = [httpx.get(f"{base_url}/products/{i}").json()["attributes"] for i in shown_ids(page)]
    assert both and all(a["gender"] == gender and a["baseColour"] == colour for a in both)
    shoot(page, "2-filter")
    page.get_by_test_id("clear-filters").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=active-filter]')")


def test_photo_upload_alone_and_with_words(page: Any, fashion_engine: Engine) -> None:
    row = fashion_engine.store.get([sorted(fashion_engine.store.hashes())[3]])[0]
    page.get_by_test_id("image-input").set_input_files(row["image"])
    page.wait_for_selector(READY)
    page.wait_for_function(PHOTOS_LOADED, arg=4)
    assert shown_ids(page)[0] == row["id"]
    assert page.get_by_test_id("image-chip").is_visible()
    assert page.locator("[data-testid=result-why] .why-row[data-key=image]").count() > 0
    shoot(page, "3-photo")
    search(page, row["title"])  # the photo stays: words and photo together
    assert shown_ids(page)[0] == row["id"]
    first_why = page.get_by_test_id("result-why").first
    assert first_why.locator(".why-row[data-key=text_query]").count() == 1
    assert first_why.locator(".why-row[data-key=image_query]").count() == 1
    page.get_by_test_id("image-clear").click()
    page.wait_for_function("() => !location.hash.includes('photo=1')")


def test_product_page_shows_attributes_similar_items_and_why(page: Any) -> None:
    search(page, "analog watch")
    card = page.get_by_test_id("result-card").first
    title = card.get_by_test_id("result-title").inner_text()
    card.click()
    page.wait_for_selector("[data-testid=product-view] [data-testid=product-title]")
    assert page.get_by_test_id("product-title").inner_text() == title
    attributes = page.get_by_test_id("product-attribute")
    assert attributes.count() >= 5
    assert page.locator("[data-testid=product-attribute][data-attr=gender] td").inner_text()
    assert page.locator("[data-testid=product-why] .why-row").count() >= 1
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=product-image]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    similar = page.get_by_test_id("similar-card")
    assert similar.count() == 6
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=similar-image]')].slice(0, 4)"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    assert similar.first.locator("[data-testid=similar-why] .why-row").count() >= 1
    shoot(page, "4-product", full_page=True)
    page.get_by_test_id("back-link").click()
    page.wait_for_selector(READY)
    assert "analog watch" in page.get_by_test_id("status").inner_text()
