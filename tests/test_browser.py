"""The rendered email and blog post in a real headless Chromium.

The files are served from 127.0.0.1; every other request is refused, except the sample's
feed images, which are answered with generated placeholder PNGs so that the screenshots in
tests/artifacts/ look like the real thing. Besides the test fixture's issue, the bundled
sample week (tests/golden/bundled/, the issue `roundup build --week 2015-W33` makes from
samples/feeds/) is shot at 600 px, 375 px and in dark mode.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from roundup.render import render_issue, write_issue
from tests import browser
from tests.conftest import GOLDEN
from tests.test_render import IMAGE_HOST, big_draft, sample_config, sample_draft

pytestmark = pytest.mark.browser

_BUNDLED_IMAGES = "https://example.org/media/"  # the sample feeds' pictures
_PALETTE = [(52, 94, 140), (160, 82, 45), (85, 107, 47), (112, 66, 128)]


def _placeholder(url: str) -> tuple[str, bytes] | None:
    """A PNG for the fixture's image URLs; None (refuse) for anything else."""
    if not url.startswith((IMAGE_HOST, _BUNDLED_IMAGES)):
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
    (root / "bundled").mkdir()
    for name in ("email.html", "post.html"):
        shutil.copyfile(GOLDEN / "bundled" / name, root / "bundled" / name)
    with browser.serve(root) as base:
        yield base


_PAGES = [
    ("sample/email.html", 800, "light", "email-desktop.png"),
    ("sample/email.html", 375, "light", "email-mobile.png"),
    ("sample/email.html", 800, "dark", "email-desktop-dark.png"),
    ("sample/post.html", 1280, "light", "post-desktop.png"),
    ("sample/post.html", 375, "light", "post-mobile.png"),
    ("sample/email.html", 600, "light", "email-600.png"),
    ("sample/email.html", 375, "dark", "email-mobile-dark.png"),
    ("overflow/email.html", 800, "light", "email-overflow.png"),
    ("bundled/email.html", 600, "light", "bundled-email-600.png"),
    ("bundled/email.html", 375, "light", "bundled-email-375.png"),
    ("bundled/email.html", 600, "dark", "bundled-email-600-dark.png"),
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


# Words of each headline that the browser laid out on more than one line: a word broken
# mid-word has two boxes. Hyphenated compounds may wrap at their hyphen, so those are left out.
_BROKEN_WORDS = """() => {
  const broken = [];
  for (const heading of document.querySelectorAll('h1, h3, .m')) {
    const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\\s\\-\u2013\u2014\\/]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects(), r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("images", ["shown", "blocked"])
@pytest.mark.parametrize("path", ["sample/email.html", "bundled/email.html"])
@pytest.mark.parametrize("width", [600, 375])
def test_headlines_never_break_mid_word(
    chromium: object, site: str, path: str, width: int, images: str
) -> None:
    """Beside a thumbnail, shown or blocked, no headline or byline word is split across
    lines, and a blocked thumbnail leaves no text behind (its alt is empty)."""
    fulfill = _placeholder if images == "shown" else None
    with browser.open_page(chromium, site + path, width=width, fulfill=fulfill) as (page, _):
        broken = page.evaluate(_BROKEN_WORDS)  # type: ignore[attr-defined]
        cells = page.evaluate(  # type: ignore[attr-defined]
            "() => Array.from(document.querySelectorAll('img'), img => "
            "[img.alt, img.parentElement.innerText.trim()])"
        )
    assert broken == []
    assert cells and all(cell == ["", ""] for cell in cells)


@pytest.mark.parametrize(
    ("scheme", "colour"), [("light", "rgb(29, 33, 39)"), ("dark", "rgb(236, 233, 228)")]
)
def test_headlines_look_like_headlines(
    chromium: object, site: str, scheme: str, colour: str
) -> None:
    """An item's headline is ink-coloured, bold and not underlined, in light and dark mode."""
    with browser.open_page(
        chromium, site + "bundled/email.html", width=375, color_scheme=scheme
    ) as (page, _):
        styles = page.evaluate(  # type: ignore[attr-defined]
            "() => Array.from(document.querySelectorAll('h3 a'), a => {"
            " const s = getComputedStyle(a);"
            " return [s.textDecorationLine, s.color, s.fontWeight]; })"
        )
    assert styles and set(map(tuple, styles)) == {("none", colour, "700")}
