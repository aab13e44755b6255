"""Helpers for tests of roundup and of code built on it (themes, plugins, scripts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from roundup.models import Entry

DEFAULT_TIME = datetime(2015, 8, 12, 13, 30, tzinfo=UTC)


def make_entry(**changes: Any) -> Entry:
    """An :class:`Entry` with plausible defaults; pass any field to change it.

    >>> make_entry(title="Minsk, six months on").link
    'https://example.org/story'
    """
    base = Entry(
        feed="https://example.org/feed.xml",
        id="urn:example:story",
        title="A story",
        link="https://example.org/story",
        canonical_url="https://example.org/story",
        author="",
        published=DEFAULT_TIME,
        dated=True,
        summary_html="",
        summary_text="",
        image=None,
        tags=(),
        source="Example",
        first_seen=DEFAULT_TIME,
    )
    return replace(base, **changes)
