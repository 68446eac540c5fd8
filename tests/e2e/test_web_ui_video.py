"""The web UI plays a product video from a moment: photo search shows the moments, the page seeks to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.e2e.test_web_ui import READY, VIEWPORT, browser, shoot  # noqa: F401  (browser is a fixture)
from tests.helpers.processes import serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def video_url(media_engine: Engine, media_set: Any) -> Iterator[str]:
    """uvicorn serving the constructed media store, its clips and photos."""
    roots = [str(media_set.catalog.parent), *{str(p.rsplit("/", 1)[0]) for p in media_set.photos.values()}]
    with serving(create_app(media_engine, ServiceSettings(image_roots=roots))) as url:
        yield url


@pytest.fixture()
def tab(browser: Any, video_url: str) -> Iterator[Any]:  # noqa: F811
    """A fresh tab; script errors and CSP refusals fail the test."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_default_timeout(30_000)
    page.goto(video_url + "/")
    yield page
    page.close()
    assert not errors, errors


def test_photo_search_shows_moments_and_the_page_plays_from_one(tab: Any, media_set: Any) -> None:
    product, start, _ = media_set.shots["clip-narrated"][1]
    tab.get_by_test_id("image-input").set_input_files(media_set.photos[product])
    tab.wait_for_selector(READY)
    card = tab.locator("[data-testid=result-card][data-id=clip-narrated]")
    chips = card.locator("[data-testid=result-moments] .moment")
    assert chips.count() >= 1
    assert chips.first.inner_text().startswith("▶ 00:03-00:06")
    # a product with a video and no photo shows a frame of its video
    tab.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=result-card][data-id=clip-narrated] img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    shoot(tab, "video-1-moments")
    chips.first.click()
    video = tab.wait_for_selector("[data-testid=product-video]")
    assert video.get_attribute("src").endswith(f"#t={start:g}")
    tab.wait_for_function("() => document.querySelector('[data-testid=product-video]').readyState >= 1")
    duration = tab.evaluate("() => document.querySelector('[data-testid=product-video]').duration")
    assert duration == pytest.approx(9.0, abs=0.3)
    moments = tab.locator("[data-testid=product-moment]")
    assert moments.count() == 3
    moments.nth(2).click()
    tab.wait_for_function("() => document.querySelector('[data-testid=product-video]').currentTime >= 5.9")
    shoot(tab, "video-2-product")
