"""The issue as templates see it: every feed string cleaned, every link checked.

:func:`issue_view` turns a :class:`~roundup.models.Draft` into an :class:`IssueView`: titles,
sources and excerpts become plain text (Jinja escapes them), the editor's intro and notes
become sanitised HTML (:func:`markdown_html`) and :class:`~roundup.markdown_blocks.Block`
values for the text part and the post, links become https or nothing, tracking pixels are
dropped. The unsubscribe link carries :data:`roundup.models.UNSUBSCRIBE_TOKEN`, which the
send stage replaces per recipient.

The issue's address (``url``, ``slug``) comes from :mod:`roundup.issue_url`, the one place
that computes it.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

import nh3
from markdown_it.token import Token
from markupsafe import Markup

from roundup import text
from roundup.config import Config, Newsletter
from roundup.i18n import format_date, labels
from roundup.issue_url import issue_slug, post_url
from roundup.markdown_blocks import MARKDOWN, Block, blocks_plain, markdown_tokens, parse_markdown
from roundup.models import UNSUBSCRIBE_TOKEN, Draft, DraftItem

_RTL_LANGUAGES = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ps", "sd", "ug", "ur", "yi"}
)


@dataclass(frozen=True, slots=True)
class CoveredView:
    """Another source's article about the same event, cleaned: "Also covered by <source>"."""

    source: str
    title: str
    url: str  # https link, or "" when unsafe


@dataclass(frozen=True, slots=True)
class ItemView:
    """One item, cleaned: every string is plain text except ``note_html`` (sanitised)."""

    index: int  # position in the whole issue, from 0
    title: str
    url: str  # https link, or "" when the item's link was missing or unsafe
    source: str
    published: date | None  # local date in the newsletter's timezone
    byline: str  # "Source · Aug 14, 2015 · also via X, Y"
    also_via: tuple[str, ...]
    covered_by: tuple[CoveredView, ...]
    excerpt: str  # on one line
    excerpt_blocks: tuple[tuple[str, ...], ...]  # the excerpt's paragraphs, each of lines
    note_html: Markup
    note_blocks: tuple[Block, ...]
    image: str  # https image URL, "" when none or unsafe
    email_image: str  # as ``image``, minus the formats email clients cannot show (H5)


@dataclass(frozen=True, slots=True)
class SectionView:
    """One section with items, cleaned; ``index`` counts the issue's sections from 0."""

    index: int
    name: str
    description: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True, slots=True)
class IssueView:
    """Everything about the issue that does not depend on the email's size budget."""

    newsletter: str  # the newsletter's title
    subject: str
    preheader: str  # the inbox preview text (hidden in the email)
    dek: str  # the editor's preheader, shown under the title ("" when none)
    number: int
    week: str
    date: date  # the last day of the issue's week
    published: str  # ISO 8601 date-time for the post's front matter
    lang: str
    dir: str
    url: str  # the blog post: post_url()
    slug: str
    unsubscribe: str
    postal_address: tuple[str, ...]  # lines
    intro_html: Markup
    intro_blocks: tuple[Block, ...]
    sections: tuple[SectionView, ...]
    item_count: int


def unsubscribe_link(newsletter: Newsletter) -> str:
    """The unsubscribe URL with :data:`UNSUBSCRIBE_TOKEN`, else a ``mailto:`` fallback."""
    if newsletter.unsubscribe_url:
        return newsletter.unsubscribe_url.replace("{token}", UNSUBSCRIBE_TOKEN)
    if newsletter.unsubscribe_mailto:
        mailto = newsletter.unsubscribe_mailto
        return mailto if "?" in mailto else f"{mailto}?subject=unsubscribe"
    return f"mailto:{parseaddr(newsletter.from_addr)[1]}?subject=unsubscribe"


def issue_view(draft: Draft, config: Config) -> IssueView:
    """The issue as templates see it, every item indexed in order across sections."""
    nl = config.newsletter
    words = labels(nl.language)
    counter = itertools.count()  # an item's index runs across sections
    sections = tuple(
        SectionView(
            index=number,
            name=text.clean_line(section.name),
            description=text.clean_line(section.description),
            items=tuple(_item_view(item, next(counter), config, words) for item in section.items),
        )
        for number, section in enumerate(draft.sections)
        if section.items
    )
    intro_blocks = parse_markdown(draft.intro)
    dek = text.clean_line(draft.preheader)
    last_day = draft.window_end.date() - timedelta(days=1)
    midnight = datetime.combine(last_day, time(0), tzinfo=draft.window_end.tzinfo)
    lang = nl.language.replace("_", "-")
    return IssueView(
        newsletter=text.clean_line(nl.title),
        subject=text.clean_line(draft.subject) or text.clean_line(nl.title),
        preheader=dek or _shorten(blocks_plain(intro_blocks), 140),
        dek=dek,
        number=draft.number,
        week=draft.week,
        date=last_day,
        published=midnight.isoformat(),
        lang=lang,
        dir="rtl" if lang.split("-")[0].lower() in _RTL_LANGUAGES else "ltr",
        url=post_url(draft, config),
        slug=issue_slug(draft, config),
        unsubscribe=unsubscribe_link(nl),
        postal_address=tuple(
            line
            for line in (text.clean_line(part) for part in nl.postal_address.splitlines())
            if line
        ),
        intro_html=markdown_html(draft.intro),
        intro_blocks=intro_blocks,
        sections=sections,
        item_count=sum(len(section.items) for section in sections),
    )


def _item_view(item: DraftItem, index: int, config: Config, words: dict[str, str]) -> ItemView:
    nl = config.newsletter
    source = text.clean_line(item.source)
    also_via = tuple(name for name in (text.clean_line(via) for via in item.also_via) if name)
    published = item.published.astimezone(nl.tz).date() if item.published else None
    parts = [source] if source else []
    if published is not None:
        parts.append(_medium_date(published, nl.language))
    if also_via:
        parts.append(f"{words['also_via']} {', '.join(also_via)}")
    image = _image_url(item.image or "")
    title = text.clean_line(item.title)
    return ItemView(
        index=index,
        title=title or text.clean_line(item.link) or source,
        url=text.safe_url(item.link),
        source=source,
        published=published,
        byline=" · ".join(parts),
        also_via=also_via,
        covered_by=tuple(
            CoveredView(source, text.clean_line(coverage.title), text.safe_url(coverage.link))
            for coverage in item.covered_by
            if (source := text.clean_line(coverage.source))
        ),
        excerpt=text.clean_line(item.excerpt),
        excerpt_blocks=text.clean_blocks(item.excerpt),
        note_html=markdown_html(item.note),
        note_blocks=parse_markdown(item.note),
        image=image,
        email_image="" if urlsplit(image).path.lower().endswith((".svg", ".webp")) else image,
    )


@functools.lru_cache(maxsize=1024)
def _medium_date(day: date, language: str) -> str:
    return format_date(day, language, "medium")  # Babel takes 50 µs a call: a week has 7 days


# Known web-bug hosts and file names: a feed's "first image" is sometimes a 1x1 counter.
_TRACKER_HOSTS = (
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "pixel.wp.com",
    "stats.wordpress.com",
    "doubleclick.net",
    "google-analytics.com",
    "pixel.quantserve.com",
    "sb.scorecardresearch.com",
    "feedblitz.com",
    "pi.feedsportal.com",
)
_TRACKER_PATH = re.compile(
    r"(^|/)(pixel|spacer|blank|clear|beacon|track(ing)?|1x1|transparent)[^/]*\.(gif|png)$"
    r"|/(pixel|beacon|track|open)(/|$)",
    re.IGNORECASE,
)
_ONE_PIXEL = re.compile(r"(^|[?&])(w|width|h|height)=1(&|$)", re.IGNORECASE)


def _image_url(url: str) -> str:
    """``url`` if it is an https image that is not a tracking pixel, else ""."""
    url = url.strip()
    if not url.lower().startswith("https://"):
        return ""  # http images are mixed content, and data: URIs are refused (H5)
    safe = text.safe_url(url)
    parts = urlsplit(safe)
    host = (parts.hostname or "").lower()
    tracker = (
        any(host == bad or host.endswith("." + bad) for bad in _TRACKER_HOSTS)
        or _TRACKER_PATH.search(parts.path) is not None
        or _ONE_PIXEL.search(parts.query) is not None
    )
    return "" if tracker else safe


def _shorten(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


# --- Markdown to safe HTML -----------------------------------------------------------------

_NOTE_TAGS = {"p", "br", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr"}
_NOTE_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_BARE_ANCHOR = re.compile(r"<a>(.*?)</a>", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def markdown_html(source: str) -> Markup:
    """The editor's Markdown as sanitised HTML (markdown-it, raw HTML off, then nh3).

    Headings become bold paragraphs, so a note cannot add a second ``<h1>`` (A3); images
    become their alt text (see :func:`roundup.markdown_blocks.markdown_tokens`).
    """
    tokens = markdown_tokens(source)
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.type = token.type.replace("heading", "paragraph")
            token.tag = "p"
            if token.nesting == 1:
                inline = tokens[index + 1]
                inline.children = [
                    Token("strong_open", "strong", 1),
                    *(inline.children or []),
                    Token("strong_close", "strong", -1),
                ]
    rendered = MARKDOWN.renderer.render(tokens, MARKDOWN.options, {})
    cleaned = nh3.clean(
        rendered,
        tags=_NOTE_TAGS,
        attributes=_NOTE_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto"},  # _attribute_filter upgrades http
        link_rel=None,
        strip_comments=True,
    )
    # a link whose URL was refused keeps its words but must not look like a link
    return Markup(_BARE_ANCHOR.sub(r"\1", cleaned).strip())


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return text.safe_url(value, allow_mailto=True) or None
    return value
