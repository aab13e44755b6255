"""Parse one feed body (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into normalised entries.

Bytes in, :class:`ParsedFeed` out: no network, no disk, no clock. XML goes through
feedparser with its own sanitiser and URI rewriting switched off (nh3 does that job far
faster, see :func:`roundup.normalize.sanitize_html`), or, for well-formed RSS and Atom,
through :mod:`roundup.fastxml`, which gives the same result several times faster; JSON
Feed is read by :mod:`roundup.jsonfeed` because feedparser returns no entries for it. A
feed that is broken but readable keeps what parsed and records a warning; only a body that
is no feed at all raises :class:`ParseError`, with a message that says what to do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from time import struct_time
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXParseException

import feedparser

from roundup import fastxml
from roundup.entries import (
    MIN_YEAR,
    _absolute,
    _Context,
    _describe,
    _entry,
    _first_http,
    _is_http,
    _terms,
    _text_to_html,
)
from roundup.errors import ParseError
from roundup.jsonfeed import _is_json_feed, _parse_json
from roundup.models import Entry, FeedMeta, ParsedFeed
from roundup.normalize import clean_title, first_image, html_to_text, sanitize_html

FEED_LINK_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
)
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?>")
_END_BR = re.compile(r"</br\s*>", re.IGNORECASE)


def parse_feed(
    body: bytes,
    *,
    key: str,
    url: str,
    fetched_at: datetime,
    name: str | None = None,
    content_type: str | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Parse one feed body into its metadata and normalised entries.

    ``key`` becomes each entry's ``feed``; ``url`` is where the body came from (an http(s)
    URL, or a file path, in which case relative links resolve against the feed's home
    page); ``name`` is the configured display name; ``fetched_at`` (aware UTC) stands in
    for missing dates and caps future ones. The same bytes and ``fetched_at`` always give
    an equal result. Raises :class:`ParseError` when the body is not a feed.

    Well-formed RSS and Atom take :mod:`roundup.fastxml`, which gives exactly what
    feedparser would or declines; ``fast=False`` always runs feedparser (for comparisons).
    """
    context = _Context(key=key, url=url, fetched_at=fetched_at, name=name)
    if _is_json_feed(body, content_type):
        return _parse_json(body, context)
    return _parse_xml(body, context, content_type, fast=fast)


# --- XML: RSS and Atom through feedparser ---------------------------------------------


def _parse_xml(
    body: bytes, context: _Context, content_type: str | None, *, fast: bool
) -> ParsedFeed:
    headers = {
        "content-location": context.document_base,
        "content-type": _xml_content_type(content_type),
    }
    parsed: Mapping[str, Any] | None = fastxml.parse(body, headers) if fast else None
    if parsed is None:
        parsed = _feedparser(body, headers, context)
    feed = parsed.get("feed", {})
    if not parsed.get("version") and not parsed.get("entries"):
        raise ParseError(context.key, _not_a_feed(body, context.url, parsed))
    meta = FeedMeta(
        title=clean_title(feed.get("title", "")),
        link=_absolute(context.document_base, feed.get("link", "")),
        warnings=_bozo_warnings(parsed, body),
    )
    context.set_feed(meta.title, meta.link)
    feed_author = _author_name(feed)
    entries = tuple(_xml_entry(item, context, feed_author) for item in parsed.get("entries", []))
    return ParsedFeed(meta=meta, entries=entries)


def _feedparser(body: bytes, headers: dict[str, str], context: _Context) -> Mapping[str, Any]:
    try:
        parsed: Mapping[str, Any] = feedparser.parse(
            io.BytesIO(body),  # bytes alone may be taken for a file name and opened
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers=headers,
        )
    except Exception as exc:  # feedparser promises never to raise; contain it if it does
        raise ParseError(context.key, f"not a feed: {context.url} ({_describe(exc)})") from exc
    return parsed


def _xml_content_type(content_type: str | None) -> str:
    """The content type to tell feedparser, so that it picks the encoding a reader would.

    Without one feedparser assumes ISO-8859-1 and flags every local file; for ``text/xml``
    without a charset it follows RFC 3023 (US-ASCII), which RFC 7303 has since replaced by
    "read the XML declaration". ``application/xml`` gets that behaviour in both cases.
    """
    if not content_type:
        return "application/xml"
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    is_text_xml = media_type == "text/xml" or (
        media_type.startswith("text/") and media_type.endswith("+xml")
    )
    if is_text_xml and "charset" not in parameters.lower():
        return "application/xml"
    return content_type


def _bozo_warnings(parsed: Mapping[str, Any], body: bytes) -> tuple[str, ...]:
    if not parsed.get("bozo"):
        return ()
    return (_describe_bozo(parsed.get("bozo_exception"), body),)


def _describe_bozo(exc: object, body: bytes) -> str:
    if not isinstance(exc, SAXParseException):
        return _describe(exc)
    # feedparser puts its own XML declaration on a new first line when the body has none,
    # so its line numbers are one too high for such bodies.
    line = (exc.getLineNumber() or 1) - (0 if _XML_DECLARATION.match(body) else 1)
    where = f"line {max(line, 1)}, column {exc.getColumnNumber() or 0}"
    return _describe(f"{type(exc).__name__}: {exc.getMessage()} at {where}")


def _xml_entry(item: Mapping[str, Any], context: _Context, feed_author: str) -> Entry:
    link = _absolute(context.base, item.get("link", ""))
    raw, detail_base = _xml_summary(item)
    base = detail_base if _is_http(detail_base) else link or context.base
    summary_html = sanitize_html(raw, base)
    summary_text = html_to_text(summary_html)
    # A plain .get("updated_parsed") falls back to published_parsed with a DeprecationWarning.
    updated = item.get("updated_parsed") if "updated_parsed" in item else None
    published = _first_date(item.get("published_parsed"), updated)
    return _entry(
        context,
        guid=item.get("id"),
        link=link,
        raw_title=item.get("title", ""),
        author=_author_name(item) or feed_author,
        published=published,
        summary_html=summary_html,
        summary_text=summary_text,
        image=_xml_image(item, base) or _content_image(summary_html, item, base),
        tags=_terms(tag.get("term") or tag.get("label") for tag in item.get("tags", [])),
    )


def _xml_summary(item: Mapping[str, Any]) -> tuple[str, str]:
    """The entry's summary as HTML, and the base its relative URLs resolve against."""
    detail = item.get("summary_detail") or next(iter(item.get("content", [])), None)
    if not detail:
        return "", ""
    value = detail.get("value", "")
    if detail.get("type") == "text/plain":
        value = _text_to_html(value)
    # Unsanitised, feedparser writes <br/> back as <br></br>, and an HTML parser reads the
    # stray end tag as a second line break; its own sanitiser (the slow path) drops it.
    return _END_BR.sub("", value), detail.get("base", "")


def _author_name(node: Mapping[str, Any]) -> str:
    detail = node.get("author_detail") or {}
    return clean_title(detail.get("name") or node.get("author") or "")


def _first_date(*candidates: struct_time | None) -> datetime | None:
    for value in candidates:
        if value is None:
            continue
        try:
            # feedparser's *_parsed are UTC; a leap second (60) is not a datetime
            moment = datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if moment.year >= MIN_YEAR:
            return moment
    return None


def _xml_image(item: Mapping[str, Any], base: str) -> str | None:
    thumbnails = [thumb.get("url") for thumb in item.get("media_thumbnail", [])]
    media = [
        content.get("url")
        for content in item.get("media_content", [])
        if content.get("medium") == "image" or str(content.get("type", "")).startswith("image/")
    ]
    enclosures = [
        enclosure.get("href")
        for enclosure in item.get("enclosures", [])
        if str(enclosure.get("type", "")).startswith("image/")
    ]
    return _first_http(base, [*thumbnails, *media, *enclosures])


def _content_image(summary_html: str, item: Mapping[str, Any], base: str) -> str | None:
    if found := first_image(summary_html, base):
        return found
    # The summary may be a teaser without the picture the full content carries.
    for content in item.get("content", []):
        if content.get("type") != "text/plain" and (
            found := first_image(content.get("value", ""), base)
        ):
            return found
    return None


# --- not a feed -----------------------------------------------------------------------


def _not_a_feed(body: bytes, url: str, parsed: Mapping[str, Any]) -> str:
    if not body.strip():
        return f"not a feed: {url} is empty"
    if _HTML_START.search(body[:4096]):
        alternate = _alternate_link(body, url)
        if alternate:
            return (
                f'not a feed: {url} is an HTML page; its <link rel="alternate"> points to '
                f"{alternate} — use that URL in feeds.yaml"
            )
        return f"not a feed: {url} is an HTML page with no feed link; check the URL"
    if parsed.get("bozo"):
        reason = _describe_bozo(parsed.get("bozo_exception"), body)
    else:
        reason = "no RSS, Atom or JSON Feed elements found"
    return f"not a feed: {url} ({reason})"


def _alternate_link(body: bytes, url: str) -> str:
    finder = _FeedLinkFinder()
    try:
        finder.feed(body.decode("utf-8", errors="replace"))
        finder.close()
    except AssertionError:  # html.parser's reaction to some broken markup
        pass
    if not finder.href:
        return ""
    base = urljoin(url, finder.base) if finder.base else url
    return urljoin(base, finder.href)


class _FeedLinkFinder(HTMLParser):
    """Finds the first ``<link rel="alternate">`` to a feed, and any ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href = ""
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip() for name, value in attrs}
        if tag == "base" and not self.base:
            self.base = values.get("href", "")
        if tag != "link" or self.href:
            return
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in FEED_LINK_TYPES and values.get("href"):
            self.href = values["href"]
