"""The published site's feeds: Atom 1.0 (``feed.xml``) and JSON Feed 1.1 (``feed.json``).

Each entry is one published issue with its whole content (the page's ``<main>``, as HTML),
at the issue's public address. Both are deterministic: no clock, only the issues' own
dates. The Atom feed is built with ElementTree, so every string is escaped as XML requires;
characters XML 1.0 forbids are dropped.

Usage::

    atom_feed(config, [FeedIssue(view, "<p>…</p>")])
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from roundup import __version__
from roundup.config import Config
from roundup.issue_view import IssueView

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0


@dataclass(frozen=True, slots=True)
class FeedIssue:
    """One published issue and its content as HTML, newest first in a feed."""

    issue: IssueView
    content_html: str
    image: str = ""


def atom_feed(config: Config, issues: Sequence[FeedIssue]) -> bytes:
    """The Atom 1.0 feed of ``issues`` (in the order given), as UTF-8 bytes."""
    nl = config.newsletter
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: nl.language})
    _text(feed, "id", nl.url)
    _text(feed, "title", nl.title)
    updated = max((entry.issue.published for entry in issues), default="1970-01-01T00:00:00Z")
    _text(feed, "updated", updated)
    ET.SubElement(feed, "link", {"rel": "self", "href": nl.url + "feed.xml"})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": nl.url})
    author = ET.SubElement(feed, "author")
    _text(author, "name", parseaddr(nl.from_addr)[0] or nl.title)
    _text(feed, "generator", "roundup", {"version": __version__})
    for entry in issues:
        issue = entry.issue
        element = ET.SubElement(feed, "entry")
        _text(element, "id", issue.url)
        _text(element, "title", issue.subject)
        _text(element, "updated", issue.published)
        _text(element, "published", issue.published)
        ET.SubElement(element, "link", {"rel": "alternate", "type": "text/html", "href": issue.url})
        if issue.preheader:
            _text(element, "summary", issue.preheader)
        # xml:base: the table of contents' "#section-1" links resolve to the issue's page
        _text(element, "content", entry.content_html, {"type": "html", XML_BASE: issue.url})
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def json_feed(config: Config, issues: Sequence[FeedIssue]) -> bytes:
    """The JSON Feed 1.1 of ``issues`` (in the order given), as UTF-8 bytes."""
    nl = config.newsletter
    items = []
    for entry in issues:
        issue = entry.issue
        item: dict[str, object] = {
            "id": issue.url,
            "url": issue.url,
            "title": issue.subject,
            "content_html": entry.content_html,
            "date_published": issue.published,
            "language": issue.lang,
        }
        if issue.preheader:
            item["summary"] = issue.preheader
        if entry.image:
            item["image"] = entry.image
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": nl.title,
        "home_page_url": nl.url,
        "feed_url": nl.url + "feed.json",
        "language": nl.language,
        "authors": [{"name": parseaddr(nl.from_addr)[0] or nl.title}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _text(
    parent: ET.Element, tag: str, value: str, attrib: dict[str, str] | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib or {})
    element.text = _NOT_XML.sub("", value)
    return element
