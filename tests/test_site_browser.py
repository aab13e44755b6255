"""The web copy in a real headless Chromium: from the email's "View online" to the issue's
page, to the archive and back, served over HTTP on 127.0.0.1 and opened from disk.

The newsletter's address is the loopback server's (``http://127.0.0.1:PORT/roundup/``), so
the email's link really leads to the page ``roundup publish`` wrote; feed images are
answered with placeholder PNGs, every other request outside loopback is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from roundup.cli import cli
from roundup.config import Config
from roundup.pipeline import draft, fetch, render
from tests import browser
from tests.test_site import NOW, SLUG, sample_project

pytestmark = pytest.mark.browser

SUBJECT = "The Elicitor Weekly Roundup: August 14, 2015"


def _placeholder(url: str) -> tuple[str, bytes] | None:
    if url.lower().endswith((".jpg", ".jpeg", ".png")):
        return "image/png", browser.placeholder_png(240, 160, (52, 94, 140))
    return None


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT/
    config: Config


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`roundup publish --week 2015-W33` on the sample week, newsletter.url on loopback."""
    root = tmp_path_factory.mktemp("www")
    project = tmp_path_factory.mktemp("project")
    with browser.serve(root) as base:
        config = sample_project(project, url=f"{base}roundup/")
        fetch(config, now=NOW)
        draft(config, week="2015-W33", now=NOW)
        render(config, week="2015-W33", now=NOW)
        result = CliRunner().invoke(
            cli, ["--config", str(config.path), "publish", "--week", "2015-W33"]
        )
        assert result.exit_code == 0, result.output
        # the server's root is the host: the site at /roundup/, the email beside it
        (root / "roundup").symlink_to(config.output_dir / "site")
        (root / "email").symlink_to(config.output_dir / "2015-W33")
        yield Served(base, config)


@pytest.fixture(scope="module")
def chromium(served: Served) -> Iterator[object]:
    """Chromium, started after the site is built (fetching runs its own event loop)."""
    browser.require_chromium()
    with browser.chromium() as instance:
        yield instance


def _follow(page: object, name: str) -> None:
    """Click the first link named ``name`` and wait for the page it opens."""
    link = page.get_by_role("link", name=name, exact=True).first  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        link.click()
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]


def _heading(page: object) -> str:
    text: str = page.locator("h1").inner_text()  # type: ignore[attr-defined]
    return text


def test_view_online_leads_to_the_issue_then_the_archive_and_back(
    chromium: object, served: Served
) -> None:
    """Email → View online → the issue's page → All issues → the archive → the issue."""
    issue_url = f"{served.base}roundup/{SLUG}/"
    with browser.open_page(chromium, served.base + "email/email.html", fulfill=_placeholder) as (
        page,
        report,
    ):
        _follow(page, "View online")
        assert page.url == issue_url  # type: ignore[attr-defined]
        assert _heading(page) == SUBJECT
        browser.screenshot(page, "site-issue.png")
        _follow(page, "← All issues")
        assert page.url == f"{served.base}roundup/index.html"  # type: ignore[attr-defined]
        assert _heading(page) == "The Elicitor Weekly Roundup"
        browser.screenshot(page, "site-archive.png")
        _follow(page, SUBJECT)
        assert page.url == issue_url + "index.html"  # type: ignore[attr-defined]
        assert _heading(page) == SUBJECT
        assert report.failed == [] and report.console_errors == []


def test_the_folder_works_opened_from_disk(chromium: object, served: Served) -> None:
    """file://…/out/site/index.html → the issue → All issues: relative links name files."""
    site = served.config.output_dir / "site"
    with browser.open_page(chromium, (site / "index.html").as_uri()) as (page, report):
        _follow(page, SUBJECT)
        assert page.url == (site / SLUG / "index.html").as_uri()  # type: ignore[attr-defined]
        _follow(page, "← All issues")
        assert page.url == (site / "index.html").as_uri()  # type: ignore[attr-defined]
        assert report.failed == []


@pytest.mark.parametrize(
    ("path", "scheme", "width", "background"),
    [
        (f"roundup/{SLUG}/", "light", 1024, "rgb(246, 244, 239)"),
        (f"roundup/{SLUG}/", "dark", 1024, "rgb(18, 20, 22)"),
        ("roundup/", "dark", 375, "rgb(18, 20, 22)"),
        ("roundup/", "light", 375, "rgb(246, 244, 239)"),
    ],
)
def test_pages_share_the_post_design_light_and_dark(
    chromium: object, served: Served, path: str, scheme: str, width: int, background: str
) -> None:
    """The post's colours in both schemes, no sideways scroll, the subscribe box shown."""
    with browser.open_page(
        chromium, served.base + path, width=width, color_scheme=scheme, fulfill=_placeholder
    ) as (page, report):
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")  # type: ignore[attr-defined]
        scroll = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        box = page.locator("aside.subscribe")  # type: ignore[attr-defined]
        assert box.is_visible()
        name = path.strip("/").replace("/", "-") or "home"
        browser.screenshot(page, f"site-{name[:40]}-{scheme}-{width}.png")
    assert (body, report.failed, report.console_errors) == (background, [], [])
    assert scroll <= width
