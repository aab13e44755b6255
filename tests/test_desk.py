"""The editor's desk over real HTTP on 127.0.0.1: access rules, versions, approval, test sends.

Every test gets its own copy of one seeded site: the bundled sample feeds fetched into a
state file and drafted for 2015-W33, plus one feed that fails (a missing file).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from roundup.config import Config, FeedConfig, SmtpSettings, load_config
from roundup.desk import STALE, create_app, create_server
from roundup.desk.metadata import MAX_REDIRECTS, address_refusal, fetch_metadata, read_metadata
from roundup.desk.server import DeskServer
from roundup.desk.web import MAX_BODY, Refused, Request, body_length, check_request, is_loopback
from roundup.draft_file import load_draft, save_draft
from roundup.edit import set_meta, update_item
from roundup.errors import FetchError, RoundupError, SendError
from roundup.pipeline import (
    draft_path,
    email_digest,
    ensure_draft,
    fetch_feeds,
    is_approved,
    make_draft,
    render_week,
    resolve_window,
    send_week,
)
from roundup.store import Store
from tests.feedserver import FeedServer, Reply, feed_server_fixture
from tests.smtpserver import SmtpServer, smtp_server

__all__ = ["feed_server_fixture", "smtp_server"]  # the fixtures, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)
WEEK = "2015-W33"
SECRET = "test-secret"
BROKEN_FEED = "Broken Wire"


# --- the seeded site ------------------------------------------------------------------------


def site_config(folder: Path, **changes: Any) -> Config:
    """The bundled feeds.yaml writing into ``folder``, approval required, plus a broken feed."""
    config = load_config(ROOT / "feeds.yaml")
    broken = str(ROOT / "tests" / "data" / "no-such-feed.rss")
    return replace(
        config,
        output_dir=folder / "out",
        state=folder / "state.sqlite3",
        newsletter=replace(config.newsletter, require_approval=True),
        feeds=(*config.feeds, FeedConfig(key=broken, url=broken, name=BROKEN_FEED)),
        **changes,
    )


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fetched and drafted site, copied by every test that needs one."""
    folder = tmp_path_factory.mktemp("seed")
    config = site_config(folder)
    with Store.open(config.state) as store:
        fetch_feeds(config, store, now=NOW)
        make_draft(config, store, window=resolve_window(config, WEEK, now=NOW))
    return folder


def copy_site(seeded: Path, tmp_path: Path, **changes: Any) -> Config:
    folder = tmp_path / "site"
    shutil.copytree(seeded, folder)
    return site_config(folder, **changes)


@dataclass
class Site:
    """A running desk and a client for it."""

    config: Config
    server: DeskServer
    client: httpx.Client

    @property
    def draft_file(self) -> Path:
        return draft_path(self.config, WEEK)

    def page(self) -> tuple[str, str, str]:
        """GET / and return its HTML, CSRF token and draft version."""
        response = self.client.get("/")
        assert response.status_code == 200, response.text
        data = json.loads(re.search(r'id="desk-data">(.*?)</script>', response.text)[1])  # type: ignore[index]
        return response.text, data["csrf"], data["version"]

    def post(self, path: str, payload: dict[str, Any], **headers: str) -> httpx.Response:
        """POST as the page would: its CSRF token and the draft's current version."""
        version = self.client.get("/api/version").json()["version"]
        body = {"version": version, **payload}
        sent = {"X-CSRF-Token": self.server.desk.csrf_token, **headers}
        return self.client.post(path, content=json.dumps(body), headers=sent)


def start(config: Config, **options: Any) -> DeskServer:
    options.setdefault("secret", SECRET)
    return create_server(config, week=WEEK, clock=lambda: NOW, approver="ann", **options)


@pytest.fixture
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    config = copy_site(seeded, tmp_path)
    with start(config) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        yield Site(config, server, client)


def keys(path: Path) -> list[list[str]]:
    return [[item.key for item in section.items] for section in load_draft(path).sections]


# --- what the page shows -----------------------------------------------------------------------


def test_page_shows_the_issue_its_numbers_and_failing_feeds(site: Site) -> None:
    """Size against the budget, item count, failed feeds and sandboxed previews are on the page."""
    html, _, _ = site.page()
    draft = load_draft(site.draft_file)
    rendered = render_week(site.config, week=WEEK)
    size = len(rendered.issue.email_html.encode())
    assert f'title="{size:,} bytes"' in html
    assert "of the 102,000-byte budget" in html
    assert f'<span class="value" data-stat="items">{len(draft.items)}</span>' in html
    assert BROKEN_FEED in html and "no such file" in html
    assert html.count('<iframe sandbox=""') == 3
    assert draft.items[0].title in html and "Not approved yet" in html


def test_previews_are_the_rendered_issue_and_run_no_scripts(site: Site) -> None:
    """The email, text and post previews are what render_week writes, with a sandboxing CSP."""
    rendered = render_week(site.config, week=WEEK).issue
    items = len(load_draft(site.draft_file).items)
    email = site.client.get("/preview/email")
    # the only difference: a marker before each item's first link, for the preview to scroll to
    assert re.sub(r'<span id="desk-item-\d+"></span>', "", email.text) == rendered.email_html
    assert re.findall(r'id="(desk-item-\d+)"', email.text) == [
        f"desk-item-{n}" for n in range(1, items + 1)
    ]
    assert email.headers["Content-Security-Policy"].startswith("sandbox;")
    assert site.client.get("/preview/text").text == rendered.email_text
    post = site.client.get("/preview/post").text
    assert re.sub(r'<span id="desk-item-\d+"></span>', "", post) == rendered.post_html


def test_feed_text_is_escaped_in_the_page(site: Site) -> None:
    """A title carrying markup is shown as text, never as HTML."""
    draft = load_draft(site.draft_file)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    save_draft(site.draft_file, update_item(draft, draft.items[0].key, title=hostile))
    html, _, _ = site.page()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_hand_edit_to_the_file_shows_on_reload_and_makes_open_pages_stale(site: Site) -> None:
    """draft.yaml is the source of truth: a hand edit appears, and an older page is refused."""
    _, csrf, old_version = site.page()
    save_draft(site.draft_file, set_meta(load_draft(site.draft_file), subject="Edited by hand"))
    html, _, new_version = site.page()
    assert 'value="Edited by hand"' in html and new_version != old_version
    stale = site.client.post(
        "/api/meta",
        content=json.dumps({"version": old_version, "subject": "From an old tab"}),
        headers={"X-CSRF-Token": csrf},
    )
    assert stale.status_code == 409
    assert stale.json() == {"ok": False, "error": STALE}
    assert load_draft(site.draft_file).subject == "Edited by hand"


def test_a_broken_draft_file_is_explained_not_edited(site: Site) -> None:
    """An unreadable draft.yaml shows its error (file and line) and refuses every change."""
    site.draft_file.write_text("week: 2015-W33\nnumber: [oops\n", encoding="utf-8")
    response = site.client.get("/")
    assert response.status_code == 200
    assert "cannot be opened" in response.text and "draft.yaml:" in response.text
    refused = site.post("/api/meta", {"subject": "x"})
    assert refused.status_code == 409 and "draft.yaml cannot be read" in refused.json()["error"]


# --- the access rules ----------------------------------------------------------------------------


def test_a_change_without_the_csrf_token_is_refused(site: Site) -> None:
    """No token, or a wrong one: 403, and the file is untouched."""
    before = site.draft_file.read_bytes()
    _, _, version = site.page()
    key = load_draft(site.draft_file).items[0].key
    body = json.dumps({"version": version, "key": key})
    missing = site.client.post("/api/remove", content=body)
    wrong = site.client.post("/api/remove", content=body, headers={"X-CSRF-Token": "guess"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "CSRF token" in missing.json()["error"]
    assert site.draft_file.read_bytes() == before


def test_a_change_from_another_origin_is_refused(site: Site) -> None:
    """Even with the token, a POST whose Origin is another site is refused."""
    key = load_draft(site.draft_file).items[0].key
    response = site.post("/api/remove", {"key": key}, Origin="http://evil.example")
    assert response.status_code == 403
    assert "another site" in response.json()["error"]
    assert key in {item.key for item in load_draft(site.draft_file).items}


def test_a_foreign_host_name_is_refused_on_loopback(site: Site) -> None:
    """DNS rebinding: a request naming another host is refused by the loopback desk."""
    response = site.client.get("/", headers={"Host": "evil.example:8000"})
    assert response.status_code == 403
    assert "only at 127.0.0.1 or localhost" in response.text


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("desk.example", False)],
)  # fmt: skip
def test_is_loopback(host: str, expected: bool) -> None:
    """Only loopback addresses and the name localhost count as loopback."""
    assert is_loopback(host) is expected


def test_guard_needs_the_access_token_off_loopback() -> None:
    """Bound elsewhere, every request needs the token, as ?token= or as the cookie."""

    def verdict(**request: Any) -> int:
        refused = check_request(
            Request(**{"method": "GET", "path": "/", **request}),
            loopback=False,
            csrf_token="csrf",
            access_token="tok",
        )
        return 0 if refused is None else refused.status

    host = {"host": "desk.lan:8000"}
    assert verdict(headers=host) == 403
    assert verdict(headers=host, query={"token": "nope"}) == 403
    assert verdict(headers=host, query={"token": "tok"}) == 0
    assert verdict(headers={**host, "cookie": "roundup_desk=tok"}) == 0
    assert verdict(headers={**host, "cookie": "roundup_desk=tok"}, method="POST") == 403
    csrf = {**host, "cookie": "roundup_desk=tok", "x-csrf-token": "csrf"}
    assert verdict(headers=csrf, method="POST") == 0


def test_desk_bound_elsewhere_trades_the_token_for_a_cookie(seeded: Path, tmp_path: Path) -> None:
    """An app made for 0.0.0.0 turns ?token= into a cookie and refuses requests without it."""
    config = copy_site(seeded, tmp_path)
    desk = create_app(config, week=WEEK, clock=lambda: NOW, secret=SECRET, host="0.0.0.0")
    host = {"host": "desk.lan:8000"}
    assert desk.handle(Request("GET", "/", headers=host)).status == 403
    first = desk.handle(Request("GET", "/", query={"token": desk.access_token}, headers=host))
    assert first.status == 303
    headers = dict(first.headers)
    assert headers["Location"] == "/"
    assert headers["Set-Cookie"].startswith(f"roundup_desk={desk.access_token};")
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    cookie = {**host, "cookie": f"roundup_desk={desk.access_token}"}
    assert desk.handle(Request("GET", "/", headers=cookie)).status == 200


def test_server_url_carries_no_token_on_loopback(site: Site) -> None:
    """The loopback desk's URL is plain; the page's CSRF token is never in the URL."""
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", site.server.url)
    assert site.server.desk.csrf_token not in site.server.url


def test_a_port_in_use_is_a_clear_error(site: Site) -> None:
    """Starting a second desk on a taken port says so and suggests --port."""
    port = site.server.server_address[1]
    with pytest.raises(RoundupError, match=rf"cannot listen on 127.0.0.1:{port} .*--port"):
        start(site.config, port=port)


# --- changes -------------------------------------------------------------------------------------


def test_each_change_is_written_to_the_file_at_once(site: Site) -> None:
    """Move, remove, restore, edit and meta each land in draft.yaml, with a new version."""
    first = keys(site.draft_file)
    a, b = first[0][0], first[0][1]
    moved = site.post("/api/move", {"key": a, "section": "Analysis", "index": 0})
    assert moved.status_code == 200 and moved.json()["changed"] is True
    assert keys(site.draft_file)[1][0] == a
    assert site.post("/api/remove", {"key": b}).json()["ok"]
    assert b in load_draft(site.draft_file).removed
    assert not any(b in section for section in keys(site.draft_file))
    html, _, _ = site.page()
    assert "Removed items" in html and 'action="/form/restore?csrf=' in html
    assert site.post("/api/restore", {"key": b}).json()["ok"]
    assert keys(site.draft_file)[0][0] == b  # back where it was proposed
    site.post("/api/item", {"key": b, "title": "New title", "note": "Read **this**"})
    site.post("/api/meta", {"subject": "A subject", "preheader": "A pre", "intro": "Hi *all*"})
    draft = load_draft(site.draft_file)
    assert (draft.items[0].title, draft.items[0].note) == ("New title", "Read **this**")
    assert (draft.subject, draft.preheader, draft.intro) == ("A subject", "A pre", "Hi *all*")


def test_an_unchanged_edit_writes_nothing(site: Site) -> None:
    """Saving a field with the value it already has keeps the file and its version."""
    before = site.draft_file.read_bytes()
    subject = load_draft(site.draft_file).subject
    response = site.post("/api/meta", {"subject": subject})
    assert response.json()["changed"] is False
    assert site.draft_file.read_bytes() == before


def test_a_refused_edit_says_why(site: Site) -> None:
    """An empty title is refused with the reason, and nothing is written."""
    before = site.draft_file.read_bytes()
    key = load_draft(site.draft_file).items[0].key
    response = site.post("/api/item", {"key": key, "title": "   "})
    assert response.status_code == 422
    assert response.json()["error"] == "a title cannot be empty"
    assert site.draft_file.read_bytes() == before


def test_two_tabs_changing_at_once_never_both_win(site: Site) -> None:
    """Two changes sent against the same version: one is applied, the other gets 409."""
    _, csrf, version = site.page()
    statuses: list[int] = []

    def change(subject: str) -> None:
        body = json.dumps({"version": version, "subject": subject})
        with httpx.Client(base_url=site.server.url, trust_env=False) as client:
            reply = client.post("/api/meta", content=body, headers={"X-CSRF-Token": csrf})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=change, args=(f"Tab {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert load_draft(site.draft_file).subject in ("Tab 1", "Tab 2")


def test_add_by_url_reads_the_page_metadata(seeded: Path, tmp_path: Path) -> None:
    """Lookup reads og: tags through the desk's transport; add writes an editor item."""
    page = (
        b"<html><head><title>Fallback</title>"
        b'<meta property="og:title" content="Ports &amp; Power">'
        b'<meta property="og:description" content="How harbours shape alliances.">'
        b'<meta property="og:image" content="/img/port.png">'
        b'<meta property="og:site_name" content="Harbour Notes"></head></html>'
    )
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=page, headers={"Content-Type": "text/html"})
    )
    config = copy_site(seeded, tmp_path)
    with (
        start(config, transport=transport) as server,
        httpx.Client(base_url=server.url, trust_env=False) as client,
    ):
        site = Site(config, server, client)
        url = "https://notes.example/ports"
        found = site.post("/api/lookup", {"url": url}).json()
        assert found == {
            "ok": True,
            "url": url,
            "title": "Ports & Power",
            "description": "How harbours shape alliances.",
            "image": "https://notes.example/img/port.png",
            "source": "Harbour Notes",
        }
        payload = {
            **{name: found[name] for name in ("url", "image", "source")},
            "title": "Ports, edited",
            "excerpt": found["description"],
            "section": "Analysis",
        }
        assert site.post("/api/add", payload).json()["ok"]
        again = site.post("/api/add", payload)
    analysis = load_draft(site.draft_file).sections[1]
    added = analysis.items[-1]
    assert (added.key, added.title, added.source) == (
        f"editor:{url}",
        "Ports, edited",
        "Harbour Notes",
    )
    assert again.status_code == 422 and "already in the issue" in again.json()["error"]


# --- approval and sending ----------------------------------------------------------------------


def test_approve_records_who_when_and_the_email_hash(site: Site) -> None:
    """Approval stores the name, the time and the sha256 of the email as rendered."""
    response = site.post("/api/approve", {"by": "Ann Editor"})
    assert response.status_code == 200
    rendered = render_week(site.config, week=WEEK).issue
    with Store.open(site.config.state) as store:
        record = store.issue(WEEK)
        assert record is not None
        assert (record.approved_by, record.approved_at) == ("Ann Editor", NOW)
        assert record.approved_hash == email_digest(rendered) == response.json()["digest"]
        assert is_approved(store.issue(WEEK), rendered)
    html, _, _ = site.page()
    assert "Approved by Ann Editor on Aug 15, 2015 at 08:00" in html


def test_approve_needs_a_name(site: Site) -> None:
    """An approval without a name is refused: it must say who approved."""
    response = site.post("/api/approve", {"by": "  "})
    assert response.status_code == 422 and "Type your name" in response.json()["error"]


def test_an_edit_after_approval_voids_it_and_blocks_the_send(site: Site) -> None:
    """Any change made in the desk cancels the approval; send then refuses."""
    site.post("/api/approve", {"by": "ann"})
    key = load_draft(site.draft_file).items[0].key
    site.post("/api/item", {"key": key, "note": "One more thought"})
    rendered = render_week(site.config, week=WEEK).issue
    with Store.open(site.config.state) as store:
        assert not is_approved(store.issue(WEEK), rendered)
        record = store.issue(WEEK)
        assert record is not None and record.approved_hash is None
        with pytest.raises(SendError, match="is not approved"):
            send_week(site.config, store, week=WEEK, clock=lambda: NOW, secret=SECRET)
    assert "Not approved yet" in site.page()[0]


def test_a_hand_edit_after_approval_shows_as_changed(site: Site) -> None:
    """Editing draft.yaml by hand after approval shows 'changed since approval'."""
    site.post("/api/approve", {"by": "ann"})
    save_draft(site.draft_file, set_meta(load_draft(site.draft_file), intro="Late words"))
    html, _, _ = site.page()
    assert "Changed since ann approved it" in html and "not approved" in html


def test_cron_sends_exactly_what_was_approved(
    seeded: Path, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """After approval in the desk, send delivers; the delivered HTML is the approved render."""
    config = copy_site(seeded, tmp_path, smtp=smtp_server.settings())
    with start(config) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        Site(config, server, client).post("/api/approve", {"by": "ann"})
    with Store.open(config.state) as store:
        record = store.issue(WEEK)
        report = send_week(config, store, week=WEEK, clock=lambda: NOW, secret=SECRET)
    assert report.complete and report.accepted == ("roundup@lists.example.org",)
    (received,) = smtp_server.handler.to("roundup@lists.example.org")
    html = received.message().get_body(("html",))
    assert html is not None and record is not None
    approved = render_week(config, week=WEEK).issue
    assert email_digest(approved) == record.approved_hash
    delivered = html.get_content().replace("\r\n", "\n")
    assert approved.email_html.split("ROUNDUP-UNSUBSCRIBE-TOKEN")[0] in delivered


def test_send_test_delivers_one_copy_to_the_reviewer(
    seeded: Path, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """'Send test' sends one [TEST] copy through the configured SMTP server."""
    config = copy_site(seeded, tmp_path, smtp=smtp_server.settings())
    with start(config) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        response = Site(config, server, client).post("/api/send-test", {"to": "rev@example.org"})
    assert response.json() == {
        "ok": True,
        "message": "Test copy sent to rev@example.org. Check that inbox.",
    }
    (received,) = smtp_server.handler.to("rev@example.org")
    assert str(received.message()["Subject"]).startswith("[TEST] ")
    with Store.open(config.state) as store:
        assert store.deliveries(WEEK) == {}  # a test copy leaves the ledger alone


@pytest.mark.parametrize(
    ("secret", "smtp", "to", "message"),
    [
        ("", True, "rev@example.org", "$ROUNDUP_SECRET is not set"),
        (SECRET, False, "rev@example.org", "no smtp: section"),
        (SECRET, True, "not-an-address", "'not-an-address' is not an email address"),
    ],
)
def test_send_test_explains_what_is_missing(
    seeded: Path, tmp_path: Path, secret: str, smtp: bool, to: str, message: str
) -> None:
    """Without a secret, an smtp section or a valid address, the page gets the reason."""
    settings = SmtpSettings(host="127.0.0.1", port=9, security="none", timeout=1) if smtp else None
    config = copy_site(seeded, tmp_path, smtp=settings)
    with (
        start(config, secret=secret) as server,
        httpx.Client(base_url=server.url, trust_env=False) as client,
    ):
        response = Site(config, server, client).post("/api/send-test", {"to": to})
    assert response.status_code == 422
    assert message in response.json()["error"]


# --- restore details ---------------------------------------------------------------------------


def test_removed_story_no_longer_selected_can_still_be_restored(site: Site) -> None:
    """A removed story that the selection now leaves out is rebuilt from the stored entry."""
    draft = load_draft(site.draft_file)
    victim = draft.items[-1]
    site.post("/api/remove", {"key": victim.key})
    with Store.open(site.config.state) as store:  # as if it had been sent in an earlier issue
        store.mark_sent("2015-W01", [victim.key], at=NOW)
    html, _, _ = site.page()
    assert str(escape(victim.title)) in html
    assert site.post("/api/restore", {"key": victim.key}).json()["ok"]
    assert victim.key in {item.key for item in load_draft(site.draft_file).items}


def test_ensure_draft_writes_the_week_draft_only_when_missing(site: Site) -> None:
    """`roundup preview` on a week without a draft drafts it first; an existing one is kept."""
    window = resolve_window(site.config, WEEK, now=NOW)
    save_draft(site.draft_file, set_meta(load_draft(site.draft_file), intro="Mine"))
    assert ensure_draft(site.config, window) is False
    assert load_draft(site.draft_file).intro == "Mine"
    site.draft_file.unlink()
    assert ensure_draft(site.config, window) is True
    assert len(load_draft(site.draft_file).items) == 21


# --- reading a page's metadata --------------------------------------------------------------


def test_read_metadata_prefers_open_graph_then_falls_back() -> None:
    """og: beats twitter: beats <title> and meta description; entities and tags are cleaned."""
    html = (
        "<head><title>Plain &amp; simple</title>"
        '<meta name="description" content="The &lt;b&gt;plain&lt;/b&gt; one">'
        '<meta name="twitter:title" content="Card title"></head>'
    )
    meta = read_metadata(html, "https://a.example/x")
    assert (meta.title, meta.description, meta.image) == ("Card title", "The plain one", None)
    assert (
        read_metadata("<title> Only\n title </title>", "https://a.example/").title == "Only title"
    )


def test_fetch_metadata_refuses_what_it_cannot_read() -> None:
    """Non-web addresses, error statuses and unreachable servers raise FetchError with a reason."""
    with pytest.raises(FetchError, match="only web addresses"):
        fetch_metadata("file:///etc/passwd")
    gone = httpx.MockTransport(lambda request: httpx.Response(404))
    with pytest.raises(FetchError, match="HTTP 404 Not Found"):
        fetch_metadata("https://a.example/x", transport=gone)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(FetchError, match="cannot be reached"):
        fetch_metadata("https://a.example/x", transport=httpx.MockTransport(refuse))


def test_fetch_metadata_reads_only_the_head_of_a_huge_page() -> None:
    """A page larger than max_bytes is cut; its head still gives the title."""
    body = b"<html><head><title>Big</title></head><body>" + b"x" * 200_000
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    assert fetch_metadata("https://a.example/", transport=transport, max_bytes=1000).title == "Big"


def test_fetch_metadata_uses_the_charset_the_page_declares() -> None:
    """Without a charset in Content-Type, a <meta charset> decides how the bytes are read."""
    body = '<meta charset="windows-1252"><title>Caf\xe9 \x93society\x94</title>'.encode("latin-1")
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": "text/html"})
    )
    assert fetch_metadata("https://a.example/", transport=transport).title == "Café “society”"


def test_fetch_metadata_follows_redirects_and_reports_the_final_address() -> None:
    """A redirect is followed; relative images resolve against the final page."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/short":
            return httpx.Response(301, headers={"Location": "https://b.example/long/post"})
        return httpx.Response(200, content=b'<meta property="og:image" content="pic.jpg">')

    meta = fetch_metadata("https://a.example/short", transport=httpx.MockTransport(handler))
    assert (meta.url, meta.image) == (
        "https://b.example/long/post",
        "https://b.example/long/pic.jpg",
    )


# --- the desk refuses before it reads ---------------------------------------------------------


@dataclass(frozen=True)
class RawAnswer:
    """A response read off a raw socket."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def error(self) -> str:
        return str(json.loads(self.body)["error"])


def raw_post(server: DeskServer, *headers: str, body: bytes = b"") -> RawAnswer:
    """POST /api/meta with exactly ``headers`` (and ``body``) on a socket; read to the end.

    The desk closes the connection after its answer, so reading until EOF takes the whole
    response. Nothing here waits on a clock: a desk that waited for a body the test never
    sends would stop at its own read timeout and answer 408 instead.
    """
    host, port = server.server_address[:2]
    head = "".join(f"{line}\r\n" for line in ("POST /api/meta HTTP/1.1", *headers)) + "\r\n"
    with socket.create_connection((str(host), int(port))) as sock:
        sock.sendall(head.encode("latin-1") + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    top, _, content = received.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return RawAnswer(
        int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, content
    )


@pytest.fixture
def strict_desk(seeded: Path, tmp_path: Path) -> Iterator[tuple[Config, DeskServer]]:
    """A loopback desk that drops a client silent for 1 s (so no test can hang on it)."""
    config = copy_site(seeded, tmp_path)
    with start(config, read_timeout=1) as server:
        yield config, server


def vetted(server: DeskServer) -> tuple[str, str]:
    """The Host and CSRF headers that get a POST past the access policy."""
    port = server.server_address[1]
    return f"Host: 127.0.0.1:{port}", f"X-CSRF-Token: {server.desk.csrf_token}"


@pytest.mark.parametrize(
    ("length_headers", "status", "message"),
    [
        (["Content-Length: -1"], 400, "Content-Length must be a number of bytes, not '-1'."),
        (["Content-Length: abc"], 400, "Content-Length must be a number of bytes, not 'abc'."),
        (["Content-Length: +5"], 400, "not '+5'"),
        (["Content-Length: 1e3"], 400, "not '1e3'"),
        (["Content-Length: \xb2"], 400, "not '\xb2'"),  # superscript two: a digit to isdigit()
        (["Content-Length: 300000000"], 413, f"larger than the {MAX_BODY:,} bytes"),
        (["Content-Length: " + "9" * 5000], 413, f"larger than the {MAX_BODY:,} bytes"),
        ([], 411, "A POST needs a Content-Length header."),
        (["Content-Length: 5", "Content-Length: 5"], 400, "more than one Content-Length"),
        (["Transfer-Encoding: chunked"], 411, "not Transfer-Encoding"),
    ],
    ids=["negative", "letters", "plus", "exponent", "unicode-digit", "huge", "5000-digits",
         "missing", "twice", "chunked"],
)  # fmt: skip
def test_a_bad_content_length_is_refused_before_the_body_is_read(
    strict_desk: tuple[Config, DeskServer],
    capfd: pytest.CaptureFixture[str],
    length_headers: list[str],
    status: int,
    message: str,
) -> None:
    """Each bad length gets its status and a one-line message at once, and no traceback.

    The test sends no body at all: a desk that tried to read one would time out after 1 s
    and answer 408, so the status itself proves the body was never read.
    """
    config, server = strict_desk
    before = draft_path(config, WEEK).read_bytes()
    answer = raw_post(server, *vetted(server), *length_headers)
    assert answer.status == status
    assert message in answer.error() and "\n" not in answer.error()
    assert answer.headers["connection"] == "close"  # the unread body never becomes a request
    assert draft_path(config, WEEK).read_bytes() == before
    assert "Traceback" not in capfd.readouterr().err


def test_host_and_csrf_are_checked_before_the_length(
    strict_desk: tuple[Config, DeskServer],
) -> None:
    """A foreign Host, or no CSRF token, is refused with 403 even when the length is bad."""
    _, server = strict_desk
    host, csrf = vetted(server)
    foreign = raw_post(server, "Host: evil.example", csrf, "Content-Length: -1")
    assert foreign.status == 403 and "only at 127.0.0.1 or localhost" in foreign.error()
    no_csrf = raw_post(server, host, "Content-Length: abc")
    assert no_csrf.status == 403 and "CSRF token" in no_csrf.error()


def test_the_access_token_is_checked_before_the_length(seeded: Path, tmp_path: Path) -> None:
    """A desk made for another address wants its token first; with it, the length is judged."""
    config = copy_site(seeded, tmp_path)
    desk = create_app(config, week=WEEK, clock=lambda: NOW, secret=SECRET, host="0.0.0.0")
    with DeskServer(desk, "127.0.0.1", 0, read_timeout=1) as server:  # listens on loopback only
        host = "Host: desk.lan:8000"
        csrf = f"X-CSRF-Token: {desk.csrf_token}"
        no_token = raw_post(server, host, csrf, "Content-Length: -1")
        cookie = f"Cookie: roundup_desk={desk.access_token}"
        with_token = raw_post(server, host, csrf, cookie, "Content-Length: -1")
    assert no_token.status == 403 and "needs its access token" in no_token.error()
    assert with_token.status == 400 and "not '-1'" in with_token.error()


def test_a_body_that_stops_arriving_is_answered_408(
    strict_desk: tuple[Config, DeskServer],
) -> None:
    """Fewer bytes than Content-Length promised, then silence: 408 at the read timeout."""
    config, server = strict_desk
    before = draft_path(config, WEEK).read_bytes()
    answer = raw_post(server, *vetted(server), "Content-Length: 100", body=b'{"subject": ')
    assert answer.status == 408
    assert answer.error() == "The request body stopped arriving for 1 s."
    assert draft_path(config, WEEK).read_bytes() == before


def test_a_well_framed_post_on_a_raw_socket_is_applied(
    strict_desk: tuple[Config, DeskServer],
) -> None:
    """The checks let an ordinary POST through: the subject lands in draft.yaml."""
    config, server = strict_desk
    version = server.desk.snapshot().version
    body = json.dumps({"version": version, "subject": "Raw and right"}).encode()
    answer = raw_post(server, *vetted(server), f"Content-Length: {len(body)}", body=body)
    assert answer.status == 200 and json.loads(answer.body)["changed"] is True
    assert load_draft(draft_path(config, WEEK)).subject == "Raw and right"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("0005", 5), (str(MAX_BODY), MAX_BODY), ("0" * 50 + "7", 7),
     (str(MAX_BODY + 1), 413), ("1" + "0" * 30, 413), (" 12 ", 12), ("1 2", 400), ("", 400),
     ("-0", 400), ("0x10", 400)],
)  # fmt: skip
def test_body_length(value: str, expected: int) -> None:
    """Decimal digits only, leading zeros fine, at most MAX_BODY; else 400 or 413."""
    try:
        assert body_length([value], transfer_encoding=None) == expected
    except Refused as refused:
        assert refused.status == expected


# --- add-by-URL reads only public pages, within a deadline ----------------------------------------

PAGE = b"<html><head><title>Local page</title></head></html>"
HTML = {"Content-Type": "text/html"}


@pytest.mark.parametrize(
    ("address", "refusal"),
    [("127.0.0.1", "a loopback address"), ("127.9.9.9", "a loopback address"),
     ("::1", "a loopback address"), ("10.1.2.3", "a private address"),
     ("172.16.0.1", "a private address"), ("192.168.1.5", "a private address"),
     ("100.64.0.1", "a private address"), ("fd00::1", "a private address"),
     ("169.254.169.254", "a link-local address"), ("fe80::1", "a link-local address"),
     ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"),
     ("240.0.0.1", "a reserved address"), ("0.0.0.0", "an unspecified address"),
     ("::", "an unspecified address"), ("::ffff:127.0.0.1", "a loopback address"),
     ("2002:a00:1::", "a private address"), ("64:ff9b::a9fe:a9fe", "a link-local address"),
     ("93.184.215.14", None), ("2606:4700::1", None), ("::ffff:93.184.215.14", None)],
)  # fmt: skip
def test_address_refusal(address: str, refusal: str | None) -> None:
    """Every non-public kind is refused, IPv6 forms of IPv4 addresses by the address they reach."""
    assert address_refusal(address) == refusal


def test_address_refusal_option_lets_only_loopback_and_private_through() -> None:
    """allow_private opens loopback and private networks, never link-local and the rest."""
    assert address_refusal("127.0.0.1", allow_private=True) is None
    assert address_refusal("192.168.1.5", allow_private=True) is None
    assert address_refusal("169.254.169.254", allow_private=True) == "a link-local address"
    assert address_refusal("0.0.0.0", allow_private=True) == "an unspecified address"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433"])
def test_a_local_page_is_refused_without_the_option(feed_server: FeedServer, host: str) -> None:
    """127.0.0.1, or any name resolving to it, is refused before a connection is made."""
    feed_server.route("/page", Reply(200, PAGE, HTML))
    url = f"http://{host}:{feed_server.port}/page"
    with pytest.raises(FetchError) as caught:
        fetch_metadata(url)
    shown = "127.0.0.1 is" if host == "127.0.0.1" else f"{host} resolves to 127.0.0.1,"
    assert str(caught.value) == (
        f"{url}: refused: {shown} a loopback address; the desk reads only public web pages"
    )
    assert feed_server.requests_to("/page") == []
    assert fetch_metadata(url, allow_private=True).title == "Local page"


def test_every_redirect_target_is_checked_again(feed_server: FeedServer) -> None:
    """A redirect from an allowed page to 0.0.0.0 (this machine) is refused, never followed."""
    secret = f"http://0.0.0.0:{feed_server.port}/secret"
    start_url = feed_server.route("/start", Reply(302, headers={"Location": secret}))
    feed_server.route("/secret", Reply(200, PAGE, HTML))
    with pytest.raises(FetchError, match=r"redirected to .*/secret: refused: 0\.0\.0\.0 is an "):
        fetch_metadata(start_url, allow_private=True)
    assert feed_server.requests_to("/secret") == []


def test_redirects_are_followed_a_few_times_only(feed_server: FeedServer) -> None:
    """A redirect chain is followed to the page; a loop stops after MAX_REDIRECTS."""
    feed_server.route("/a", Reply(301, headers={"Location": "/b"}))
    feed_server.route("/b", Reply(200, PAGE, HTML))
    meta = fetch_metadata(feed_server.url("/a"), allow_private=True)
    assert (meta.url, meta.title) == (feed_server.url("/b"), "Local page")
    loop = feed_server.route("/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch_metadata(loop, allow_private=True)
    assert len(feed_server.requests_to("/loop")) == MAX_REDIRECTS + 1


def test_a_page_that_drips_is_cut_off_at_the_deadline(feed_server: FeedServer) -> None:
    """A byte every 0.1 s for 30 s; with a 1 s deadline the read ends with the deadline error."""
    url = feed_server.route("/drip", Reply(200, b" " * 300, HTML, drip=0.1))
    with pytest.raises(FetchError) as caught:
        fetch_metadata(url, deadline=1, allow_private=True)
    assert str(caught.value) == f"{url}: no complete answer within the 1 s deadline"
    assert not feed_server.requests_to("/drip")[0].completed


def test_a_page_that_never_answers_is_cut_off_at_the_deadline(feed_server: FeedServer) -> None:
    """A server that would wait 30 s before its headers: the 1 s deadline ends the read."""
    url = feed_server.route("/silent", Reply(200, PAGE, HTML, delay=30))
    with pytest.raises(FetchError, match=r"/silent: no complete answer within the 1 s deadline"):
        fetch_metadata(url, deadline=1, allow_private=True)


def test_the_deadline_covers_every_redirect(feed_server: FeedServer) -> None:
    """Hops that are each quick but together slow exceed one deadline for the whole read."""
    feed_server.route("/hop1", Reply(302, headers={"Location": "/hop2"}, delay=0.6))
    feed_server.route("/hop2", Reply(302, headers={"Location": "/hop3"}, delay=0.6))
    feed_server.route("/hop3", Reply(200, PAGE, HTML))
    with pytest.raises(FetchError, match="within the 1 s deadline"):
        fetch_metadata(feed_server.url("/hop1"), deadline=1, allow_private=True)


def test_the_desk_refuses_to_look_up_a_local_page(seeded: Path, tmp_path: Path) -> None:
    """Through the real desk: a 127.0.0.1 URL is refused with a clear message, unless allowed."""
    config = copy_site(seeded, tmp_path)
    with FeedServer() as pages:
        url = pages.route("/page", Reply(200, PAGE, HTML))
        for allowed in (False, True):
            with (
                start(config, allow_private_pages=allowed) as server,
                httpx.Client(base_url=server.url, trust_env=False) as client,
            ):
                found = Site(config, server, client).post("/api/lookup", {"url": url})
            if allowed:
                assert found.status_code == 200 and found.json()["title"] == "Local page"
            else:
                assert found.status_code == 422
                assert found.json()["error"] == (
                    f"{url}: refused: 127.0.0.1 is a loopback address; "
                    "the desk reads only public web pages"
                )
                assert pages.requests_to("/page") == []
