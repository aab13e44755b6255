"""Building an Entry: what every feed reader (RSS/Atom, JSON Feed, feedparser's) shares.

A reader finds an entry's fields in its format; :func:`build_entry` turns them into the
:class:`~roundup.models.Entry` roundup stores, the same way whatever the format: a title
for untitled posts, a stable id, the canonical URL, the date capped at the fetch time (or
the fetch time when the entry has none), the summary capped in size and kept unsanitised
for the entries that reach an issue to sanitise (see :class:`~roundup.models.Entry`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from roundup.models import Entry
from roundup.normalize import (
    SUMMARY_LIMIT,
    canonical_url,
    clean_title,
    entry_id,
    is_http_url,
    summary_text,
    summary_title,
)

_WARNING_LIMIT = 200


class FeedContext:
    """What every entry of one parse shares: where the feed came from, when, and its name.

    ``key`` becomes each entry's ``feed``; ``url`` is where the body came from (an http(s)
    URL, or a local file's path); ``name`` is the configured display name, if any.
    """

    def __init__(self, *, key: str, url: str, fetched_at: datetime, name: str | None) -> None:
        self.key = key
        self.url = url
        self.fetched_at = fetched_at.astimezone(UTC)
        self.name = name
        # Relative links resolve against the document's URL; a file path would turn
        # "post/1" into "/srv/feeds/post/1", so a local file gives no document base.
        self.document_base = url if is_http_url(url) else ""
        self.home = ""
        self.source = name or ""

    def set_feed(self, title: str, home: str) -> None:
        """Record the feed's own title and home page, once the reader has found them."""
        self.home = home
        self.source = self.name or title or _fallback_name(self.url)

    @property
    def base(self) -> str:
        """The base for relative links: the document URL, else the feed's home page."""
        return self.document_base or self.home


def describe(problem: object) -> str:
    """One short line for a warning or an error reason: an exception's type and message."""
    if isinstance(problem, BaseException):
        text = f"{type(problem).__name__}: {problem}"
    else:
        text = str(problem)
    return text if len(text) <= _WARNING_LIMIT else text[: _WARNING_LIMIT - 1] + "…"


def build_entry(
    context: FeedContext,
    *,
    guid: str | None,
    link: str,
    raw_title: str,
    author: str,
    published: datetime | None,
    summary: str,
    summary_base: str,
    image: str | None,
    tags: tuple[str, ...],
) -> Entry:
    """An :class:`Entry` from what a reader found; ``summary`` is HTML, unsanitised.

    ``link`` is already absolute http(s) or ""; ``published`` is aware, or None when the
    entry has no usable date; ``summary_base`` is what relative URLs in ``summary`` resolve
    against.
    """
    title = clean_title(raw_title) or summary_title(summary, summary_base) or link
    canonical = canonical_url(link) if link else ""
    # entry_id's rule, with the canonical link worked out once: the guid, else the link;
    # only an entry with neither is identified by its text, so read it only then.
    if guid and (stripped := guid.strip()):
        identity = stripped
    elif link.strip():
        identity = canonical
    else:
        identity = entry_id(None, None, title, summary_text(summary, summary_base))
    moment = min(published, context.fetched_at) if published else context.fetched_at
    return Entry(
        feed=context.key,
        id=identity,
        title=title,
        link=link,
        canonical_url=canonical,
        author=author,
        published=moment,
        dated=published is not None,
        summary=summary[:SUMMARY_LIMIT],
        summary_base=summary_base,
        image=image,
        tags=tags,
        source=context.source,
        first_seen=context.fetched_at,
    )


def _fallback_name(url: str) -> str:
    if is_http_url(url):
        return urlsplit(url).hostname or url
    return PurePath(url).name or url
