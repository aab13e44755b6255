"""What subscribers read, in an issue made from the real feeds of ../shared/corpora.

Every real feed of the corpora (the trimmed and full captures of news sites and blogs, not
feedparser's one-feature fixtures) gives up to three entries; they are drafted into one
issue and rendered. The rendering half of issue 12 is checked on what comes out: no link
in any output keeps a tracking parameter, entries that name a person get a byline, the
masthead says the name once, the preheader is a sentence, and thumbnails are decorative.
Skips when the corpora are absent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from roundup.draft import build_draft
from roundup.errors import ParseError
from roundup.models import Draft, Entry, Group, Story
from roundup.normalize import strip_tracking
from roundup.parse import parse_feed
from roundup.render import RenderedIssue, render_issue
from roundup.text import byline_author
from roundup.week import window_for
from tests.corpora import CORPORA, corpus_files
from tests.test_render import sample_config

pytestmark = pytest.mark.corpus

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
REAL_FEEDS = ("rss-parser", "feedjira", "feed-rs")  # feedparser-tests are one-trick fixtures
PER_FEED = 3
TRACKING = re.compile(r"[?&](utm_|at_|ns_|wt_mc=|fbclid=|gclid=|maca=|xtor=)", re.IGNORECASE)


def _real_entries() -> list[list[Entry]]:
    feeds = []
    for path in corpus_files():
        relative = path.relative_to(CORPORA).as_posix()
        if not relative.startswith(REAL_FEEDS):
            continue
        try:
            parsed = parse_feed(path.read_bytes(), key=relative, url=str(path), fetched_at=FETCHED)
        except ParseError:
            continue  # the few files that are no feed (see test_corpus.NOT_FEEDS)
        linked = [entry for entry in parsed.entries if entry.link]
        # the first few, and every entry whose link carries tracking parameters
        entries = linked[:PER_FEED] + [
            entry for entry in linked[PER_FEED:] if strip_tracking(entry.link) != entry.link
        ]
        if entries:
            feeds.append(entries)
    return feeds


@pytest.fixture(scope="module")
def feeds() -> list[list[Entry]]:
    found = _real_entries()
    if not found:
        pytest.skip(f"{CORPORA} is absent (the corpora are not part of the repo)")
    return found


@pytest.fixture(scope="module")
def draft(feeds: list[list[Entry]]) -> Draft:
    nl = sample_config().newsletter
    window = window_for("2015-W33", week_ends=nl.week_ends, tz=nl.tz, now=FETCHED)
    groups = [
        Group(f"Section {n % 3}", "", tuple(Story(entry) for entry in entries))
        for n, entries in enumerate(feeds)
    ]
    return build_draft(groups, window=window, number=7, newsletter=nl)


@pytest.fixture(scope="module")
def issue(draft: Draft) -> RenderedIssue:
    return render_issue(draft, sample_config())


def _links(issue: RenderedIssue) -> dict[str, list[str]]:
    links = {}
    for name, rendered in issue.outputs.items():
        if name.endswith(".html"):
            tree = lxml_html.document_fromstring(rendered)
            found = [v for e in tree.iter() for v in (e.get("href"), e.get("src")) if v]
        else:
            found = re.findall(r"https?://[^\s)>\]]+", rendered)
        links[name] = found
    return links


def test_the_corpora_feed_the_issue(feeds: list[list[Entry]], issue: RenderedIssue) -> None:
    """Enough real feeds reach the issue for the checks below to mean something."""
    assert len(feeds) >= 60
    assert issue.post_html.count("<h3>") >= 150


def test_no_tracking_parameter_in_any_link(feeds: list[list[Entry]], issue: RenderedIssue) -> None:
    """The feeds' links carry utm_*, wt_mc and the like; no output keeps one."""
    tracked = [e.link for entries in feeds for e in entries if strip_tracking(e.link) != e.link]
    assert len(tracked) >= 15  # the corpora do carry them
    for name, links in _links(issue).items():
        assert [link for link in links if TRACKING.search(link)] == [], name


def test_bylines_where_authors_exist(
    feeds: list[list[Entry]], draft: Draft, issue: RenderedIssue
) -> None:
    """Every item whose entry names a person is credited "by" that person (the post shows
    every item; the email moves some to "More this week"), and no role or account is."""
    entries: dict[str, Entry] = {}
    for entry in (e for group in feeds for e in group):
        entries.setdefault(entry.canonical_url, entry)  # the first feed's copy, as drafted
    named = [byline_author(entries[i.key].author, entries[i.key].source) for i in draft.items]
    tree = lxml_html.document_fromstring(issue.post_html)
    shown = [span.text_content() for span in tree.cssselect(".byline .author")]
    assert shown == [f"by {name}" for name in named if name]
    assert len(shown) >= 100
    for text in shown:
        assert text.lower() not in ("by admin", "by staff"), text
    assert issue.email_text.count(" · by ") >= 30


def test_masthead_and_preheader(issue: RenderedIssue) -> None:
    """The name once in the masthead, one h1, and a preheader that is not joined titles."""
    tree = lxml_html.document_fromstring(issue.email_html)
    assert [h1.text_content() for h1 in tree.iter("h1")] == ["Weekly Roundup"]
    masthead = " ".join(tree.cssselect(".mh")[0].text_content().split())
    assert masthead == "Weekly Roundup Issue 7 · August 14, 2015"
    preheader = tree.body[0].text_content().split("\u200c")[0]
    assert re.fullmatch(r"\d+ stories from \d+ sources this week", preheader), preheader


def test_thumbnails_are_decorative(issue: RenderedIssue) -> None:
    """Every image of the email has an empty alt, a numeric width and an https source."""
    images = list(lxml_html.document_fromstring(issue.email_html).iter("img"))
    assert images
    for image in images:
        assert image.get("alt") == ""
        assert (image.get("width") or "").isdigit()
        assert (image.get("src") or "").startswith("https://")


def test_real_feeds_are_all_full_text_or_teasers(feeds: list[list[Entry]]) -> None:
    """Some real entries carry the whole article (a read time), most only a teaser."""
    from roundup.text import read_minutes

    minutes = [read_minutes(e.summary_text) for entries in feeds for e in entries]
    assert 0 < sum(1 for m in minutes if m) < len(minutes)


def test_corpora_path_is_beside_the_project() -> None:
    """The corpora are read from ../shared/corpora, never from inside the repository."""
    assert not CORPORA.is_relative_to(Path(__file__).resolve().parents[1])
