"""Source names from feed titles, and titles that name a section of a site."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roundup.parse import parse_feed
from roundup.sources import reads_like_section, source_name


@pytest.mark.parametrize(
    ("title", "name", "section"),
    [
        ("TheWeek feed", "TheWeek", False),
        ("Rest of World -", "Rest of World", False),
        ("World - CBSNews.com", "CBSNews.com", True),
        ("NYT > World News", "NYT", True),
        ("BBC News - World", "BBC News", True),
        ("The Economist: Asia", "The Economist", True),
        ("Latest from Example Blog", "Example Blog", False),
        ("Example RSS Feed", "Example", False),
        ("TechCrunch » Feed", "TechCrunch", False),
        ("Reddit: the front page of the internet", "Reddit", False),
        ("World", "World", True),
        ("Asia", "Asia", True),
        ("Top Stories", "Top Stories", True),
        ("Harbor & Helm", "Harbor & Helm", False),
        ("Hacker News", "Hacker News", False),
        ("Python Insider", "Python Insider", False),
        ("https://example.org/feed", "https://example.org/feed", False),
        ("", "", False),
    ],
)
def test_source_name(title: str, name: str, section: bool) -> None:
    """Separators and a feed's words about itself go; a section part gives way to the site."""
    assert source_name(title) == name
    assert reads_like_section(title) is section


def test_configured_name_wins_and_title_is_cleaned() -> None:
    """Entries carry the configured name, else the cleaned feed title."""
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>NYT &gt; World News</title>'
        b"<item><title>T</title><link>https://x.example/1</link></item></channel></rss>"
    )
    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    parsed = parse_feed(body, key="k", url="https://x.example/f", fetched_at=fetched)
    assert parsed.entries[0].source == "NYT"
    named = parse_feed(
        body, key="k", url="https://x.example/f", fetched_at=fetched, name="The Times"
    )
    assert named.entries[0].source == "The Times"
