"""JSON Feed 1.0 and 1.1: feedparser returns no entries for it, so it is read here.

The spec says strings; real feeds send numbers for ids, 1.0's ``author`` beside 1.1's
``authors``, and RFC 822 dates, all of which are accepted.
"""

from __future__ import annotations

import json
from typing import Any

from roundup.dates import first_date
from roundup.entries import FeedContext, build_entry, describe
from roundup.errors import ParseError
from roundup.models import Entry, FeedMeta, ParsedFeed
from roundup.normalize import (
    absolute_http_url,
    choose_image,
    clean_title,
    first_image,
    prefer_image,
    summary_image,
    tag_names,
    text_to_html,
)

JSON_TYPES = ("application/feed+json", "application/json")

Json = dict[str, Any]  # a JSON object, as json.loads returns it


def is_json_feed(body: bytes, content_type: str | None) -> bool:
    """Whether ``body`` is to be read as a JSON Feed rather than XML."""
    start = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"{"):
        return True  # no XML document starts with a brace; a JSON Feed always does
    declared = (content_type or "").split(";")[0].strip().lower()
    return declared in JSON_TYPES and not start.startswith(b"<")  # XML served as JSON is XML


def read_json_feed(body: bytes, context: FeedContext) -> ParsedFeed:
    """The JSON Feed in ``body``; raises :class:`ParseError` when it is none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = f"invalid JSON ({describe(exc)})"
        raise ParseError(context.key, f"not a feed: {context.url}: {reason}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not (isinstance(version, str) and "jsonfeed.org/version/1" in version):
        reason = "JSON without a jsonfeed.org version, not a JSON Feed"
        raise ParseError(context.key, f"not a feed: {context.url}: {reason}")
    home = absolute_http_url(context.document_base, _string(document.get("home_page_url")))
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


def _json_entry(item: Json, context: FeedContext, feed_author: str) -> Entry:
    # JSON Feed has no xml:base: the site's home page is the natural base for its links,
    # and the item's own page (not an external_url, which is another site) for its HTML.
    site = context.home or context.base
    url = absolute_http_url(site, _string(item.get("url")))
    link = url or absolute_http_url(site, _string(item.get("external_url")))
    base = url or site
    summary = _json_summary(item)
    images = [
        (_string(item.get("image")), "", "", ""),
        (_string(item.get("banner_image")), "", "", ""),
        *_json_image_attachments(item),
    ]
    tags = item.get("tags")
    return build_entry(
        context,
        guid=_json_id(item.get("id")),
        link=link,
        raw_title=_string(item.get("title")),
        author=_json_author(item) or feed_author,
        published=first_date(_string(item.get(name)) for name in _DATES),
        summary=summary,
        summary_base=base,
        image=prefer_image(
            choose_image(base, images),
            lambda: (
                summary_image(summary, base) or first_image(_string(item.get("content_html")), base)
            ),
        ),
        tags=tag_names(_string(tag) for tag in (tags if isinstance(tags, list) else [])),
    )


_DATES = ("date_published", "date_modified")


def _json_summary(item: Json) -> str:
    """The item's summary as HTML, unsanitised."""
    # JSON Feed's summary and content_text are plain text; only content_html is HTML.
    if summary := _string(item.get("summary")).strip():
        return text_to_html(summary)
    if content := _string(item.get("content_html")):
        return content
    return text_to_html(_string(item.get("content_text")))


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


def _json_image_attachments(item: Json) -> list[tuple[str | None, str, str, str]]:
    attachments = item.get("attachments")
    return [
        (_string(attachment.get("url")), _string(attachment.get("mime_type")), "", "")
        for attachment in (attachments if isinstance(attachments, list) else [])
        if isinstance(attachment, dict)
        and _string(attachment.get("mime_type")).startswith("image/")
    ]


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
