"""The orchestrator end to end: real HTTP server on 127.0.0.1, real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roundup.config import Config, load_config
from roundup.pipeline import fetch_feeds, make_draft, render_week, resolve_window
from roundup.store import Store
from tests.feedserver import FeedServer, Reply, feed_server_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "feeds"
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)

HTML_WITH_FEED = b"""<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" href="/blog/feed.xml"></head>
<body><p>Hello</p></body></html>"""


def write_config(tmp_path: Path, urls: list[str], extra: str = "") -> Config:
    feeds = "".join(f"  - url: {url}\n" for url in urls)
    text = (
        "newsletter:\n"
        "  title: Test Roundup\n"
        "  url: https://example.org/roundup/\n"
        "  timezone: America/New_York\n"
        "  week_ends: friday\n"
        '  from: "Roundup <roundup@example.org>"\n'
        f"{extra}"
        "fetch: {retries: 0, timeout: 5}\n"
        f"feeds:\n{feeds}"
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return load_config(path)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_one_bad_feed_never_stops_the_run(tmp_path: Path, feed_server: FeedServer) -> None:
    """Good feeds are stored while a 500, a 404 and an HTML page each get their own reason."""
    server = feed_server
    urls = [
        server.route("/good.rss", Reply(200, sample("elicitor.rss"))),
        server.route("/broken", Reply(500)),
        server.route("/missing", Reply(404)),
        server.route("/blog/", Reply(200, HTML_WITH_FEED, {"Content-Type": "text/html"})),
        server.route("/good.atom", Reply(200, sample("harbor-helm.atom"))),
    ]
    config = write_config(tmp_path, urls)
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW)
        assert [f.status for f in report.feeds] == [
            "fetched",
            "failed",
            "failed",
            "failed",
            "fetched",
        ]
        errors = {f.key: f.error for f in report.failed}
        assert errors[urls[1]] == "HTTP 500 Internal Server Error"
        assert errors[urls[2]] == "HTTP 404 Not Found"
        assert errors[urls[3]] == (
            f'not a feed: {urls[3]} is an HTML page; its <link rel="alternate"> points to '
            f"{server.url('/blog/feed.xml')} — use that URL in feeds.yaml"
        )
        assert report.new_entries == len(store.entries_for(urls[0])) + len(
            store.entries_for(urls[4])
        )
        state = store.feed_state(urls[1])
        assert state is not None and (state.failures, state.last_error) == (
            1,
            "HTTP 500 Internal Server Error",
        )


def test_second_run_is_conditional_and_parses_nothing(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Stored validators are sent back; a 304 costs no parse and adds no entries."""
    server = feed_server
    url = server.route(
        "/feed.rss",
        Reply(200, sample("elicitor.rss"), {"ETag": '"v1"'}),
        Reply(304, b"", {"ETag": '"v1"'}),
    )
    config = write_config(tmp_path, [url])
    with Store.open(config.state) as store:
        first = fetch_feeds(config, store, now=NOW)
        second = fetch_feeds(config, store, now=NOW + timedelta(hours=1))
    assert first.feeds[0].status == "fetched" and first.new_entries > 0
    assert second.feeds[0].status == "not_modified" and second.new_entries == 0
    assert server.requests_to("/feed.rss")[1].headers["If-None-Match"] == '"v1"'


def test_permanent_redirect_is_followed_next_time(tmp_path: Path, feed_server: FeedServer) -> None:
    """A 301 is reported for feeds.yaml and the new URL is fetched on the next run."""
    server = feed_server
    new = server.route("/new.rss", Reply(200, sample("elicitor.rss")))
    old = server.route("/old.rss", Reply(301, b"", {"Location": new}))
    config = write_config(tmp_path, [old])
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW)
        assert report.feeds[0].moved_to == new
        fetch_feeds(config, store, now=NOW + timedelta(hours=1))
    assert len(server.requests_to("/old.rss")) == 1
    assert len(server.requests_to("/new.rss")) == 2


def test_gone_feed_is_not_fetched_again(tmp_path: Path, feed_server: FeedServer) -> None:
    """After a 410 the feed is reported gone without another request."""
    server = feed_server
    url = server.route("/gone.rss", Reply(410))
    config = write_config(tmp_path, [url])
    with Store.open(config.state) as store:
        fetch_feeds(config, store, now=NOW)
        again = fetch_feeds(config, store, now=NOW + timedelta(hours=1))
    assert again.feeds[0].status == "gone"
    assert "remove it from feeds.yaml" in (again.feeds[0].error or "")
    assert len(server.requests_to("/gone.rss")) == 1


def test_bundled_feeds_build_a_complete_issue(tmp_path: Path) -> None:
    """The default config's sample feeds give a draft and all four rendered files."""
    config = load_config(ROOT / "feeds.yaml")
    config = _relocate(config, tmp_path)
    window = resolve_window(config, "2015-W33", now=NOW)
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW)
        assert not report.failed
        drafted = make_draft(config, store, window=window)
    rendered = render_week(config, week="2015-W33")
    names = sorted(path.name for path in (config.output_dir / "2015-W33").iterdir())
    post_md = "2015-08-14-the-elicitor-weekly-roundup.md"  # the name site generators expect
    assert names == [post_md, "draft.yaml", "email.html", "email.txt", "post.html"]
    assert rendered.draft == drafted.draft
    links = [item.link for item in drafted.draft.items]
    assert len(links) == len(set(links)), "a syndicated story appears once"
    assert any(item.also_via for item in drafted.draft.items)


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    """Two builds from the same entries and week write identical bytes."""
    outputs = []
    for run in ("a", "b"):
        config = _relocate(load_config(ROOT / "feeds.yaml"), tmp_path / run)
        window = resolve_window(config, "2015-W33", now=NOW)
        with Store.open(config.state) as store:
            fetch_feeds(config, store, now=NOW)
            make_draft(config, store, window=window)
        render_week(config, week="2015-W33")
        folder = config.output_dir / "2015-W33"
        outputs.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert outputs[0] == outputs[1]


def _relocate(config: Config, tmp_path: Path) -> Config:
    from dataclasses import replace

    return replace(config, output_dir=tmp_path / "out", state=tmp_path / "state.sqlite3")


@pytest.mark.parametrize("week", ["2015-W33"])
def test_redraft_keeps_removed_items_removed(tmp_path: Path, week: str) -> None:
    """Deleting an item from draft.yaml by hand survives the next `draft`."""
    from roundup.draft_file import load_draft, save_draft
    from roundup.models import Draft, DraftSection

    config = _relocate(load_config(ROOT / "feeds.yaml"), tmp_path)
    window = resolve_window(config, week, now=NOW)
    with Store.open(config.state) as store:
        fetch_feeds(config, store, now=NOW)
        first = make_draft(config, store, window=window).draft
        trimmed_section = first.sections[0]
        dropped = trimmed_section.items[0]
        edited = Draft(
            **{
                **{f: getattr(first, f) for f in first.__dataclass_fields__},
                "sections": (
                    DraftSection(
                        trimmed_section.name,
                        trimmed_section.description,
                        trimmed_section.items[1:],
                    ),
                    *first.sections[1:],
                ),
                "intro": "Edited *intro*",
            }
        )
        save_draft(first_path := config.output_dir / week / "draft.yaml", edited)
        second = make_draft(config, store, window=window)
    again = load_draft(first_path)
    assert dropped.key not in {item.key for item in again.items}
    assert again.intro == "Edited *intro*"
    assert second.new_items == 0


@pytest.mark.parametrize("name", ["draft.yaml", "email.html", "email.txt", "post.md", "post.html"])
def test_bundled_issue_matches_golden(
    tmp_path: Path, name: str, golden: Callable[[str, str], None]
) -> None:
    """The issue built from the bundled feeds equals tests/golden/bundled/ (--update-golden)."""
    config = _relocate(load_config(ROOT / "feeds.yaml"), tmp_path)
    window = resolve_window(config, "2015-W33", now=NOW)
    with Store.open(config.state) as store:
        fetch_feeds(config, store, now=NOW)
        make_draft(config, store, window=window)
    render_week(config, week="2015-W33")
    file = "2015-08-14-the-elicitor-weekly-roundup.md" if name == "post.md" else name
    golden(f"bundled/{name}", (config.output_dir / "2015-W33" / file).read_text("utf-8"))


@pytest.mark.parametrize("name", ["email.html", "email.txt", "post.md", "post.html"])
def test_bundled_hostile_entry_is_harmless_everywhere(name: str) -> None:
    """The sample feeds' hostile entry leaves no script, handler or unsafe URL in any output."""
    text = (ROOT / "tests" / "golden" / "bundled" / name).read_text("utf-8").lower()
    assert "radar" in text, "the hostile entry itself is in the issue"
    for needle in ("<script", "javascript:", "onclick", "onerror", "data:image", "<iframe"):
        assert needle not in text, needle


def test_many_feeds_parse_in_worker_processes(tmp_path: Path, feed_server: FeedServer) -> None:
    """Past the threshold, bodies are parsed in worker processes with the same results:
    the CPU time of this process's ended children grows by the parsing."""
    import resource

    from roundup.parse import parse_feed
    from roundup.parsing import PARALLEL_MIN_FEEDS

    names = ["elicitor.rss", "harbor-helm.atom", "steppe-review.rdf", "levant-ledger.json"]
    urls = [
        feed_server.route(f"/{n}/{name}", Reply(200, sample(name)))
        for n in range(5)
        for name in names
    ]
    config = write_config(tmp_path, urls)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert after.ru_utime + after.ru_stime > before.ru_utime + before.ru_stime
        assert report.count("fetched") == len(urls) >= PARALLEL_MIN_FEEDS
        for url in urls[:4]:
            expected = parse_feed(
                feed_server_body(url), key=url, url=url, fetched_at=NOW, name=None
            ).entries
            assert tuple(store.entries_for(url)) == tuple(
                sorted(expected, key=lambda e: (e.published, e.id))
            )


def feed_server_body(url: str) -> bytes:
    return sample(url.rsplit("/", 1)[1])


def hostile_feed(items: int = 3) -> bytes:
    """An RSS feed whose first item has a 10 MB title, a huge author and link, bidi tricks."""
    huge = "Sanctions " * 1_000_000  # 10 MB
    first = (
        f"<item><title>{huge}</title><author>x@example.org ({'Evil ' * 50_000})</author>"
        f"<link>https://hostile.example.org/{'a' * 10_000}</link>"
        "<pubDate>Thu, 13 Aug 2015 10:00:00 GMT</pubDate></item>"
        "<item><title>Pay \u202eyap\u202c now\u200b\u2066!\u2069</title>"
        "<link>https://hostile.example.org/bidi</link>"
        "<pubDate>Thu, 13 Aug 2015 11:00:00 GMT</pubDate></item>"
    )
    rest = "".join(
        f"<item><title>Post {n}</title><link>https://hostile.example.org/{n}</link>"
        f"<pubDate>Wed, 12 Aug 2015 {n % 24:02d}:00:00 GMT</pubDate></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        "<title>\u202eHostile\u202c Times</title><link>https://hostile.example.org/</link>"
        f"{first}{rest}</channel></rss>"
    ).encode()


def test_a_hostile_feed_cannot_flood_the_issue(tmp_path: Path, feed_server: FeedServer) -> None:
    """A 10 MB title, a 250 KB author, a 10 KB link and bidi controls end as short, plain
    fields in the store and every output; 1,500 items keep the newest 1,000."""
    url = feed_server.route("/hostile.rss", Reply(200, hostile_feed(items=1_500)))
    config = write_config(tmp_path, [url], extra="  max_items: 2000\n")
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW)
        stored = store.entries_for(url)
    assert report.feeds[0].status == "fetched"
    assert len(stored) == 1_000
    by_link = {entry.link: entry for entry in stored}
    flood = next(e for e in stored if e.title.startswith("Sanctions"))
    assert len(flood.title) <= 300 and flood.title.endswith("…")
    assert len(flood.author) <= 120 and flood.link == ""
    bidi = by_link["https://hostile.example.org/bidi"]
    assert (bidi.title, bidi.source) == ("Pay yap now!", "Hostile Times")
    with Store.open(config.state) as store:
        make_draft(config, store, window=resolve_window(config, "2015-W33", now=NOW))
    rendered = render_week(config, week="2015-W33")
    sizes = [len(text) for text in rendered.issue.outputs.values()]
    assert max(sizes) < 1_000_000  # the outputs stay ordinary-sized
    assert all("\u202e" not in text for text in rendered.issue.outputs.values())


def test_feeds_are_stored_in_batches_each_reported_once(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcomes are written a few feeds per transaction: every feed, parsed, failed or
    unparseable, is stored and reported exactly once, and a second run sees them all."""
    import roundup.pipeline

    monkeypatch.setattr(roundup.pipeline, "WRITE_BATCH", 3)
    replies = [Reply(200, sample("elicitor.rss")), Reply(500, b"down"), Reply(200, b"junk")]
    urls = [feed_server.route(f"/{n}.xml", replies[n % 3]) for n in range(20)]
    config = write_config(tmp_path, urls)
    seen: list[str] = []
    with Store.open(config.state) as store:
        report = fetch_feeds(config, store, now=NOW, on_feed=lambda r: seen.append(r.key))
        assert sorted(seen) == sorted(urls)
        assert [feed.key for feed in report.feeds] == urls
        assert [feed.status for feed in report.feeds] == [
            ("fetched", "failed", "failed")[n % 3] for n in range(20)
        ]
        states = store.feed_states()
        assert sorted(states) == sorted(urls)
        assert [states[url].failures for url in urls] == [min(n % 3, 1) for n in range(20)]
        assert all(store.entries_for(url) for url in urls[::3])
