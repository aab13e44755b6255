"""The issue as templates see it: every feed string cleaned, every link checked.

:func:`issue_view` turns a :class:`~roundup.models.Draft` into an :class:`IssueView`: titles,
sources and excerpts become plain text (Jinja escapes them), the editor's intro and notes
become sanitised HTML (:func:`markdown_html`) and :class:`~roundup.markdown_blocks.Block`
values for the text part and the post, links become https or nothing (and lose their
tracking parameters), tracking pixels are dropped. The unsubscribe link carries
:data:`roundup.models.UNSUBSCRIBE_TOKEN`, which the send stage replaces per recipient.

What a reader sees first is decided here too: the masthead's headline
(:func:`issue_headline`, empty when the subject only repeats the name and date), the inbox
preview (:func:`issue_preheader`, a sentence, never joined titles), each item's byline
("Source · by Jane Doe · Aug 14, 2015 · 4 min read") and, in the email's view only, the
newsletter's own campaign parameters on links that leave it (:func:`tag_link`).

The issue's address (``url``, ``slug``) comes from :mod:`roundup.issue_url`, the one place
that computes it.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

import nh3
from markdown_it.token import Token
from markupsafe import Markup

from roundup import text
from roundup.config import Config, Newsletter
from roundup.i18n import count_label, format_date, labels
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
    author: str  # a person's name, "" when none (see roundup.text.byline_author)
    published: date | None  # local date in the newsletter's timezone
    read_time: str  # "4 min read", "" when the feed carries only a teaser
    byline: str  # "Source · by Jane Doe · Aug 14, 2015 · 4 min read · also via X, Y"
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
    headline: str  # what the subject says besides the title and date ("" when nothing)
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
    source_count: int


def unsubscribe_link(newsletter: Newsletter) -> str:
    """The unsubscribe URL with :data:`UNSUBSCRIBE_TOKEN`, else a ``mailto:`` fallback."""
    if newsletter.unsubscribe_url:
        return newsletter.unsubscribe_url.replace("{token}", UNSUBSCRIBE_TOKEN)
    if newsletter.unsubscribe_mailto:
        mailto = newsletter.unsubscribe_mailto
        return mailto if "?" in mailto else f"{mailto}?subject=unsubscribe"
    return f"mailto:{parseaddr(newsletter.from_addr)[1]}?subject=unsubscribe"


def issue_view(draft: Draft, config: Config, *, email: bool = False) -> IssueView:
    """The issue as templates see it, every item indexed in order across sections.

    With ``email`` the links that leave the newsletter carry ``newsletter.link_tags``
    (the email's view); without, every link is as the post shows it.
    """
    nl = config.newsletter
    words = labels(nl.language)
    links = _Links(link_tags(nl, draft) if email else (), _host(nl.url))
    counter = itertools.count()  # an item's index runs across sections
    sections = tuple(
        SectionView(
            index=number,
            name=text.clean_line(section.name),
            description=text.clean_line(section.description),
            items=tuple(
                _item_view(item, next(counter), config, words, links) for item in section.items
            ),
        )
        for number, section in enumerate(draft.sections)
        if section.items
    )
    intro_blocks = _tagged_blocks(parse_markdown(draft.intro), links)
    last_day = draft.window_end.date() - timedelta(days=1)
    midnight = datetime.combine(last_day, time(0), tzinfo=draft.window_end.tzinfo)
    lang = nl.language.replace("_", "-")
    subject = text.clean_line(draft.subject) or text.clean_line(nl.title)
    items = [item for section in sections for item in section.items]
    return IssueView(
        newsletter=text.clean_line(nl.title),
        subject=subject,
        headline=issue_headline(subject, nl, draft.number, last_day),
        preheader=issue_preheader(draft, config),
        dek=text.clean_line(draft.preheader),
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
        intro_html=markdown_html(draft.intro, links.tags, links.own_host),
        intro_blocks=intro_blocks,
        sections=sections,
        item_count=len(items),
        source_count=len({item.source for item in items if item.source}),
    )


def issue_preheader(draft: Draft, config: Config) -> str:
    """The inbox preview: the editor's preheader, else the intro's first sentence, else
    how much the issue holds ("12 stories from 7 sources this week"); never a list of titles.
    """
    written = text.clean_line(draft.preheader)
    if written:
        return written
    intro = text.first_sentence(blocks_plain(parse_markdown(draft.intro)), PREHEADER_CHARS)
    if intro:
        return intro
    items = draft.items
    if not items:
        return ""
    words = labels(config.newsletter.language)
    stories = count_label(words["story_count"], len(items))
    sources = len({text.clean_line(item.source) for item in items} - {""})
    if not sources:
        return stories
    return words["this_week"].format(
        stories=stories, sources=count_label(words["source_count"], sources)
    )


PREHEADER_CHARS = 150  # inboxes show 40 to 140 characters; the rest is never seen
_AFFIX_SEPARATORS = " :·|-–—,#"


def issue_headline(subject: str, newsletter: Newsletter, number: int, day: date) -> str:
    """What ``subject`` says besides the newsletter's title, the date and the issue number.

    The masthead shows the title, number and date once each; the subject adds a headline
    only when it has words of its own: "The Elicitor Weekly Roundup: August 14, 2015" and
    "8/14 Weekly Roundup" give "", "Weekly Roundup: Iran goes to Congress" gives
    "Iran goes to Congress".
    """
    issue_word = labels(newsletter.language)["issue"]
    affixes = (
        text.clean_line(newsletter.title),
        format_date(day, newsletter.language, "long"),
        f"{issue_word} {number}",
        f"{issue_word} #{number}",
        f"#{number}",
    )
    rest, changed = subject, True
    while changed:
        changed = False
        for affix in affixes:
            trimmed = _trim_affix(rest, affix)
            if trimmed != rest:
                rest, changed = trimmed, True
    if not any(char.isalpha() for char in rest):
        return ""  # only a date like 8/14, punctuation or nothing is left
    return rest


def _trim_affix(value: str, affix: str) -> str:
    """``value`` without ``affix`` at its start or end (any case), and the separators there."""
    if not affix:
        return value
    folded, needle = value.casefold(), affix.casefold()
    if folded.startswith(needle):
        value = value[len(affix) :]
    elif folded.endswith(needle):
        value = value[: len(value) - len(affix)]
    else:
        return value
    return value.strip(_AFFIX_SEPARATORS)


def link_tags(newsletter: Newsletter, draft: Draft) -> tuple[tuple[str, str], ...]:
    """``newsletter.link_tags`` with ``{number}`` and ``{week}`` filled in for ``draft``."""
    return tuple(
        (name, value.replace("{number}", str(draft.number)).replace("{week}", draft.week))
        for name, value in newsletter.link_tags
    )


def tag_link(url: str, tags: tuple[tuple[str, str], ...]) -> str:
    """``url`` with the query parameters ``tags`` added (replacing any of the same name).

    >>> tag_link("https://example.org/a?id=7#top", (("utm_source", "meridian"),))
    'https://example.org/a?id=7&utm_source=meridian#top'
    """
    if not tags:
        return url
    before, hash_mark, fragment = url.partition("#")
    path, _, query = before.partition("?")
    names = {name.casefold() for name, _ in tags}
    kept = [
        pair for pair in query.split("&") if pair and pair.split("=")[0].casefold() not in names
    ]
    added = [f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in tags]
    return f"{path}?{'&'.join([*kept, *added])}{hash_mark}{fragment}"


@dataclass(frozen=True, slots=True)
class _Links:
    """How links leaving the newsletter are written: the tags, and the host they skip."""

    tags: tuple[tuple[str, str], ...]
    own_host: str  # the newsletter's own site: its links are not campaign clicks

    def out(self, url: str) -> str:
        """``url`` (already safe), tagged when it leaves the newsletter."""
        if not self.tags or not url.startswith("https://") or _host(url) == self.own_host:
            return url
        return tag_link(url, self.tags)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _tagged_blocks(blocks: tuple[Block, ...], links: _Links) -> tuple[Block, ...]:
    """``blocks`` with every link written as ``links`` says (unchanged without tags)."""
    if not links.tags:
        return blocks
    return tuple(
        replace(
            block, spans=tuple(replace(span, href=links.out(span.href)) for span in block.spans)
        )
        for block in blocks
    )


def _item_view(
    item: DraftItem, index: int, config: Config, words: dict[str, str], links: _Links
) -> ItemView:
    nl = config.newsletter
    source = text.clean_line(item.source)
    author = text.byline_author(item.author, source)
    also_via = tuple(name for name in (text.clean_line(via) for via in item.also_via) if name)
    published = item.published.astimezone(nl.tz).date() if item.published else None
    read_time = (
        words["min_read"].replace("{n}", str(item.read_minutes)) if item.read_minutes else ""
    )
    parts = [source] if source else []
    if author:
        parts.append(f"{words['by']} {author}")
    if published is not None:
        parts.append(_medium_date(published, nl.language))
    if read_time:
        parts.append(read_time)
    if also_via:
        parts.append(f"{words['also_via']} {', '.join(also_via)}")
    image = _image_url(item.image or "")
    title = text.clean_line(item.title)
    return ItemView(
        index=index,
        title=title or text.clean_line(item.link) or source,
        url=links.out(text.safe_url(item.link)),
        source=source,
        author=author,
        published=published,
        read_time=read_time,
        byline=" · ".join(parts),
        also_via=also_via,
        covered_by=tuple(
            CoveredView(
                source, text.clean_line(coverage.title), links.out(text.safe_url(coverage.link))
            )
            for coverage in item.covered_by
            if (source := text.clean_line(coverage.source))
        ),
        excerpt=text.clean_line(item.excerpt),
        excerpt_blocks=text.clean_blocks(item.excerpt),
        note_html=markdown_html(item.note, links.tags, links.own_host),
        note_blocks=_tagged_blocks(parse_markdown(item.note), links),
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


# --- Markdown to safe HTML -----------------------------------------------------------------

_NOTE_TAGS = {"p", "br", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr"}
_NOTE_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_BARE_ANCHOR = re.compile(r"<a>(.*?)</a>", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def markdown_html(
    source: str, link_tags: tuple[tuple[str, str], ...] = (), own_host: str = ""
) -> Markup:
    """The editor's Markdown as sanitised HTML (markdown-it, raw HTML off, then nh3).

    Links lose their tracking parameters (:func:`roundup.text.safe_url`); with
    ``link_tags``, those that leave ``own_host`` carry them (:func:`tag_link`). Headings
    become bold paragraphs, so a note cannot add a second ``<h1>`` (A3); images
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
        attribute_filter=functools.partial(_attribute_filter, _Links(link_tags, own_host)),
        url_schemes={"http", "https", "mailto"},  # _attribute_filter upgrades http
        link_rel=None,
        strip_comments=True,
    )
    # a link whose URL was refused keeps its words but must not look like a link
    return Markup(_BARE_ANCHOR.sub(r"\1", cleaned).strip())


def _attribute_filter(links: _Links, element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return links.out(text.safe_url(value, allow_mailto=True)) or None
    return value
