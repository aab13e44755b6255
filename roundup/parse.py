"""Parse one feed body (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x) into normalised entries.

Bytes in, :class:`ParsedFeed` out: no network, no disk, no clock. XML goes through
feedparser with its own sanitiser and URI rewriting switched off (nh3 does that job far
faster, see :func:`roundup.normalize.sanitize_html`), or, for well-formed RSS and Atom,
through :mod:`roundup.fastxml`, which gives the same result several times faster; JSON
Feed is read here because feedparser returns no entries for it. A feed that is broken but
readable keeps what parsed and records a warning; only a body that is no feed at all raises
:class:`ParseError`, with a message that says what to do.
"""

from __future__ import annotations

import functools
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import PurePath
from time import struct_time
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser

from roundup import fastxml
from roundup.errors import ParseError
from roundup.models import Entry, FeedMeta, ParsedFeed
from roundup.normalize import (
    canonical_url,
    clean_title,
    entry_id,
    first_image,
    html_to_text,
    sanitize_html,
    title_from_text,
)

# Anything before this is a placeholder (Hugo writes 0001-01-01), not a publication date.
MIN_YEAR = 1971
JSON_TYPES = ("application/feed+json", "application/json")
FEED_LINK_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
)
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?>")
_WARNING_LIMIT = 200
_END_BR = re.compile(r"</br\s*>", re.IGNORECASE)

Json = dict[str, Any]  # a JSON object, as json.loads returns it


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


def _describe(exc: object) -> str:
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    return text if len(text) <= _WARNING_LIMIT else text[: _WARNING_LIMIT - 1] + "…"


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


def _text_to_html(text: str) -> str:
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs if p
    )


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


# --- JSON Feed 1.0 / 1.1 --------------------------------------------------------------


def _is_json_feed(body: bytes, content_type: str | None) -> bool:
    start = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"{"):
        return True  # no XML document starts with a brace; a JSON Feed always does
    declared = (content_type or "").split(";")[0].strip().lower()
    return declared in JSON_TYPES and not start.startswith(b"<")  # XML served as JSON is XML


def _parse_json(body: bytes, context: _Context) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = f"invalid JSON ({_describe(exc)})"
        raise ParseError(context.key, f"not a feed: {context.url}: {reason}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not (isinstance(version, str) and "jsonfeed.org/version/1" in version):
        reason = "JSON without a jsonfeed.org version, not a JSON Feed"
        raise ParseError(context.key, f"not a feed: {context.url}: {reason}")
    home = _absolute(context.document_base, _string(document.get("home_page_url")))
    meta = FeedMeta(title=clean_title(_string(document.get("title"))), link=home)
    context.set_feed(meta.title, meta.link)
    items = document.get("items")
    items = items if isinstance(items, list) else []
    feed_author = _json_author(document)
    entries = tuple(
        _json_entry(item, context, feed_author) for item in items if isinstance(item, dict)
    )
    skipped = len(items) - len(entries)
    if skipped:
        note = f"JSON Feed: skipped {skipped} item(s) that are not objects"
        meta = FeedMeta(title=meta.title, link=meta.link, warnings=(note,))
    return ParsedFeed(meta=meta, entries=entries)


def _json_entry(item: Json, context: _Context, feed_author: str) -> Entry:
    # JSON Feed has no xml:base: the site's home page is the natural base for its links,
    # and the item's own page (not an external_url, which is another site) for its HTML.
    site = context.home or context.base
    url = _absolute(site, _string(item.get("url")))
    link = url or _absolute(site, _string(item.get("external_url")))
    base = url or site
    summary_html = _json_summary(item, base)
    published = _first_date_text(item.get("date_published"), item.get("date_modified"))
    images = [item.get("image"), item.get("banner_image"), *_json_image_attachments(item)]
    tags = item.get("tags")
    return _entry(
        context,
        guid=_json_id(item.get("id")),
        link=link,
        raw_title=_string(item.get("title")),
        author=_json_author(item) or feed_author,
        published=published,
        summary_html=summary_html,
        summary_text=html_to_text(summary_html),
        image=_first_http(base, [_string(image) for image in images])
        or first_image(summary_html, base)
        or first_image(_string(item.get("content_html")), base),
        tags=_terms(_string(tag) for tag in (tags if isinstance(tags, list) else [])),
    )


def _json_summary(item: Json, base: str) -> str:
    # JSON Feed's summary and content_text are plain text; only content_html is HTML.
    if summary := _string(item.get("summary")).strip():
        return sanitize_html(_text_to_html(summary), base)
    if content := _string(item.get("content_html")):
        return sanitize_html(content, base)
    return sanitize_html(_text_to_html(_string(item.get("content_text"))), base)


def _json_id(value: object) -> str | None:
    # The spec says string, but numbers are common; true/false/objects are no id.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _json_author(node: Json) -> str:
    authors = node.get("authors")
    candidates = authors if isinstance(authors, list) else [node.get("author")]  # 1.1 / 1.0
    for author in candidates:
        if isinstance(author, dict) and (name := clean_title(_string(author.get("name")))):
            return name
    return ""


def _json_image_attachments(item: Json) -> list[object]:
    attachments = item.get("attachments")
    return [
        attachment.get("url")
        for attachment in (attachments if isinstance(attachments, list) else [])
        if isinstance(attachment, dict)
        and _string(attachment.get("mime_type")).startswith("image/")
    ]


def _first_date_text(*candidates: object) -> datetime | None:
    for value in candidates:
        moment = _parse_date_text(value) if isinstance(value, str) else None
        if moment is not None and moment.year >= MIN_YEAR:
            return moment
    return None


def _parse_date_text(text: str) -> datetime | None:
    """An RFC 3339 date (or, as some generators write, an RFC 822 one) in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # no offset given: read it as UTC
    return moment.astimezone(UTC)


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- shared ---------------------------------------------------------------------------


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
