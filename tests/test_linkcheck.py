"""Link checks against a real HTTP server on 127.0.0.1: broken, redirecting, home-redirecting,
HEAD-refusing and slow links; the day-long cache in a real SQLite file; `check-links` and
the pre-send hold of `roundup run`, with their exact output."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from roundup import cli as cli_module
from roundup import pipeline
from roundup.cli import cli
from roundup.config import Config, FetchSettings, load_config
from roundup.draft_file import load_draft, save_draft
from roundup.edit import add_item, editor_item
from roundup.errors import ConfigError, SendError
from roundup.linkcheck import (
    LinkResult,
    check_links,
    describe,
    is_home,
    reusable,
)
from roundup.lock import locked
from roundup.models import Draft
from roundup.pipeline import draft_path, issue_links, make_draft, resolve_window
from roundup.reporting import format_run_summary
from roundup.store import Store
from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 14, 12, 0, tzinfo=UTC)
AFTER = datetime(2015, 8, 14, 20, 0, tzinfo=UTC)  # 16:00 EDT, after the 15:00 send time
WEEK = "2015-W33"
SETTINGS = FetchSettings(timeout=0.5, deadline=2.0, budget=20.0, per_host=2)


# --- a web site on loopback -------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    status: int = 200
    location: str = ""  # a path on the same server, for redirects
    head: int | None = None  # what HEAD answers, when not the same as GET
    delay: float = 0.0


PAGES = {
    "/": Page(),
    "/article": Page(),
    "/gone": Page(404),
    "/error": Page(500),
    "/moved": Page(301, "/new-home-of-the-article"),
    "/new-home-of-the-article": Page(),
    "/old-article": Page(302, "/"),
    "/no-head": Page(head=405),
    "/head-lies": Page(head=404),
    "/slow": Page(delay=3.0),
    "/loop": Page(302, "/loop2"),
    "/loop2": Page(302, "/loop"),
}


class Site:
    """A threaded HTTP server answering :data:`PAGES`, counting requests and the most in
    flight at once."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                site.answer(self, head=True)

            def do_GET(self) -> None:
                site.answer(self, head=False)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        page = PAGES.get(handler.path.split("?")[0], Page(404))
        with self.lock:
            self.requests[(handler.command, handler.path)] += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            self.stop.wait(page.delay)
            status = page.head if head and page.head else page.status
            body = b"<!doctype html><title>page</title>"
            handler.send_response(status)
            if page.location:
                handler.send_header("Location", page.location)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if not head:
                handler.wfile.write(body)
        except OSError:
            pass  # the checker hung up: it had what it needed, or gave up
        finally:
            with self.lock:
                self.in_flight -= 1

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a checker that hangs up mid-answer is expected, not news


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


class NoSuchHost(httpx.AsyncBaseTransport):
    """Loopback goes to the real network; any other host does not resolve, as a name under
    ``.invalid`` never does (tests never leave loopback)."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return await self.real.handle_async_request(request)
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async def aclose(self) -> None:
        await self.real.aclose()


# --- the checker --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code", "final", "reason"),
    [
        ("/article", "ok", 200, "", "HTTP 200 OK"),
        ("/gone", "broken", 404, "", "HTTP 404 Not Found"),
        ("/error", "broken", 500, "", "HTTP 500 Internal Server Error"),
        ("/moved", "redirect", 200, "/new-home-of-the-article", "HTTP 301, then HTTP 200 OK"),
        ("/old-article", "home_redirect", 200, "/", "HTTP 302, then HTTP 200 OK"),
        ("/no-head", "ok", 200, "", "HTTP 200 OK"),
        ("/head-lies", "ok", 200, "", "HTTP 200 OK"),
        ("/slow", "broken", None, "", "no answer in time (fetch.timeout)"),
        ("/loop", "broken", None, "", "more than 5 redirects"),
    ],
)
def test_each_kind_of_link(
    site: Site, path: str, status: str, code: int | None, final: str, reason: str
) -> None:
    """Every outcome, from one real server; the result is stamped with the time given."""
    (result,) = check_links([site.url(path)], SETTINGS, now=NOW)
    assert result == LinkResult(
        site.url(path),
        status,
        code,
        site.url(final) if final else "",
        reason,
        NOW,  # type: ignore[arg-type]
    )


def test_head_first_then_get_only_when_head_is_refused(site: Site) -> None:
    """A working page costs one HEAD; a refused HEAD (405) is followed by one GET."""
    check_links([site.url("/article"), site.url("/no-head")], SETTINGS, now=NOW)
    assert site.requests == Counter(
        {("HEAD", "/article"): 1, ("HEAD", "/no-head"): 1, ("GET", "/no-head"): 1}
    )


def test_a_name_that_does_not_resolve_is_broken() -> None:
    (result,) = check_links(
        ["https://no-such-host.invalid/a"], SETTINGS, now=NOW, transport=NoSuchHost()
    )
    assert (result.status, result.code, result.reason) == (
        "broken",
        None,
        "DNS: the host name does not resolve",
    )


def test_the_deadline_bounds_one_link() -> None:
    """A server that answers headers slowly within each read timeout still ends at the
    per-link deadline."""
    with Site() as slow_site:
        settings = replace(SETTINGS, timeout=10.0, deadline=0.5)
        (result,) = check_links([slow_site.url("/slow")], settings, now=NOW)
    assert result.reason == "no answer within the 0.5 s deadline"


def test_per_host_limit_and_order(site: Site) -> None:
    """Links to one host are asked at most ``per_host`` at a time; results keep the order
    given, one per distinct URL."""
    urls = [site.url(f"/article?n={n}") for n in range(8)]
    results = check_links([*urls, urls[0]], SETTINGS, now=NOW)
    assert [r.url for r in results] == urls
    assert site.peak <= SETTINGS.per_host


@pytest.mark.parametrize(
    ("url", "home"),
    [
        ("https://example.org/", True),
        ("https://example.org", True),
        ("https://example.org/en/", True),
        ("https://example.org/index.php", True),
        ("https://example.org/?p=12", False),
        ("https://example.org/2015/08/post", False),
        ("https://example.org/news/", False),
    ],
)
def test_what_counts_as_a_home_page(url: str, home: bool) -> None:
    assert is_home(url) is home


def test_kept_results_are_reused_for_a_day() -> None:
    day_old = LinkResult("https://a.example/", "ok", 200, "", "", NOW - timedelta(days=1))
    recent = LinkResult("https://b.example/", "ok", 200, "", "", NOW - timedelta(hours=23))
    broken = LinkResult("https://c.example/", "broken", 404, "", "", NOW - timedelta(hours=1))
    kept = {r.url: r for r in (day_old, recent, broken)}
    assert reusable(kept, now=NOW) == {recent.url: recent, broken.url: broken}
    assert reusable(kept, now=NOW, recheck_broken=True) == {recent.url: recent}


def test_known_results_are_not_asked_again(site: Site) -> None:
    known = LinkResult(site.url("/gone"), "ok", 200, "", "", NOW)
    (result,) = check_links([site.url("/gone")], SETTINGS, now=NOW, known={known.url: known})
    assert result is known and not site.requests


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (LinkResult("u", "broken", 404, "", "HTTP 404 Not Found"), "HTTP 404 Not Found"),
        (LinkResult("u", "redirect", 200, "https://b/"), "redirects to https://b/"),
        (
            LinkResult("u", "home_redirect", 200, "https://b/"),
            "redirects to the site's home page https://b/",
        ),
        (LinkResult("u", "ok", 200, "", "HTTP 200 OK"), "HTTP 200 OK"),
    ],
)
def test_describe(result: LinkResult, line: str) -> None:
    assert describe(result) == line


# --- an issue's links: check-links and the pre-send hold -----------------------------------------


def project(tmp_path: Path, *, extra: str = "", smtp: SmtpServer | None = None) -> Config:
    """The sample site in ``tmp_path``, drafted for 2015-W33."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("  max_items: 40", f'  send_at: "friday 15:00"\n{extra}  max_items: 40')
    if smtp is not None:
        text += f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none}}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    config = load_config(tmp_path / "feeds.yaml")
    with Store.open(config.state) as store:
        from roundup.pipeline import fetch_feeds

        fetch_feeds(config, store, now=NOW)
        make_draft(config, store, window=resolve_window(config, WEEK, now=NOW))
    return config


def relink(config: Config, site: Site, paths: list[str], *, intro: str = "") -> Draft:
    """Keep one item per path, linking to ``site``; the draft is saved."""
    draft = load_draft(draft_path(config, WEEK))
    items = iter(paths)
    sections = []
    for section in draft.sections:
        kept = []
        for item in section.items:
            path = next(items, None)
            if path is not None:
                kept.append(replace(item, link=site.url(path), title=f"Story {path}"))
        sections.append(replace(section, items=tuple(kept)))
    edited = replace(draft, sections=tuple(s for s in sections if s.items), intro=intro)
    save_draft(draft_path(config, WEEK), edited)
    return edited


def test_links_of_an_issue_come_with_where_they_are(tmp_path: Path, site: Site) -> None:
    config = project(tmp_path)
    draft = relink(
        config, site, ["/article", "/gone"], intro="See [the page](https://x.example/a)."
    )
    draft = replace(
        draft,
        sections=(
            replace(
                draft.sections[0],
                items=(
                    replace(draft.sections[0].items[0], note="[More](https://y.example/b)"),
                    *draft.sections[0].items[1:],
                ),
            ),
            *draft.sections[1:],
        ),
    )
    assert issue_links(draft) == [
        ("the intro", "", "https://x.example/a"),
        ('item 1 "Story /article"', draft.items[0].key, site.url("/article")),
        ('the note of item 1 "Story /article"', draft.items[0].key, "https://y.example/b"),
        ('item 2 "Story /gone"', draft.items[1].key, site.url("/gone")),
    ]


def invoke(config: Config, *args: str, at: datetime = NOW) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_module, "now", lambda: at)
        result = CliRunner().invoke(cli, ["--config", str(config.path), *args])
    return result.exit_code, result.output


def test_check_links_command(tmp_path: Path, site: Site) -> None:
    """The report names each problem's item; a second check within the day asks nobody."""
    config = project(tmp_path)
    relink(config, site, ["/article", "/gone", "/moved", "/old-article", "/no-head"])
    code, output = invoke(config, "check-links", "--week", WEEK)
    u = site.url
    assert output == (
        f"Checked 5 links in {WEEK}: 2 OK, 1 redirected, 1 to a home page, 1 broken.\n"
        "Broken (fix or remove the item):\n"
        f'  item 2 "Story /gone": {u("/gone")}: HTTP 404 Not Found\n'
        "Redirected to a home page (the page is probably gone):\n"
        f'  item 4 "Story /old-article": {u("/old-article")} -> {u("/")}\n'
        "Redirected (adopt the new address in `roundup preview`, or edit draft.yaml):\n"
        f'  item 3 "Story /moved": {u("/moved")} -> {u("/new-home-of-the-article")}\n'
    )
    assert code == 3
    asked = sum(site.requests.values())
    code, again = invoke(config, "check-links", "--week", WEEK, at=NOW + timedelta(hours=2))
    assert again.splitlines()[0] == (
        f"Checked 5 links in {WEEK} (5 from checks of the last day): "
        "2 OK, 1 redirected, 1 to a home page, 1 broken."
    )
    assert sum(site.requests.values()) == asked
    invoke(config, "check-links", "--week", WEEK, at=NOW + timedelta(days=1))
    assert sum(site.requests.values()) > asked


def test_check_links_all_fine_and_fresh(tmp_path: Path, site: Site) -> None:
    config = project(tmp_path)
    relink(config, site, ["/article"])
    assert invoke(config, "check-links", "--week", WEEK) == (
        0,
        f"Checked 1 link in {WEEK}: 1 OK, 0 redirected, 0 to a home page, 0 broken.\n",
    )
    assert invoke(config, "check-links", "--week", WEEK, "--fresh")[1].startswith(
        f"Checked 1 link in {WEEK}: 1 OK"
    )
    assert site.requests[("HEAD", "/article")] == 2


def test_check_links_without_a_draft(tmp_path: Path) -> None:
    config = project(tmp_path)
    code, output = invoke(config, "check-links", "--week", "2015-W40")
    assert code == 1
    assert output == (
        f"Error: {config.output_dir / '2015-W40' / 'draft.yaml'}: no such file"
        " (run `roundup draft` first)\n"
    )


def test_the_redirect_target_is_kept_as_checked(tmp_path: Path, site: Site) -> None:
    """After a redirect is found, its final address is known to work: adopting it in the
    desk shows it as OK without asking again."""
    config = project(tmp_path)
    relink(config, site, ["/moved"])
    invoke(config, "check-links", "--week", WEEK)
    with Store.open(config.state) as store:
        kept = store.link_checks([site.url("/new-home-of-the-article")])
    assert kept[site.url("/new-home-of-the-article")].status == "ok"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def broken_editor_item(config: Config, site: Site) -> None:
    """An item of the editor's own, linking to a page that is gone: re-drafts keep it."""
    path = draft_path(config, WEEK)
    draft = load_draft(path)
    item = editor_item(site.url("/gone"), title="A gone page", excerpt="", image=None, source="")
    save_draft(path, add_item(draft, item, section=draft.sections[0].name))


def test_run_holds_the_send_on_a_broken_link(tmp_path: Path, site: Site, smtp: SmtpServer) -> None:
    """With block_on_broken_links, run checks before sending and holds, naming the item."""
    config = project(tmp_path, extra="  block_on_broken_links: true\n", smtp=smtp)
    broken_editor_item(config, site)
    report = pipeline.run(config, clock=lambda: AFTER, secret="s", link_transport=_Internet())
    output = format_run_summary(report, report_after=3, quiet=True)
    draft = load_draft(draft_path(config, WEEK))
    number = next(n for n, item in enumerate(draft.items, 1) if item.title == "A gone page")
    assert report.action == "links_broken"
    assert output == (
        f"Drafted {WEEK}; {WEEK} is held: broken links (newsletter.block_on_broken_links);"
        f" fix or remove the items below, or check again with"
        f" `roundup check-links --week {WEEK}`.\n"
        f'  Broken: item {number} "A gone page": {site.url("/gone")}: HTTP 404 Not Found\n'
    )
    assert smtp.handler.count("roundup@lists.example.org") == 0


def test_send_refuses_a_broken_link_when_blocking(
    tmp_path: Path, site: Site, smtp: SmtpServer
) -> None:
    """`roundup send` runs the same check before "Sending": the broken item is named."""
    config = project(tmp_path, extra="  block_on_broken_links: true\n", smtp=smtp)
    relink(config, site, ["/article", "/moved"])  # only loopback links: the send asks them all
    broken_editor_item(config, site)
    with Store.open(config.state) as store:
        check = pipeline.issue_link_check(config, store, now=AFTER)
        lines = check(load_draft(draft_path(config, WEEK)))
    assert lines == [f'item 3 "A gone page": {site.url("/gone")}: HTTP 404 Not Found']
    problem = r"has 1 broken link and newsletter\.block_on_broken_links is on: item 3"
    with pytest.raises(SendError, match=problem):
        pipeline.send(config, week=WEEK, clock=lambda: AFTER, secret="s")
    assert smtp.handler.count("roundup@lists.example.org") == 0


def test_run_sends_when_the_links_work(tmp_path: Path, site: Site, smtp: SmtpServer) -> None:
    config = project(tmp_path, extra="  block_on_broken_links: true\n", smtp=smtp)
    report = pipeline.run(config, clock=lambda: AFTER, secret="s", link_transport=_Internet())
    assert (report.action, report.broken_links) == ("sent", ())
    items = load_draft(draft_path(config, WEEK)).items
    with Store.open(config.state) as store:  # every link was asked, and the answers kept
        assert len(store.link_checks(item.link for item in items)) == len(items)


def test_run_does_not_check_links_unless_asked(tmp_path: Path, smtp: SmtpServer) -> None:
    config = project(tmp_path, smtp=smtp)
    report = pipeline.run(config, clock=lambda: AFTER, secret="s", link_transport=_Refuse())
    assert (report.action, report.broken_links) == ("sent", ())
    items = load_draft(draft_path(config, WEEK)).items
    with Store.open(config.state) as store:
        assert store.link_checks(item.link for item in items) == {}


def _no_wait(seconds: float) -> None:
    pass


class _Internet(httpx.AsyncBaseTransport):
    """Loopback for real; every other host answers 200, standing in for the web."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return await self.real.handle_async_request(request)
        return httpx.Response(200, request=request)


class _Refuse(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", False),
        ("  block_on_broken_links: true\n", True),
        ("  block_on_broken_links: false\n", False),
    ],
)
def test_block_on_broken_links_setting(tmp_path: Path, line: str, expected: bool) -> None:
    text = (ROOT / "feeds.yaml").read_text().replace("  max_items: 40", f"{line}  max_items: 40")
    (tmp_path / "feeds.yaml").write_text(text)
    assert load_config(tmp_path / "feeds.yaml").newsletter.block_on_broken_links is expected


def test_block_on_broken_links_must_be_true_or_false(tmp_path: Path) -> None:
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("  max_items: 40", "  block_on_broken_links: yes\n  max_items: 40")
    (tmp_path / "feeds.yaml").write_text(text)
    line = text.splitlines().index("  block_on_broken_links: yes") + 1
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "feeds.yaml")
    assert str(raised.value) == (
        f"{tmp_path / 'feeds.yaml'}:{line}: newsletter.block_on_broken_links:"
        " expected true or false, got 'yes'"
    )


def test_check_links_does_not_wait_for_the_run_lock(tmp_path: Path, site: Site) -> None:
    """A check may take minutes: it runs beside cron's run (which holds the lock), and
    keeps its results all the same."""
    config = project(tmp_path)
    relink(config, site, ["/article"])
    with locked(config.state):
        code, output = invoke(config, "check-links", "--week", WEEK)
    assert (code, output.splitlines()[0]) == (
        0,
        f"Checked 1 link in {WEEK}: 1 OK, 0 redirected, 0 to a home page, 0 broken.",
    )
    with Store.open(config.state) as store:
        assert store.link_checks([site.url("/article")])[site.url("/article")].status == "ok"


def test_the_budget_bounds_the_whole_check(site: Site) -> None:
    """Links still waiting when the budget runs out are reported, and not kept as checked."""
    settings = replace(SETTINGS, timeout=10.0, deadline=10.0, budget=0.5, per_host=1)
    slow, waiting = site.url("/slow"), site.url("/article")
    results = check_links([slow, waiting], settings, now=NOW)
    assert [(r.status, r.reason, r.checked_at) for r in results] == [
        ("broken", "not checked within the 0.5 s budget of the whole check", None),
        ("broken", "not checked within the 0.5 s budget of the whole check", None),
    ]
