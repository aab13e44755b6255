"""What the RSS/Atom and JSON Feed readers share: the parse context and building an Entry.

Links are made absolute (and kept only when http(s)), tags cleaned and de-duplicated, and
dates before :data:`MIN_YEAR` or after the fetch are replaced by the fetch time.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import PurePath
from urllib.parse import urljoin, urlsplit

from roundup.models import Entry
from roundup.normalize import canonical_url, clean_title, entry_id, title_from_text

# Anything before this is a placeholder (Hugo writes 0001-01-01), not a publication date.
MIN_YEAR = 1971
_WARNING_LIMIT = 200


class _Context:
    """What every entry of one parse shares: where it came from and when."""

    def __init__(self, *, key: str, url: str, fetched_at: datetime, name: str | None) -> None:
        self.key = key
        self.url = url
        self.fetched_at = fetched_at.astimezone(UTC)
        self.name = name
        # feedparser resolves links against this; a file path would turn "post/1" into
        # "/srv/feeds/post/1", so local files get no document base at all.
        self.document_base = url if _is_http(url) else ""
        self.home = ""
        self.source = name or ""

    def set_feed(self, title: str, home: str) -> None:
        self.home = home
        self.source = self.name or title or _fallback_name(self.url)

    @property
    def base(self) -> str:
        """The base for relative links: the document URL, else the feed's home page."""
        return self.document_base or self.home


def _describe(exc: object) -> str:
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    return text if len(text) <= _WARNING_LIMIT else text[: _WARNING_LIMIT - 1] + "…"


def _text_to_html(text: str) -> str:
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs if p
    )


def _entry(
    context: _Context,
    *,
    guid: str | None,
    link: str,
    raw_title: str,
    author: str,
    published: datetime | None,
    summary_html: str,
    summary_text: str,
    image: str | None,
    tags: tuple[str, ...],
) -> Entry:
    title = clean_title(raw_title) or title_from_text(summary_text) or link
    dated = published is not None
    moment = min(published, context.fetched_at) if published else context.fetched_at
    return Entry(
        feed=context.key,
        id=entry_id(guid, link, title, summary_text),
        title=title,
        link=link,
        canonical_url=canonical_url(link) if link else "",
        author=author,
        published=moment,
        dated=dated,
        summary_html=summary_html,
        summary_text=summary_text,
        image=image,
        tags=tags,
        source=context.source,
        first_seen=context.fetched_at,
    )


def _absolute(base: str, link: str) -> str:
    """``link`` made absolute against ``base``; "" unless the result is http(s)."""
    link = link.strip() if isinstance(link, str) else ""
    if not link:
        return ""
    try:
        joined = urljoin(base, link) if base else link
    except ValueError:
        return ""  # e.g. a malformed IPv6 host
    return joined if _is_http(joined) else ""


def _first_http(base: str, candidates: Iterable[object]) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and (found := _absolute(base, candidate)):
            return found
    return None


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _terms(values: Iterable[object]) -> tuple[str, ...]:
    """Tag names, cleaned, de-duplicated ignoring case, in their first-seen spelling and order."""
    seen: dict[str, str] = {}
    for value in values:
        if isinstance(value, str) and (term := _clean_term(value)):
            seen.setdefault(term.casefold(), term)
    return tuple(seen.values())


# Feeds repeat their categories entry after entry; clean_title is pure.
_clean_term = functools.lru_cache(maxsize=4096)(clean_title)


def _fallback_name(url: str) -> str:
    if _is_http(url):
        return urlsplit(url).hostname or url
    return PurePath(url).name or url
