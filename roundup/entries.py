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
    cap_text,
    clean_title,
    entry_id,
    is_http_url,
    summary_text,
    summary_title,
)
from roundup.sources import source_name

_WARNING_LIMIT = 200
# What one entry may bring into the store and the issue. A hostile feed can send a 10 MB
# title; without these caps it would reach draft.yaml, every output and every subscriber.
TITLE_LIMIT = 300  # characters, cut at a word break
AUTHOR_LIMIT = 120
SOURCE_LIMIT = 120
URL_LIMIT = 4_096  # a longer link or image URL is dropped, not cut (a cut URL is wrong)
TAG_LIMIT = 60  # characters per tag
TAGS_PER_ENTRY = 25
ENTRIES_PER_FETCH = 1_000  # the newest are kept


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
        name = (
            clean_title(self.name or "")
            or source_name(clean_title(title))
            or _fallback_name(self.url)
        )
        self.source = cap_text(name, SOURCE_LIMIT)

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
    link = link if len(link) <= URL_LIMIT else ""
    title = clean_title(raw_title) or summary_title(summary, summary_base) or link
    title = cap_text(title, TITLE_LIMIT)
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
        author=cap_text(clean_title(author), AUTHOR_LIMIT) if author else "",
        published=moment,
        dated=published is not None,
        summary=summary[:SUMMARY_LIMIT],
        summary_base=summary_base,
        image=image if image is None or len(image) <= URL_LIMIT else None,
        tags=tuple(cap_text(tag, TAG_LIMIT) for tag in tags[:TAGS_PER_ENTRY]),
        source=context.source,
        first_seen=context.fetched_at,
    )


def _fallback_name(url: str) -> str:
    if is_http_url(url):
        return urlsplit(url).hostname or url
    return PurePath(url).name or url


def keep_newest(entries: tuple[Entry, ...], limit: int = ENTRIES_PER_FETCH) -> tuple[Entry, ...]:
    """At most ``limit`` entries of one fetch: the newest, in the feed's own order."""
    if len(entries) <= limit:
        return entries
    newest = sorted(range(len(entries)), key=lambda i: entries[i].published, reverse=True)
    kept = set(newest[:limit])
    return tuple(entry for i, entry in enumerate(entries) if i in kept)
