"""The editor's desk driven in headless Chromium: every action lands in draft.yaml.

Each test starts the desk on a copy of the seeded site (see tests/test_desk.py), opens it in
a fresh browser context, acts as an editor would, then reads draft.yaml from disk. The
screenshots go to tests/artifacts/desk-*.png for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from roundup.desk import STALE
from roundup.desk.server import DeskServer
from roundup.draft_file import load_draft, save_draft
from roundup.models import Draft
from roundup.pipeline import draft_path, email_digest, render_week
from roundup.store import Store
from tests.browser import (
    ARTIFACTS,
    PageReport,
    chromium,
    open_page,
    placeholder_png,
    require_chromium,
    screenshot,
    serve,
)
from tests.test_desk import WEEK, copy_site, seeded, start

__all__ = ["seeded"]  # the fixture, imported for pytest

pytestmark = pytest.mark.browser

ARTICLE = """<!doctype html><html><head><meta charset="utf-8">
<title>Fallback title | Harbour Notes</title>
<meta property="og:title" content="Ports &amp; Power in the Gulf of Aden">
<meta property="og:description" content="Why the harbours on the Bab el-Mandeb matter to
  every navy that sails past them.">
<meta property="og:site_name" content="Harbour Notes">
<meta property="og:image" content="/img/port.png">
</head><body><p>The article.</p></body></html>"""

IMAGE = placeholder_png(120, 80, (110, 140, 180))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    with chromium() as launched:
        yield launched


@pytest.fixture
def desk(seeded: Path, tmp_path: Path) -> Iterator[DeskServer]:
    with start(copy_site(seeded, tmp_path), allow_private_pages=True) as server:
        yield server


@contextmanager
def desk_page(
    browser: Any, server: DeskServer, width: int = 1280, *, refused: int | None = None
) -> Iterator[Any]:
    """The desk in a fresh browser context; fails on any console error or failed request
    except answers with the status ``refused``, which the test provokes on purpose."""
    report: PageReport
    page: Any
    with open_page(browser, server.url, width=width, height=900, fulfill=_image) as (
        page,
        report,
    ):
        page.set_default_timeout(10_000)  # a broken page fails in seconds, not minutes
        yield page
    expected = f"status of {refused} " if refused else None
    assert [e for e in report.console_errors if not expected or expected not in e] == []
    failed = [f for f in report.failed if not refused or not f.endswith(f"HTTP {refused}")]
    assert [f for f in failed if not _superseded(f)] == []


def _superseded(failure: str) -> bool:
    """A preview load cut short because a newer version of the issue replaced it: two
    changes in quick succession reload the frames twice, and the first load is aborted."""
    return "/preview/" in failure and failure.endswith("net::ERR_ABORTED")


def _image(url: str) -> tuple[str, bytes]:
    return "image/png", IMAGE  # feed images live on the internet: stand in for them


def on_disk(server: DeskServer) -> Draft:
    return load_draft(draft_path(server.desk.config, WEEK))


def keys(draft: Draft) -> list[list[str]]:
    return [[item.key for item in section.items] for section in draft.sections]


def click_and_reload(page: Any, selector: Any) -> None:
    """Click something that reloads the page when it is saved (approving)."""
    with page.expect_navigation():
        selector.click()


def click_in_place(page: Any, selector: Any, *, action: Any = None) -> None:
    """Click (or do ``action``) something that changes the list of items: it is saved and
    the list swapped in place, and the page is never loaded again."""
    page.evaluate("window.deskStayed = true")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        if action is None:
            selector.click()
        else:
            action()
    assert response.value.status == 200
    settled(page)
    assert page.evaluate("window.deskStayed === true"), "the page was loaded again"


def save_field(page: Any, field: Any, text: str) -> None:
    """Type into a field and leave it, as an editor does; wait until it is saved and shown."""
    field.fill(text)
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        field.press("Tab")
    assert response.value.status == 200
    settled(page)


def settled(page: Any) -> None:
    """Wait until the page has finished saving and refreshing its previews."""
    page.locator('body[data-pending="0"]').wait_for(state="attached")


def test_reorder_and_move_between_sections(browser: Any, desk: DeskServer) -> None:
    """Down swaps an item with the next; the section menu moves it to the end of another."""
    before = keys(on_disk(desk))
    with desk_page(browser, desk) as page:
        first = page.locator("li.item").nth(0)
        click_in_place(page, first.get_by_role("button", name="Move item 1 down"))
        assert keys(on_disk(desk))[0][:2] == [before[0][1], before[0][0]]
        assert page.locator("li.item").nth(1).get_attribute("data-key") == before[0][0]
        select = page.locator("li.item").nth(0).locator("select")
        click_in_place(page, select, action=lambda: select.select_option("Regional"))
        assert page.locator("li.item").last.get_attribute("data-key") == before[0][1]
    after = keys(on_disk(desk))
    assert after[2][-1] == before[0][1]
    assert before[0][1] not in after[0]


def test_remove_then_restore(browser: Any, desk: DeskServer) -> None:
    """Remove takes an item out (it is listed as removed); Restore puts it back in place."""
    before = keys(on_disk(desk))
    victim = before[1][2]
    with desk_page(browser, desk) as page:
        item = page.locator(f'li.item[data-key="{victim}"]')
        click_in_place(page, item.get_by_role("button", name="Remove"))
        draft = on_disk(desk)
        assert victim in draft.removed and victim not in keys(draft)[1]
        removed = page.locator(f'.removed li[data-key="{victim}"]')
        assert removed.is_visible()
        click_in_place(page, removed.get_by_role("button", name="Restore"))
        assert page.locator(".removed li").count() == 0
    assert keys(on_disk(desk)) == before


def test_edit_title_excerpt_and_note(browser: Any, desk: DeskServer) -> None:
    """Leaving a changed field saves it; the email preview shows the new title."""
    key = keys(on_disk(desk))[0][0]
    with desk_page(browser, desk) as page:
        item = page.locator(f'li.item[data-key="{key}"]')
        save_field(page, item.locator("[data-field=title]"), "A sharper title")
        save_field(page, item.locator("[data-field=excerpt]"), "A shorter excerpt.")
        save_field(page, item.locator("[data-field=note]"), "Read this one *first*.")
        assert item.locator(".save-state").inner_text() == "Saved ✓"
        frame = page.frame_locator("#tab-desktop iframe")
        frame.get_by_text("A sharper title").wait_for()
    edited = on_disk(desk).items[0]
    assert (edited.title, edited.excerpt, edited.note) == (
        "A sharper title",
        "A shorter excerpt.",
        "Read this one *first*.",
    )


def test_subject_preheader_and_intro(browser: Any, desk: DeskServer) -> None:
    """The subject, preview text and Markdown intro are saved; the text preview follows."""
    with desk_page(browser, desk) as page:
        save_field(page, page.locator("#subject"), "Ports, alliances and a quiet week")
        save_field(page, page.locator("#preheader"), "Five reads for the weekend")
        save_field(page, page.locator("#intro"), "Hello all,\n\nA **short** issue this week.")
        page.get_by_role("tab", name="Plain text").click()
        page.locator("#text-preview", has_text="A short issue this week.").wait_for()
    draft = on_disk(desk)
    assert draft.subject == "Ports, alliances and a quiet week"
    assert draft.preheader == "Five reads for the weekend"
    assert draft.intro == "Hello all,\n\nA **short** issue this week."


def test_add_an_item_by_url(browser: Any, desk: DeskServer, tmp_path: Path) -> None:
    """Get details reads the page's og: tags; the editor adjusts the title and adds it."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "article.html").write_text(ARTICLE, encoding="utf-8")
    with serve(tmp_path / "www") as base, desk_page(browser, desk) as page:
        url = base + "article.html"
        page.locator("#add-url").fill(url)
        page.get_by_role("button", name="Get details").click()
        title = page.locator("#add-title")
        page.wait_for_function("() => document.querySelector('#add-title').value !== ''")
        assert title.input_value() == "Ports & Power in the Gulf of Aden"
        assert page.locator("#add-source").input_value() == "Harbour Notes"
        assert page.locator("#add-excerpt").input_value().startswith("Why the harbours")
        title.fill("Ports & power")
        page.locator("#add-section").select_option("Analysis")
        click_in_place(page, page.get_by_role("button", name="Add to the issue"))
        assert page.locator(f'li.item[data-key="editor:{url}"]').is_visible()
    added = on_disk(desk).sections[1].items[-1]
    assert (added.key, added.title, added.source) == (
        f"editor:{url}",
        "Ports & power",
        "Harbour Notes",
    )
    assert added.image == base + "img/port.png"


def test_add_by_url_when_the_page_cannot_be_read(browser: Any, desk: DeskServer) -> None:
    """A page that cannot be fetched leaves the form open to fill in by hand."""
    with (
        serve(Path(__file__).parent / "data") as base,
        desk_page(browser, desk, refused=422) as page,
    ):
        url = base + "no-such-article.html"
        page.locator("#add-url").fill(url)
        page.get_by_role("button", name="Get details").click()
        message = page.locator("#add-result")
        message.filter(has_text="HTTP 404").wait_for()
        assert "fill in the details yourself" in message.inner_text()
        page.locator("#add-title").fill("Typed by hand")
        click_in_place(page, page.get_by_role("button", name="Add to the issue"))
    assert any(item.title == "Typed by hand" for item in on_disk(desk).items)


def test_approve_then_an_edit_voids_it(browser: Any, desk: DeskServer) -> None:
    """Approve records the name and hash; the next edit turns the page back to not approved."""
    config = desk.desk.config
    with desk_page(browser, desk) as page:
        page.locator("#approver").fill("Ann Editor")
        click_and_reload(page, page.get_by_role("button", name="Approve this issue"))
        assert page.locator("[data-approval]").get_attribute("data-approval") == "approved"
        assert page.locator("#pill").inner_text().strip() == "Approved"
        assert page.locator("#approve").is_disabled()
        with Store.open(config.state) as store:
            record = store.issue(WEEK)
        rendered = render_week(config, week=WEEK).issue
        assert record is not None and record.approved_by == "Ann Editor"
        assert record.approved_hash == email_digest(rendered)
        note = page.locator("li.item").nth(0).locator("[data-field=note]")
        save_field(page, note, "A late thought.")
        page.locator('[data-approval="none"]').wait_for()
        assert page.locator("#pill").inner_text().strip() == "Not approved yet"
        assert page.locator("#approve").inner_text() == "Approve this issue"
        assert page.locator("#approve").is_enabled()
    with Store.open(config.state) as store:
        voided = store.issue(WEEK)
    assert voided is not None and voided.approved_hash is None


def test_a_stale_second_tab_is_refused_with_a_message(browser: Any, desk: DeskServer) -> None:
    """Tab B loaded before tab A's change: B's change is refused, shown, and not applied."""
    with desk_page(browser, desk) as tab_a, desk_page(browser, desk, refused=409) as tab_b:
        save_field(tab_a, tab_a.locator("#subject"), "Tab A was here")
        tab_b.locator("#subject").fill("Tab B overwrites")
        with tab_b.expect_response(lambda r: r.request.method == "POST") as response:
            tab_b.locator("#subject").press("Tab")
        assert response.value.status == 409
        banner = tab_b.locator("#banner")
        banner.wait_for()
        assert banner.locator("#banner-text").inner_text() == STALE
        assert tab_b.locator("[data-save-for=meta]").inner_text() == "Not saved"
        remove = tab_b.locator("li.item").nth(0).get_by_role("button", name="Remove")
        with tab_b.expect_response(lambda r: r.request.method == "POST") as refused:
            remove.click()
        assert refused.value.status == 409
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab_b.screenshot(path=str(ARTIFACTS / "desk-stale-tab.png"))
    draft = on_disk(desk)
    assert draft.subject == "Tab A was here"
    assert len(draft.items) == 21 and draft.removed == ()


@pytest.mark.parametrize("width", [1280, 1024, 390])
def test_screenshots_of_the_desk(browser: Any, desk: DeskServer, width: int) -> None:
    """The desk at desktop, small laptop and phone widths, saved for people to look at;
    nothing overflows. Up to 860 px the preview is in its own tab."""
    with desk_page(browser, desk, width=width) as page:
        note = page.locator("li.item").nth(0).locator("[data-field=note]")
        save_field(page, note, "Worth reading for the section on alliances.")
        page.evaluate("window.scrollTo(0, 0)")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"the desk is wider than the window at {width}px"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"desk-{width}.png"))
        full = screenshot(page, f"desk-{width}-full.png")
        if width <= 860:
            page.get_by_role("button", name="Preview", exact=True).click()
        page.get_by_role("tab", name="Email · phone").click()
        page.locator("#tab-phone").scroll_into_view_if_needed()
        page.locator("#tab-phone").screenshot(
            path=str(ARTIFACTS / f"desk-{width}-phone-preview.png")
        )
    assert full.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ARTIFACTS / f"desk-{width}.png").stat().st_size > 10_000


def box(page: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] = page.locator(selector).bounding_box()
    return found


def test_editor_and_preview_side_by_side_at_1024(browser: Any, desk: DeskServer) -> None:
    """At 1024 px the preview sits beside the items; no tab is needed."""
    with desk_page(browser, desk, width=1024) as page:
        editor, preview = box(page, ".editor"), box(page, "aside.preview")
        assert preview["x"] >= editor["x"] + editor["width"]
        assert preview["x"] + preview["width"] <= 1024
        assert not page.locator(".view-tabs").is_visible()
        assert page.locator("#tab-desktop iframe").is_visible()


def test_the_preview_is_a_tab_at_390(browser: Any, desk: DeskServer) -> None:
    """At 390 px the editor and the preview take turns: Edit and Preview tabs."""
    with desk_page(browser, desk, width=390) as page:
        assert page.locator(".view-tabs").is_visible()
        assert page.locator(".editor").is_visible()
        assert not page.locator("aside.preview").is_visible()
        page.get_by_role("button", name="Preview", exact=True).click()
        assert page.locator("aside.preview").is_visible()
        assert not page.locator(".editor").is_visible()
        frame = box(page, "#tab-desktop iframe")
        assert frame["width"] <= 390 and frame["height"] > 300
        email = page.frame_locator("#tab-desktop iframe")
        email.get_by_text("Seventy years on: anniversary statements").first.wait_for()
        page.wait_for_timeout(300)  # let the shown frame paint before the screenshot
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        screenshot(page, "desk-390-preview-tab.png")
        page.get_by_role("button", name="Edit", exact=True).click()
        assert page.locator(".editor").is_visible()


def test_top_bottom_and_drag_and_drop_never_reload(browser: Any, desk: DeskServer) -> None:
    """To the top, to the bottom, and a drag by the grip: each lands in draft.yaml, the list
    is swapped in place, and the previews follow."""
    before = keys(on_disk(desk))[1]
    with desk_page(browser, desk) as page:
        section = page.locator('section[data-section="Analysis"]')
        third = section.locator("li.item").nth(2)
        click_in_place(page, third.get_by_role("button", name="to the top of Analysis"))
        assert keys(on_disk(desk))[1][0] == before[2]
        assert section.locator("li.item").nth(0).get_attribute("data-key") == before[2]
        top = section.locator("li.item").nth(0)
        click_in_place(page, top.get_by_role("button", name="to the bottom of Analysis"))
        assert keys(on_disk(desk))[1][-1] == before[2]
        # drag the first item's grip onto the lower half of the second: it lands after it
        first = section.locator("li.item").nth(0)
        first.evaluate("item => item.scrollIntoView({block: 'start'})")
        grip = first.locator(".grip")
        target = section.locator("li.item").nth(1)
        height = box(page, f'li.item[data-key="{before[1]}"]')["height"]

        def drag() -> None:
            grip.drag_to(target, target_position={"x": 80, "y": height * 0.75})

        click_in_place(page, grip, action=drag)
        after = keys(on_disk(desk))[1]
        assert after[:3] == [before[1], before[0], before[3]]
        assert [
            section.locator("li.item").nth(n).get_attribute("data-key") for n in range(3)
        ] == after[:3]
        screenshot(page, "desk-after-drag.png")


def test_the_preview_follows_the_item_being_edited(browser: Any, desk: DeskServer) -> None:
    """Focusing a field of an item far down the list scrolls the email preview to that item,
    without loading it again."""
    with desk_page(browser, desk) as page:
        items = page.locator("li.item")
        late = items.nth(items.count() - 2)
        number = late.get_attribute("data-number")
        late.locator("[data-field=note]").focus()
        frame = page.frame_locator("#tab-desktop iframe")
        frame.locator(f"#desk-item-{number}").wait_for(state="attached")
        frame_src = "document.querySelector('#tab-desktop iframe').src"
        script = f"n => {frame_src}.endsWith('#desk-item-' + n)"
        page.wait_for_function(script, arg=number)
        email = next(f for f in page.frames if f.url.endswith(f"#desk-item-{number}"))
        email.wait_for_function("() => window.scrollY > 200")
        assert "editing" in (late.get_attribute("class") or "")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "desk-preview-follows.png"))


def test_the_approvers_name_is_remembered(browser: Any, desk: DeskServer) -> None:
    """Typed once, the name comes back on the next visit, over the login name."""
    with desk_page(browser, desk) as page:
        approver = page.locator("#approver")
        assert approver.input_value() == "ann"
        approver.fill("Ann Editor")
        approver.press("Tab")
        page.reload()
        assert page.locator("#approver").input_value() == "Ann Editor"


def test_send_test_comes_before_approve(browser: Any, desk: DeskServer) -> None:
    with desk_page(browser, desk) as page:
        order = page.evaluate(
            "document.getElementById('send-test')"
            ".compareDocumentPosition(document.getElementById('approve'))"
        )
        assert order & 4, "Send test must come before Approve"  # DOCUMENT_POSITION_FOLLOWING


def test_moves_work_without_javascript(browser: Any, desk: DeskServer) -> None:
    """With JavaScript off, the buttons are plain forms: the page posts and comes back."""
    before = keys(on_disk(desk))[1]
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1024, "height": 900}
    )
    try:
        page = context.new_page()
        page.route("**/*", lambda route: _loopback_only(route))
        page.goto(desk.url)
        third = page.locator('section[data-section="Analysis"] li.item').nth(2)
        with page.expect_navigation():
            third.get_by_role("button", name="to the top of Analysis").click()
        assert keys(on_disk(desk))[1][0] == before[2]
        first = page.locator('section[data-section="Analysis"] li.item').nth(0)
        assert first.get_attribute("data-key") == before[2]
        with page.expect_navigation():
            first.get_by_role("button", name="Remove").click()
        assert before[2] in on_disk(desk).removed
        screenshot(page, "desk-no-javascript.png")
    finally:
        context.close()


def _loopback_only(route: Any) -> None:
    if route.request.url.startswith("http://127.0.0.1"):
        route.continue_()
    else:
        route.abort()


def test_a_sent_issue_in_the_browser(browser: Any, desk: DeskServer) -> None:
    """Sent: the page says when and to how many, and offers no control that changes it."""
    with Store.open(desk.desk.config.state) as store:
        store.issue_number(WEEK, first=1)
        at = datetime(2015, 8, 14, 19, 0, tzinfo=UTC)
        readers = [f"reader{n}@example.org" for n in range(1204)]
        store.record_delivery(WEEK, readers, status="accepted", detail="250 OK", at=at)
        store.mark_sent(WEEK, [], at=at)
    with desk_page(browser, desk, width=1024) as page:
        assert page.locator("#sent-title").inner_text() == (
            "Sent Fri 14 Aug 15:00 to 1,204 recipients"
        )
        assert page.locator("#pill").inner_text().strip() == "Sent"
        assert page.locator("form, #approve, #send-test, .grip").count() == 0
        assert (
            page.locator("li.item").nth(0).locator("[data-field=title]").get_attribute("readonly")
            is not None
        )
        screenshot(page, "desk-sent.png")
        page.screenshot(path=str(ARTIFACTS / "desk-sent-top.png"))


def test_link_status_and_adopting_a_redirect(browser: Any, desk: DeskServer) -> None:
    """Check links shows each item's status; "Use the new address" adopts a redirect in
    place."""
    from tests.test_linkcheck import Site as WebSite

    path = draft_path(desk.desk.config, WEEK)
    with WebSite() as web:
        draft = load_draft(path)
        links = {"/gone": 0, "/moved": 1, "/old-article": 2, "/article": 3}
        keep = [item.key for item in draft.items][:4]
        sections = tuple(
            replace(s, items=tuple(i for i in s.items if i.key in keep)) for s in draft.sections
        )
        draft = replace(draft, sections=sections)
        by_key = {key: web.url(p) for p, n in links.items() for key in [keep[n]]}
        draft = replace(
            draft,
            sections=tuple(
                replace(s, items=tuple(replace(i, link=by_key[i.key]) for i in s.items))
                for s in draft.sections
            ),
        )
        save_draft(path, draft)
        with desk_page(browser, desk, width=1024) as page:
            click_in_place(page, page.get_by_role("button", name="Check links"))
            page.locator("#links-result", has_text="Checked 4 links").wait_for()
            gone = page.locator(f'li.item[data-key="{keep[0]}"]')
            assert gone.get_attribute("data-link-status") == "broken"
            assert "Broken link: HTTP 404 Not Found" in gone.locator(".link-check").inner_text()
            home = page.locator(f'li.item[data-key="{keep[2]}"]')
            assert home.get_attribute("data-link-status") == "home_redirect"
            moved = page.locator(f'li.item[data-key="{keep[1]}"]')
            screenshot(page, "desk-link-status.png")
            gone.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "desk-link-status-items.png"))
            click_in_place(page, moved.get_by_role("button", name="Use the new address"))
            assert moved.get_attribute("data-link-status") == "ok"
        adopted = next(i for i in load_draft(path).items if i.key == keep[1])
        assert adopted.link == web.url("/new-home-of-the-article")
