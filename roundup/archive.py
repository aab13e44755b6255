"""The archive of past issues: ``<output_dir>/index.html`` and its Atom feed ``feed.xml``.

The caller gathers the issues (drafts and the store's records); this module only writes.
Both files are deterministic: the same issues give the same bytes. The page is rendered
by the theme's ``archive.html`` when the given Jinja environment has one, else by the
built-in template below; either way with autoescaping. The feed is built with
ElementTree, so every title and summary is escaped as XML requires.

Usage::

    write_archive(config.output_dir, config, [
        SentIssue("2015-W33", 12, "Roundup #12", date(2015, 8, 14),
                     "https://example.org/roundup/2015-W33/", "Ten stories this week"),
    ])
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from roundup import __version__
from roundup.atomic import write_atomic
from roundup.config import Config
from roundup.errors import RenderError
from roundup.i18n import format_date, labels
from roundup.publisher import SentIssue

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
THEME_TEMPLATE = "archive.html"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0

ARCHIVE_TEMPLATE = """\
<!DOCTYPE html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="alternate" type="application/atom+xml" title="{{ title }}" href="{{ feed_href }}">
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.5;
       max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
ul.issues { list-style: none; padding: 0; }
ul.issues li { margin: 0 0 1.5rem; }
h2 { font-size: 1.2rem; margin: 0; }
.meta { color: #57606a; margin: 0.25rem 0; }
</style>
</head>
<body>
<header><h1>{{ title }}</h1></header>
<main>
<ul class="issues">
{%- for issue in issues %}
<li><article>
<h2><a href="{{ issue.post_url }}">{{ issue.subject }}</a></h2>
<p class="meta">{{ labels.issue }} {{ issue.number }} ·
<time datetime="{{ issue.iso_date }}">{{ issue.display_date }}</time></p>
{%- if issue.summary %}
<p>{{ issue.summary }}</p>
{%- endif %}
</article></li>
{%- endfor %}
</ul>
</main>
<footer><p><a href="{{ feed_href }}">Atom</a></p></footer>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class _Listed:
    """What a template sees of an issue: the record plus its formatted dates."""

    week: str
    number: int
    subject: str
    post_url: str
    summary: str
    iso_date: str
    display_date: str


class ArchivePublisher:
    """The default :class:`~roundup.publisher.Publisher`: index.html and feed.xml."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def publish(self, issues: Sequence[SentIssue]) -> list[Path]:
        """Rewrite the archive pages from ``issues``; returns their paths."""
        return list(write_archive(self.config.output_dir, self.config, issues))


def from_config(config: Config) -> ArchivePublisher:
    """The archive publisher for ``config``."""
    return ArchivePublisher(config)


def write_archive(
    output_dir: Path,
    config: Config,
    issues: Sequence[SentIssue],
    *,
    env: jinja2.Environment | None = None,
) -> tuple[Path, Path]:
    """Write ``index.html`` and ``feed.xml`` into ``output_dir``; returns their paths."""
    ordered = newest_first(issues, config)
    index, feed = output_dir / "index.html", output_dir / "feed.xml"
    html = render_index(config, ordered, env=env)
    xml = atom_feed(config, ordered)
    try:
        write_atomic(index, html)
        write_atomic(feed, xml)
    except OSError as exc:
        raise RenderError(f"{output_dir}: cannot write the archive ({exc})") from None
    return index, feed


def newest_first(issues: Sequence[SentIssue], config: Config) -> list[SentIssue]:
    tz = config.newsletter.tz
    return sorted(issues, key=lambda issue: (_moment(issue, tz), issue.number), reverse=True)


def render_index(
    config: Config, issues: Sequence[SentIssue], *, env: jinja2.Environment | None = None
) -> str:
    """The archive page, ``issues`` in the order given."""
    nl = config.newsletter
    listed = [
        _Listed(
            week=issue.week,
            number=issue.number,
            subject=issue.subject,
            post_url=issue.post_url,
            summary=issue.summary,
            iso_date=_day(issue).isoformat(),
            display_date=format_date(_day(issue), nl.language),
        )
        for issue in issues
    ]
    template = _template(env)
    try:
        return template.render(
            title=nl.title,
            language=nl.language,
            labels=labels(nl.language),
            feed_href="feed.xml",
            issues=listed,
        )
    except jinja2.TemplateError as exc:
        raise RenderError(f"{THEME_TEMPLATE}: {exc}") from None


def atom_feed(config: Config, issues: Sequence[SentIssue]) -> bytes:
    """The Atom 1.0 feed of ``issues`` (in the order given), as UTF-8 bytes."""
    nl = config.newsletter
    tz = nl.tz
    moments = [_moment(issue, tz) for issue in issues]
    # Unqualified tags under an explicit default namespace: ElementTree's
    # default_namespace option refuses the unqualified attributes Atom uses.
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: nl.language})
    _text(feed, "id", nl.url)
    _text(feed, "title", nl.title)
    _text(feed, "updated", _rfc3339(max(moments, default=datetime(1970, 1, 1, tzinfo=UTC))))
    ET.SubElement(feed, "link", {"rel": "self", "href": nl.url + "feed.xml"})
    ET.SubElement(feed, "link", {"rel": "alternate", "href": nl.url})
    author = ET.SubElement(feed, "author")
    _text(author, "name", parseaddr(nl.from_addr)[0] or nl.title)
    _text(feed, "generator", "roundup", {"version": __version__})
    for issue, moment in zip(issues, moments, strict=True):
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", issue.post_url)
        _text(entry, "title", issue.subject)
        _text(entry, "updated", _rfc3339(moment))
        _text(entry, "published", _rfc3339(moment))
        ET.SubElement(entry, "link", {"rel": "alternate", "href": issue.post_url})
        if issue.summary:
            _text(entry, "summary", issue.summary)
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _template(env: jinja2.Environment | None) -> jinja2.Template:
    if env is not None:
        try:
            return env.get_template(THEME_TEMPLATE)
        except jinja2.TemplateNotFound:
            pass
    builtin = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return builtin.from_string(ARCHIVE_TEMPLATE)


def _text(
    parent: ET.Element, tag: str, value: str, attrib: dict[str, str] | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib or {})
    element.text = _NOT_XML.sub("", value)
    return element


def _day(issue: SentIssue) -> date:
    return issue.date.date() if isinstance(issue.date, datetime) else issue.date


def _moment(issue: SentIssue, tz: ZoneInfo) -> datetime:
    """An aware instant for the issue: its datetime, or its day's midnight in the list's zone."""
    if isinstance(issue.date, datetime):
        return issue.date if issue.date.tzinfo else issue.date.replace(tzinfo=tz)
    return datetime.combine(issue.date, time(0), tzinfo=tz)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
