"""The rendered email and blog post in a real headless Chromium.

The files are served from 127.0.0.1; every other request is refused, except the sample's
feed images, which are answered with generated placeholder PNGs so that the screenshots in
tests/artifacts/ look like the real thing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roundup.render import render_issue, write_issue
from tests import browser
from tests.test_render import IMAGE_HOST, big_draft, sample_config, sample_draft

pytestmark = pytest.mark.browser

_PALETTE = [(52, 94, 140), (160, 82, 45), (85, 107, 47), (112, 66, 128)]


def _placeholder(url: str) -> tuple[str, bytes] | None:
    """A PNG for the fixture's image URLs; None (refuse) for anything else."""
    if not url.startswith(IMAGE_HOST):
        return None
    return "image/png", browser.placeholder_png(240, 160, _PALETTE[len(url) % len(_PALETTE)])


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    browser.require_chromium()
    with browser.chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample issue and a 300-item issue, written out and served over HTTP."""
    root = tmp_path_factory.mktemp("site")
    write_issue(root / "sample", render_issue(sample_draft(), sample_config()))
    write_issue(root / "overflow", render_issue(big_draft(300), sample_config()))
    with browser.serve(root) as base:
        yield base


_PAGES = [
    ("sample/email.html", 800, "light", "email-desktop.png"),
    ("sample/email.html", 375, "light", "email-mobile.png"),
    ("sample/email.html", 800, "dark", "email-desktop-dark.png"),
    ("sample/post.html", 1280, "light", "post-desktop.png"),
    ("sample/post.html", 375, "light", "post-mobile.png"),
    ("overflow/email.html", 800, "light", "email-overflow.png"),
]


@pytest.mark.parametrize(("path", "width", "scheme", "shot"), _PAGES)
def test_page_loads_cleanly(
    chromium: object, site: str, path: str, width: int, scheme: str, shot: str
) -> None:
    """No console errors, no failed local requests, no broken images, no sideways scroll."""
    with browser.open_page(
        chromium, site + path, width=width, fulfill=_placeholder, color_scheme=scheme
    ) as (page, report):
        saved = browser.screenshot(page, shot)
        assert report.console_errors == []
        assert report.failed == []
        assert report.blocked == []  # our templates load nothing from elsewhere
        assert browser.broken_images(page) == []
        scroll_width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        assert scroll_width <= width
    assert saved.stat().st_size > 10_000


@pytest.mark.parametrize(("width", "expected"), [(800, 600), (375, 375)])
def test_email_container_is_600px_and_fluid(
    chromium: object, site: str, width: int, expected: int
) -> None:
    """The email's card is 600px wide on a desktop and fills a phone's screen."""
    with browser.open_page(chromium, site + "sample/email.html", width=width) as (page, _):
        card = page.evaluate(  # type: ignore[attr-defined]
            "() => Math.round(document.querySelector('td.cd').getBoundingClientRect().width)"
        )
    assert card == expected


def test_email_text_is_legible_in_dark_mode(chromium: object, site: str) -> None:
    """Under prefers-color-scheme: dark the card turns dark and the text light."""
    with browser.open_page(
        chromium, site + "sample/email.html", width=800, color_scheme="dark"
    ) as (page, _):
        colours = page.evaluate(  # type: ignore[attr-defined]
            "() => [getComputedStyle(document.querySelector('td.cd')).backgroundColor,"
            " getComputedStyle(document.querySelector('h1')).color]"
        )
    assert colours == ["rgb(28, 31, 35)", "rgb(236, 233, 228)"]


def test_post_has_no_external_resources(chromium: object, site: str) -> None:
    """The blog post loads nothing but its own page and the items' images."""
    url = site + "sample/post.html"
    with browser.open_page(chromium, url, fulfill=_placeholder) as (_page, report):
        pass
    assert report.requests[0] == url
    assert sorted(report.requests[1:]) == [IMAGE_HOST + "iran-deal.jpg", IMAGE_HOST + "yuan.png"]
