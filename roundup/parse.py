"""Parse one feed body (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into normalised entries.

Bytes in, :class:`ParsedFeed` out: no network, no disk, no clock. JSON Feed is read by
:mod:`roundup.jsonfeed`; RSS and Atom by the strict reader, :mod:`roundup.xmlfeed`, which
takes well-formed documents it can be sure of. Everything else goes to feedparser, built
for broken feeds, with its sanitiser and URI rewriting off (roundup sanitises the entries
that reach an issue itself, see :class:`roundup.models.Entry`). A feed that is broken but
readable keeps what parsed and records a warning; only a body that is no feed at all
raises :class:`ParseError`, with a message that says what to do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from time import struct_time
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXParseException

from roundup.dates import MIN_YEAR
from roundup.entries import FeedContext, build_entry, describe
from roundup.errors import ParseError
from roundup.jsonfeed import is_json_feed, read_json_feed
from roundup.models import Entry, FeedMeta, ParsedFeed
from roundup.normalize import (
    absolute_http_url,
    choose_image,
    clean_title,
    first_image,
    is_http_url,
    prefer_image,
    summary_image,
    tag_names,
    text_to_html,
)
from roundup.xmlfeed import read_feed

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
    strict: bool = True,
) -> ParsedFeed:
    """Parse one feed body into its metadata and normalised entries.

    ``key`` becomes each entry's ``feed``; ``url`` is where the body came from (an http(s)
    URL, or a file path, in which case relative links resolve against the feed's home
    page); ``name`` is the configured display name; ``fetched_at`` (aware UTC) stands in
    for missing dates and caps future ones. The same bytes and ``fetched_at`` always give
    an equal result. Raises :class:`ParseError` when the body is not a feed.

    ``strict=False`` skips the strict reader, so that every XML body goes to feedparser:
    the agreement test and the benchmark compare the two that way.
    """
    context = FeedContext(key=key, url=url, fetched_at=fetched_at, name=name)
    if is_json_feed(body, content_type):
        return read_json_feed(body, context)
    if strict and (parsed := read_feed(body, context, content_type)) is not None:
        return parsed
    return _read_with_feedparser(body, context, content_type)


# --- XML the strict reader declines: feedparser ---------------------------------------


def _read_with_feedparser(
    body: bytes, context: FeedContext, content_type: str | None
) -> ParsedFeed:
    headers = {
        "content-location": context.document_base,
        "content-type": _xml_content_type(content_type),
    }
    parsed = _feedparser(body, headers, context)
    feed = parsed.get("feed", {})
    if not parsed.get("version") and not parsed.get("entries"):
        raise ParseError(context.key, _not_a_feed(body, context.url, parsed))
    meta = FeedMeta(
        title=clean_title(feed.get("title", "")),
        link=absolute_http_url(context.document_base, feed.get("link", "")),
        warnings=_bozo_warnings(parsed, body),
    )
    context.set_feed(meta.title, meta.link)
    feed_author = _author_name(feed)
    entries = tuple(_xml_entry(item, context, feed_author) for item in parsed.get("entries", []))
    return ParsedFeed(meta=meta, entries=entries)


def _feedparser(body: bytes, headers: dict[str, str], context: FeedContext) -> Mapping[str, Any]:
    # Imported here: most feeds never need it, and each parse worker is 8 MB lighter.
    import feedparser

    try:
        parsed: Mapping[str, Any] = feedparser.parse(
            io.BytesIO(body),  # bytes alone may be taken for a file name and opened
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers=headers,
        )
    except Exception as exc:  # feedparser promises never to raise; contain it if it does
        raise ParseError(context.key, f"not a feed: {context.url} ({describe(exc)})") from exc
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
        return describe(exc)
    # feedparser puts its own XML declaration on a new first line when the body has none,
    # so its line numbers are one too high for such bodies.
    line = (exc.getLineNumber() or 1) - (0 if _XML_DECLARATION.match(body) else 1)
    where = f"line {max(line, 1)}, column {exc.getColumnNumber() or 0}"
    return describe(f"{type(exc).__name__}: {exc.getMessage()} at {where}")


def _xml_entry(item: Mapping[str, Any], context: FeedContext, feed_author: str) -> Entry:
    link = absolute_http_url(context.base, item.get("link", ""))
    summary, detail_base = _xml_summary(item)
    base = detail_base if is_http_url(detail_base) else link or context.base
    # A plain .get("updated_parsed") falls back to published_parsed with a DeprecationWarning.
    updated = item.get("updated_parsed") if "updated_parsed" in item else None
    return build_entry(
        context,
        guid=item.get("id"),
        link=link,
        raw_title=item.get("title", ""),
        author=_author_name(item) or feed_author,
        published=_first_date(item.get("published_parsed"), updated),
        summary=summary,
        summary_base=base,
        image=prefer_image(
            _xml_image(item, base),
            lambda: summary_image(summary, base) or next(_content_images(item, base), None),
        ),
        tags=tag_names(tag.get("term") or tag.get("label") for tag in item.get("tags", [])),
    )


def _xml_summary(item: Mapping[str, Any]) -> tuple[str, str]:
    """The entry's summary as HTML, and the base its relative URLs resolve against."""
    details = [item.get("summary_detail"), *item.get("content", [])]
    # An empty summary says nothing: the content, if any, stands in for it.
    detail = next((d for d in details if d and (d.get("value") or "").strip()), None)
    if not detail:
        return "", ""
    value = detail.get("value", "")
    if detail.get("type") == "text/plain":
        value = text_to_html(value)
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
    thumbnails = [_offer(thumb, "url") for thumb in item.get("media_thumbnail", [])]
    media = [
        _offer(content, "url")
        for content in item.get("media_content", [])
        if content.get("medium") == "image" or str(content.get("type", "")).startswith("image/")
    ]
    enclosures = [
        _offer(enclosure, "href")
        for enclosure in item.get("enclosures", [])
        if str(enclosure.get("type", "")).startswith("image/")
    ]
    artwork = item.get("image")
    covers = [_offer(artwork, "href")] if isinstance(artwork, Mapping) else []
    return choose_image(base, [*thumbnails, *media, *enclosures, *covers])


def _offer(node: Mapping[str, Any], name: str) -> tuple[str | None, str, str, str]:
    """(URL, media type, width, height) of a picture feedparser found."""
    url = node.get(name)
    return (
        url if isinstance(url, str) else None,
        str(node.get("type") or ""),
        str(node.get("width") or ""),
        str(node.get("height") or ""),
    )


def _content_images(item: Mapping[str, Any], base: str) -> Iterator[str]:
    # The summary may be a teaser without the picture the full content carries.
    for content in item.get("content", []):
        if content.get("type") != "text/plain" and (
            found := first_image(content.get("value", ""), base)
        ):
            yield found


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
