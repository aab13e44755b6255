"""The archive page and its Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import feedparser
import jinja2
import pytest

from roundup.archive import write_archive
from roundup.config import Config, Newsletter
from roundup.publisher import SentIssue

URL = "https://example.org/roundup/"


def make_config(tmp_path: Path, language: str = "en") -> Config:
    newsletter = Newsletter(
        title="The Elicitor & Co <Weekly>",
        url=URL,
        timezone="America/New_York",
        week_ends=4,
        language=language,
        from_addr="The Elicitor <roundup@example.org>",
    )
    return Config(
        path=tmp_path / "feeds.yaml",
        newsletter=newsletter,
        output_dir=tmp_path / "out",
        state=tmp_path / "state.sqlite3",
        sections=(),
        feeds=(),
    )


def issue(week: str, number: int, day: date, subject: str = "", summary: str = "") -> SentIssue:
    return SentIssue(
        week=week,
        number=number,
        subject=subject or f"Roundup #{number}",
        date=day,
        post_url=f"{URL}{week}/",
        summary=summary,
    )


ISSUES = [
    issue("2015-W32", 11, date(2015, 8, 7), summary="Eleven & more"),
    issue("2015-W34", 13, date(2015, 8, 21), subject='Tom & Jerry <3 > "quotes"'),
    issue("2015-W33", 12, date(2015, 8, 14)),
]
NEWEST_FIRST = ["2015-W34", "2015-W33", "2015-W32"]


@pytest.fixture
def written(tmp_path: Path) -> tuple[str, bytes]:
    index, feed = write_archive(tmp_path / "out", make_config(tmp_path), ISSUES)
    return index.read_text(encoding="utf-8"), feed.read_bytes()


def test_index_lists_issues_newest_first_with_links(written: tuple[str, bytes]) -> None:
    """index.html links every issue's post, newest first."""
    html, _feed = written
    hrefs = re.findall(r'<h2><a href="([^"]+)">', html)
    assert hrefs == [f"{URL}{week}/" for week in NEWEST_FIRST]
    assert '<time datetime="2015-08-21">August 21, 2015</time>' in html


def test_index_is_standalone_escaped_html(written: tuple[str, bytes]) -> None:
    """The page declares its language and charset, links the feed, and escapes text."""
    html, _feed = written
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert '<meta charset="utf-8">' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert "<title>The Elicitor &amp; Co &lt;Weekly&gt;</title>" in html
    assert "Tom &amp; Jerry &lt;3 &gt; &#34;quotes&#34;</a>" in html
    assert "<p>Eleven &amp; more</p>" in html
    assert "<3" not in html


def test_feed_parses_cleanly_in_order(written: tuple[str, bytes]) -> None:
    """feed.xml is valid Atom for feedparser: no bozo, entries newest first, text unescaped."""
    _html, feed = written
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "The Elicitor & Co <Weekly>"
    assert parsed.feed.id == URL
    assert [entry.id for entry in parsed.entries] == [f"{URL}{w}/" for w in NEWEST_FIRST]
    assert parsed.entries[0].title == 'Tom & Jerry <3 > "quotes"'
    assert parsed.entries[0].link == f"{URL}2015-W34/"
    assert parsed.entries[2].summary == "Eleven & more"
    assert parsed.feed.updated == "2015-08-21T00:00:00-04:00"


def test_feed_has_the_required_atom_elements(written: tuple[str, bytes]) -> None:
    """The feed has id, title, updated, self link, author; entries id, title, updated, link."""
    _html, feed = written
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(feed)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.find("a:link[@rel='self']", ns).get("href") == f"{URL}feed.xml"  # type: ignore[union-attr]
    assert root.findtext("a:author/a:name", namespaces=ns) == "The Elicitor"
    for entry in root.findall("a:entry", ns):
        for tag in ("id", "title", "updated"):
            assert entry.findtext(f"a:{tag}", namespaces=ns)
        assert entry.find("a:link[@rel='alternate']", ns) is not None


def test_output_is_deterministic(tmp_path: Path) -> None:
    """The same issues, in any order, give byte-identical files."""
    config = make_config(tmp_path)
    first = write_archive(tmp_path / "a", config, ISSUES)
    second = write_archive(tmp_path / "b", config, list(reversed(ISSUES)))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_sent_datetimes_and_ties(tmp_path: Path) -> None:
    """Aware sent times order by instant; issues on the same day order by number."""
    issues = [
        issue("2015-W33", 12, date(2015, 8, 14)),
        issue("2015-W33b", 14, date(2015, 8, 14)),
        issue("2015-W34", 13, datetime(2015, 8, 21, 19, 30, tzinfo=UTC)),
    ]
    _index, feed = write_archive(tmp_path / "out", make_config(tmp_path), issues)
    parsed = feedparser.parse(feed.read_bytes())
    assert [e.id for e in parsed.entries] == [
        f"{URL}2015-W34/",
        f"{URL}2015-W33b/",
        f"{URL}2015-W33/",
    ]
    assert parsed.entries[0].updated == "2015-08-21T19:30:00Z"


def test_control_characters_do_not_break_the_feed(tmp_path: Path) -> None:
    """Characters XML cannot carry are dropped, so the feed stays well-formed."""
    issues = [issue("2015-W33", 12, date(2015, 8, 14), subject="Bell\x07 and tab\tok")]
    _index, feed = write_archive(tmp_path / "out", make_config(tmp_path), issues)
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo
    assert parsed.entries[0].title == "Bell and tab\tok"


def test_empty_archive_is_still_valid(tmp_path: Path) -> None:
    """With no issues yet, both files are written and the feed parses."""
    index, feed = write_archive(tmp_path / "out", make_config(tmp_path), [])
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo and parsed.entries == []
    assert '<ul class="issues">\n</ul>' in index.read_text(encoding="utf-8")


@pytest.mark.parametrize(("language", "shown"), [("fr", "21 août 2015"), ("de", "21. August 2015")])
def test_dates_and_lang_follow_the_language(tmp_path: Path, language: str, shown: str) -> None:
    """The page's lang and its dates follow newsletter.language."""
    index, feed = write_archive(tmp_path / "out", make_config(tmp_path, language), ISSUES)
    html = index.read_text(encoding="utf-8")
    assert f'<html lang="{language}">' in html and shown in html
    assert f'xml:lang="{language}"'.encode() in feed.read_bytes()


def test_theme_template_overrides_the_page(tmp_path: Path) -> None:
    """A theme's archive.html, from the given environment, renders the page instead."""
    env = jinja2.Environment(
        loader=jinja2.DictLoader(
            {"archive.html": "{% for i in issues %}[{{ i.number }} {{ i.subject }}]{% endfor %}"}
        ),
        autoescape=True,
    )
    index, _feed = write_archive(tmp_path / "out", make_config(tmp_path), ISSUES, env=env)
    assert index.read_text(encoding="utf-8") == (
        "[13 Tom &amp; Jerry &lt;3 &gt; &#34;quotes&#34;][12 Roundup #12][11 Roundup #11]"
    )


def test_environment_without_the_theme_template_uses_the_builtin(tmp_path: Path) -> None:
    """An environment lacking archive.html falls back to the built-in page."""
    env = jinja2.Environment(loader=jinja2.DictLoader({}), autoescape=True)
    index, _feed = write_archive(tmp_path / "out", make_config(tmp_path), ISSUES, env=env)
    assert index.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
