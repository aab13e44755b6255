"""Helpers for tests of roundup and of code built on it (themes, plugins, scripts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from roundup.models import Entry
from roundup.normalize import text_to_html

DEFAULT_TIME = datetime(2015, 8, 12, 13, 30, tzinfo=UTC)


def make_entry(**changes: Any) -> Entry:
    """An :class:`Entry` with plausible defaults; pass any field to change it.

    ``summary_text=`` (plain text) or ``summary_html=`` set the summary too; the text wins
    when both are given, since it is what selection and drafts read.

    >>> make_entry(title="Minsk, six months on").link
    'https://example.org/story'
    >>> make_entry(summary_text="Talks & terms").summary_text
    'Talks & terms'
    """
    text = changes.pop("summary_text", None)
    markup = changes.pop("summary_html", None)
    if text is not None:
        changes.setdefault("summary", text_to_html(text))
    elif markup is not None:
        changes.setdefault("summary", markup)
    base = Entry(
        feed="https://example.org/feed.xml",
        id="urn:example:story",
        title="A story",
        link="https://example.org/story",
        canonical_url="https://example.org/story",
        author="",
        published=DEFAULT_TIME,
        dated=True,
        summary="",
        summary_base="",
        image=None,
        tags=(),
        source="Example",
        first_seen=DEFAULT_TIME,
    )
    return replace(base, **changes)
