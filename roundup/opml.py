"""``roundup import-opml``: add the feeds of an OPML export to feeds.yaml.

The file is edited as a round trip (ruamel.yaml), so the comments and layout of the
existing feeds.yaml survive. Outline folders (or an outline's ``category`` attribute) become
sections. The result is validated before it replaces the old file, atomically.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from roundup.atomic import write_atomic
from roundup.config import parse_config
from roundup.errors import ConfigError


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str
    category: str | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    skipped: int
    new_sections: tuple[str, ...]


def read_opml(data: bytes, source: str) -> list[OpmlFeed]:
    """The feeds of an OPML document, with the folder (or category) each sits in."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError(f"{source}: not a valid OPML file ({exc})") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{source}: not an OPML file (expected <opml><body>...)")
    return list(_walk(body, None))


def _walk(node: ET.Element, folder: str | None) -> Iterator[OpmlFeed]:
    for outline in node.findall("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            yield OpmlFeed(url, label, folder or _category(outline.get("category")))
        else:
            yield from _walk(outline, label or folder)


def _category(raw: str | None) -> str | None:
    """OPML 2.0 ``category="/News/World,/Other"``: the first path's first part."""
    if not raw:
        return None
    first = raw.split(",")[0].strip().strip("/").split("/")[0].strip()
    return first or None


def import_opml(config_path: Path, opml_path: Path) -> ImportResult:
    """Append the OPML file's new feeds (and sections) to feeds.yaml, keeping its comments."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of the bundled feeds.yaml
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read it ({exc})") from None
    # refuse a file that is invalid (anchors and aliases included) before the round trip reads it
    parse_config(text, config_path)
    doc = yaml.load(text)
    feeds = read_opml(opml_path.read_bytes(), str(opml_path))
    result = _merge(doc, feeds)
    out = io.StringIO()
    yaml.dump(doc, out)
    new_text = out.getvalue()
    parse_config(new_text, config_path)
    write_atomic(config_path, new_text)
    return result


def _merge(doc: CommentedMap, feeds: list[OpmlFeed]) -> ImportResult:
    if doc.get("feeds") is None:
        doc["feeds"] = CommentedSeq()
    if doc.get("sections") is None and any(feed.category for feed in feeds):
        doc.insert(list(doc.keys()).index("feeds"), "sections", CommentedSeq())
    existing = {str(item.get("url")) for item in doc["feeds"]}
    sections = {str(item.get("name")) for item in doc.get("sections") or ()}
    new_sections: list[str] = []
    added = skipped = 0
    for feed in feeds:
        if feed.url in existing:
            skipped += 1
            continue
        existing.add(feed.url)
        item = CommentedMap(url=feed.url)
        if feed.title:
            item["name"] = feed.title
        if feed.category:
            if feed.category not in sections:
                sections.add(feed.category)
                new_sections.append(feed.category)
                doc["sections"].append(CommentedMap(name=feed.category))
            item["section"] = feed.category
        doc["feeds"].append(item)
        added += 1
    return ImportResult(added, skipped, tuple(new_sections))
