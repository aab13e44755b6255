"""The desk in the editor's week, over real HTTP on 127.0.0.1: each item's link status from a
real link check, adopting a redirect, moves by plain forms (no JavaScript) and by the page's
JSON, and a sent issue shown as sent and read-only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from roundup.draft_file import load_draft, save_draft
from roundup.edit import set_link
from roundup.errors import DraftError
from roundup.pipeline import check_links
from roundup.store import Store
from tests.test_desk import WEEK, Site, copy_site, keys, seeded, start
from tests.test_linkcheck import Site as WebSite

__all__ = ["seeded"]  # the fixture, imported for pytest

SENT_AT = datetime(2015, 8, 14, 19, 0, tzinfo=UTC)  # Friday 15:00 in New York


@pytest.fixture
def web() -> Iterator[WebSite]:
    with WebSite() as running:
        yield running


@pytest.fixture
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    config = copy_site(seeded, tmp_path)
    with start(config) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        yield Site(config, server, client)


def relink(site: Site, web: WebSite, paths: list[str]) -> list[str]:
    """Point the first items at pages of ``web``; returns their keys."""
    draft = load_draft(site.draft_file)
    targets = dict(zip([item.key for item in draft.items], paths, strict=False))
    sections = tuple(
        replace(
            section,
            items=tuple(
                replace(item, link=web.url(targets[item.key])) if item.key in targets else item
                for item in section.items
            ),
        )
        for section in draft.sections
    )
    save_draft(site.draft_file, replace(draft, sections=sections))
    return list(targets)


def only_loopback(site: Site, web: WebSite, paths: list[str]) -> list[str]:
    """Keep only as many items as ``paths``, each linking to ``web``: a check stays local."""
    draft = load_draft(site.draft_file)
    wanted = [item.key for item in draft.items][: len(paths)]
    sections = tuple(
        replace(section, items=tuple(i for i in section.items if i.key in wanted))
        for section in draft.sections
    )
    save_draft(site.draft_file, replace(draft, sections=sections))
    return relink(site, web, paths)


def item_html(html: str, key: str) -> str:
    start = html.index(f'<li class="item" data-key="{key}"')
    return html[start : html.index("</li>", start)]


# --- link status and adopting a redirect ---------------------------------------------------------


def test_each_item_shows_what_the_last_link_check_found(site: Site, web: WebSite) -> None:
    ok, gone, moved, home = only_loopback(
        site, web, ["/article", "/gone", "/moved", "/old-article"]
    )
    before, _, _ = site.page()
    assert 'data-link-status="unchecked"' in item_html(before, ok)
    check_links(site.config, week=WEEK, now=datetime(2015, 8, 15, 12, 0, tzinfo=UTC))
    html, _, _ = site.page()
    assert 'data-link-status="ok"' in item_html(html, ok)
    assert "Link works (HTTP 200)" in item_html(html, ok)
    assert "<strong>Broken link:</strong> HTTP 404 Not Found" in item_html(html, gone)
    assert f'Redirects to <a href="{web.url("/new-home-of-the-article")}"' in item_html(html, moved)
    assert "Use the new address" in item_html(html, moved)
    assert "Redirects to the site's home page" in item_html(html, home)
    assert "Use the new address" not in item_html(html, home)


def test_check_links_from_the_desk(site: Site, web: WebSite) -> None:
    only_loopback(site, web, ["/article", "/gone", "/moved"])
    answer = site.post("/api/check-links", {})
    assert answer.status_code == 200
    assert answer.json()["message"] == "Checked 3 links: 1 broken, 1 redirected."
    assert site.client.get("/panel/items").text.count('data-link-status="unchecked"') == 0


def test_adopt_a_redirect_in_one_step(site: Site, web: WebSite) -> None:
    """The item's link becomes the final address; the page then shows it as working."""
    moved, gone = only_loopback(site, web, ["/moved", "/gone"])
    site.post("/api/check-links", {})
    adopted = site.post("/api/adopt", {"key": moved})
    assert adopted.status_code == 200 and adopted.json()["changed"] is True
    item = next(i for i in load_draft(site.draft_file).items if i.key == moved)
    assert (item.key, item.link) == (moved, web.url("/new-home-of-the-article"))
    html, _, _ = site.page()
    assert 'data-link-status="ok"' in item_html(html, moved)
    refused = site.post("/api/adopt", {"key": gone})
    assert refused.status_code == 422
    assert refused.json()["error"] == (
        f"{web.url('/gone')} has no new address to adopt (HTTP 404 Not Found)"
    )


# --- moves: JSON from the page's script, plain forms without it -----------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("top", [2, 0, 1, 3, 4]),
        ("bottom", [0, 1, 3, 4, "...", 2]),
        ("up", [0, 2, 1, 3, 4]),
        ("down", [0, 1, 3, 2, 4]),
    ],
)
def test_move_to_the_top_or_bottom_of_its_section(
    site: Site, to: str, expected: list[int | str]
) -> None:
    first = keys(site.draft_file)[1]  # the Analysis section has more than five items
    moved = site.post("/api/move", {"key": first[2], "to": to})
    assert moved.status_code == 200, moved.text
    order = [first[n] for n in expected if n != "..."]
    if "..." in expected:  # the rest of the section comes before the moved item
        order = [*order[:-1], *first[5:], order[-1]]
    assert keys(site.draft_file)[1][: len(order)] == order


def form_post(
    site: Site, path: str, fields: dict[str, str], *, csrf: bool = True
) -> httpx.Response:
    """POST a form as a browser without JavaScript does: urlencoded, token in the action."""
    token = f"?csrf={site.server.desk.csrf_token}" if csrf else ""
    host = site.server.url.rstrip("/")
    return site.client.post(
        f"{path}{token}", data=fields, headers={"Origin": host}, follow_redirects=False
    )


def test_forms_work_without_javascript(site: Site) -> None:
    """The item's buttons post a form; the answer sends the browser back to the desk."""
    html, _, version = site.page()
    first = keys(site.draft_file)[1]
    assert f'action="/form/move?csrf={site.server.desk.csrf_token}"' in html
    moved = form_post(site, "/form/move", {"key": first[3], "to": "top", "version": version})
    assert (moved.status_code, moved.headers["location"]) == (303, "/")
    assert keys(site.draft_file)[1][0] == first[3]
    version = site.client.get("/api/version").json()["version"]
    removed = form_post(site, "/form/remove", {"key": first[0], "version": version})
    assert removed.status_code == 303 and first[0] in load_draft(site.draft_file).removed
    version = site.client.get("/api/version").json()["version"]
    restored = form_post(site, "/form/restore", {"key": first[0], "version": version})
    assert restored.status_code == 303 and first[0] not in load_draft(site.draft_file).removed


def test_a_form_without_the_token_or_from_a_stale_page_is_refused(site: Site) -> None:
    _, _, version = site.page()
    key = keys(site.draft_file)[1][2]
    before = site.draft_file.read_bytes()
    no_token = form_post(
        site, "/form/move", {"key": key, "to": "top", "version": version}, csrf=False
    )
    assert no_token.status_code == 403
    stale = form_post(site, "/form/move", {"key": key, "to": "top", "version": "0" * 64})
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("text/html")
    assert "This draft changed since you loaded it" in stale.text
    assert "<a href='/'>Back to the desk</a>" in stale.text
    assert site.draft_file.read_bytes() == before


def test_the_items_panel_is_the_list_alone(site: Site) -> None:
    panel = site.client.get("/panel/items").text
    assert panel.count('<li class="item"') == len(load_draft(site.draft_file).items)
    assert "<html" not in panel and "Removed items" not in panel
    removed = site.client.get("/panel/removed").text
    assert "<html" not in removed and "Removed items" in removed


# --- a sent issue ---------------------------------------------------------------------------------


def mark_sent(site: Site, recipients: int) -> None:
    with Store.open(site.config.state) as store:
        store.issue_number(WEEK, first=1)
        store.record_delivery(
            WEEK,
            [f"reader{n}@example.org" for n in range(recipients)],
            status="accepted",
            detail="250 OK",
            at=SENT_AT,
        )
        store.mark_sent(WEEK, [], at=SENT_AT)


def test_a_sent_issue_is_shown_as_sent_and_read_only(site: Site) -> None:
    mark_sent(site, 1204)
    html, _, _ = site.page()
    assert "Sent Fri 14 Aug 15:00 to 1,204 recipients" in html
    assert '<div class="pill sent" id="pill">' in html
    assert "<form" not in html and 'id="approve"' not in html and 'id="send-test"' not in html
    assert 'id="add-url"' not in html and 'id="check-links"' not in html
    fields = re.findall(r"<(?:textarea|input)[^>]*>", html)
    assert fields and all(" readonly" in field for field in fields)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/meta", {"subject": "Too late"}),
        ("/api/move", {"key": "x", "to": "top"}),
        ("/api/approve", {"by": "Ann"}),
        ("/api/send-test", {"to": "ann@example.org"}),
        ("/api/check-links", {}),
    ],
)
def test_a_sent_issue_refuses_every_change(site: Site, path: str, payload: dict[str, str]) -> None:
    mark_sent(site, 1)
    before = site.draft_file.read_bytes()
    refused = site.post(path, payload)
    assert refused.status_code == 409
    assert refused.json()["error"] == (
        "Sent Fri 14 Aug 15:00 to 1 recipient: this issue is read-only, so nothing was changed."
        " Open next week's issue with `roundup preview --week current`."
    )
    assert site.draft_file.read_bytes() == before


def test_a_sent_issue_refuses_a_plain_form_with_a_page(site: Site) -> None:
    mark_sent(site, 2)
    _, _, version = site.page()
    refused = form_post(site, "/form/move", {"key": "x", "to": "top", "version": version})
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("text/html")
    assert "Sent Fri 14 Aug 15:00 to 2 recipients: this issue is read-only" in refused.text


def test_the_page_data_says_read_only(site: Site) -> None:
    mark_sent(site, 1)
    html, _, _ = site.page()
    data = json.loads(re.search(r'id="desk-data">(.*?)</script>', html)[1])  # type: ignore[index]
    assert data["readonly"] is True


@pytest.mark.parametrize("link", ["ftp://example.org/a", "not a url", ""])
def test_only_a_web_address_can_be_adopted(site: Site, link: str) -> None:
    draft = load_draft(site.draft_file)
    with pytest.raises(DraftError, match="is not a web address"):
        set_link(draft, draft.items[0].key, link)
