"""Render a reviewed :class:`~roundup.models.Draft` into the four outputs of an issue.

* ``email.html``: one HTML email, CSS inlined by premailer, kept under the size at which
  Gmail clips a message (see ``shared/email-checklist.md``, rules S, C, H and A);
* ``email.txt``: its plain-text alternative, with numbered link references (rules T);
* ``post.md``: the issue as a Markdown blog post with YAML front matter;
* ``post.html``: a standalone web page of the issue.

Rendering is pure: it returns strings, reads no clock, and gives byte-identical output for
identical input. :func:`write_issue` is the only function here that writes files.

Feed content is untrusted. Titles, sources and excerpts are plain text that Jinja escapes;
the editor's intro and notes are Markdown, rendered by markdown-it with raw HTML disabled
and then cleaned by nh3; links must be http(s) (upgraded to https) or they are dropped.

Slugs and post URLs: an issue's post lives at ``newsletter.url`` + ``<last day>-<title>/``,
e.g. ``https://example.org/blog/2015-08-14-weekly-roundup/`` for the week ending
2015-08-14 of "Weekly Roundup". The date keeps slugs unique and sortable; the blog must be
set to publish the post's ``slug`` at that address (Jekyll ``permalink: /:slug/``, Hugo
``[permalinks] posts = "/:slug/"``).
"""

from __future__ import annotations

import functools
import importlib.resources
import itertools
import json
import logging
import re
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import nh3
from markdown_it.token import Token
from markupsafe import Markup
from premailer import Premailer

import roundup
from roundup import text
from roundup._files import write_atomic
from roundup.config import Config, Newsletter
from roundup.errors import RenderError
from roundup.i18n import format_date, format_month_day, labels
from roundup.models import Draft, DraftItem, DraftSection
from roundup.text import Block, LinkRefs

__all__ = [
    "EMAIL_LIMIT",
    "EMAIL_WARN",
    "MORE_LIMIT",
    "UNSUBSCRIBE_TOKEN",
    "RenderedIssue",
    "check_templates",
    "default_templates_dir",
    "issue_slug",
    "make_environment",
    "post_url",
    "render_issue",
    "unsubscribe_link",
    "write_issue",
]

# Stands in for the per-recipient token in ``newsletter.unsubscribe_url``; the send stage
# replaces it. Letters, digits and "-" only: valid in a URL path or query as it is, so
# neither premailer nor an ESP rewrites it.
UNSUBSCRIBE_TOKEN = "ROUNDUP-UNSUBSCRIBE-TOKEN"

# Gmail clips an HTML part above about 102 KB (S1); ESP link rewriting adds bytes, so the
# email is trimmed to EMAIL_WARN, and a notice is raised only when it cannot be.
EMAIL_LIMIT = 102_000
EMAIL_WARN = 90_000
# "More this week" lists at most this many links; anything past it is only in the post.
MORE_LIMIT = 300

OUTPUT_NAMES = ("email.html", "email.txt", "post.md", "post.html")
_TEMPLATE_SUFFIXES = (".html", ".htm", ".xml", ".txt", ".md", ".css")

_RTL_LANGUAGES = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ps", "sd", "ug", "ur", "yi"}
)


@dataclass(frozen=True, slots=True)
class RenderedIssue:
    """The four outputs of one issue, and what rendering had to give up to make them."""

    email_html: str
    email_text: str
    post_md: str
    post_html: str
    notices: tuple[str, ...]  # e.g. "moved 30 items to 'More this week'"


# --- templates -------------------------------------------------------------------------


def default_templates_dir() -> Path:
    """The default theme: ``roundup/templates`` in a wheel, ``templates/`` in a checkout."""
    try:
        packaged = importlib.resources.files("roundup") / "templates"
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - zipped installs
        pass
    checkout = Path(roundup.__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise RenderError(f"the default templates are missing (looked in {checkout})")


def make_environment(config: Config) -> jinja2.Environment:
    """A Jinja environment for ``config``: the user's templates first, then the default theme.

    A template in ``config.templates`` replaces the default one of the same name; every
    default template is also reachable as ``default/<name>`` so that an override can
    ``{% extends "default/email.html" %}`` and replace single blocks.
    """
    theme = jinja2.FileSystemLoader(default_templates_dir())
    loaders: list[jinja2.BaseLoader] = []
    if config.templates is not None:
        loaders.append(jinja2.FileSystemLoader(config.templates))
    loaders += [jinja2.PrefixLoader({"default": theme}), theme]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    language = config.newsletter.language
    tz = config.newsletter.tz

    def local_day(value: date | datetime) -> date:
        return value.astimezone(tz).date() if isinstance(value, datetime) else value

    def date_filter(value: date | datetime, style: str = "long") -> str:
        return format_date(local_day(value), language, style)

    def month_day_filter(value: date | datetime) -> str:
        return format_month_day(local_day(value), language)

    env.filters.update(
        date=date_filter,
        month_day=month_day_filter,
        wrap=text.wrap,
        underline=text.underline,
        md=text.md_escape,
        md_url=text.md_url,
        md_link=text.md_link,
        md_quote=text.md_quote,
        yaml=_yaml_string,
    )
    env.globals.update(text_blocks=text.blocks_to_text, md_blocks=text.blocks_to_markdown)
    return env


def check_templates(config: Config) -> None:
    """Raise :class:`RenderError` if the theme cannot render, naming the file and line.

    Compiles every template of the user's folder and of the theme, then renders a small
    made-up issue, so that a misspelt variable is caught before the weekly run.
    """
    env = make_environment(config)
    names = set(jinja2.FileSystemLoader(default_templates_dir()).list_templates())
    if config.templates is not None:
        names |= set(jinja2.FileSystemLoader(config.templates).list_templates())
    for name in sorted(n for n in names if n.endswith(_TEMPLATE_SUFFIXES)):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None
    render_issue(_trial_draft(config), config, env=env)


def _trial_draft(config: Config) -> Draft:
    """A one-item issue with every optional part filled in, for :func:`check_templates`."""
    tz = config.newsletter.tz
    item = DraftItem(
        key="https://example.org/a",
        title="A title",
        link="https://example.org/a",
        source="A source",
        published=datetime(2015, 8, 10, 12, tzinfo=tz),
        excerpt="An excerpt.",
        note="A *note* with [a link](https://example.org/b).",
        image="https://example.org/a.jpg",
        also_via=("Another source",),
    )
    return Draft(
        week="2015-W33",
        number=1,
        subject="A subject",
        preheader="A preheader",
        intro="An *intro*.",
        sections=(DraftSection("A section", "A description", (item,)),),
        window_start=datetime(2015, 8, 8, tzinfo=tz),
        window_end=datetime(2015, 8, 15, tzinfo=tz),
    )


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """``name`` rendered with ``context``; any template fault becomes a RenderError."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {exc.name!r} not found (needed by {name})") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_template_frame(exc, name)}: {exc.message}") from None


def _template_frame(exc: BaseException, name: str) -> str:
    """``file:line`` of the innermost template frame of ``exc`` (Jinja rewrites them)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<")
    ]
    if not frames:
        return name
    return f"{frames[-1].filename}:{frames[-1].lineno}"


# --- the issue as templates see it ---------------------------------------------------------


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
    excerpt: str
    note_html: Markup
    note_blocks: tuple[Block, ...]
    image: str  # https image URL, "" when none or unsafe
    email_image: str  # as ``image``, minus the formats email clients cannot show (H5)


@dataclass(frozen=True, slots=True)
class SectionView:
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


def issue_slug(draft: Draft, config: Config) -> str:
    """``2015-08-14-weekly-roundup``: the last day of the week and the newsletter's title."""
    last_day = draft.window_end.date() - timedelta(days=1)
    return f"{last_day.isoformat()}-{_slugify(config.newsletter.title) or 'issue'}"


def post_url(draft: Draft, config: Config) -> str:
    """The blog post's address: ``newsletter.url`` + slug + "/"."""
    return f"{config.newsletter.url}{issue_slug(draft, config)}/"


def unsubscribe_link(newsletter: Newsletter) -> str:
    """The unsubscribe URL with :data:`UNSUBSCRIBE_TOKEN`, else a ``mailto:`` fallback."""
    if newsletter.unsubscribe_url:
        return newsletter.unsubscribe_url.replace("{token}", UNSUBSCRIBE_TOKEN)
    if newsletter.unsubscribe_mailto:
        mailto = newsletter.unsubscribe_mailto
        return mailto if "?" in mailto else f"{mailto}?subject=unsubscribe"
    return f"mailto:{parseaddr(newsletter.from_addr)[1]}?subject=unsubscribe"


def _slugify(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _issue_view(draft: Draft, config: Config) -> IssueView:
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
    intro_blocks = text.parse_markdown(draft.intro)
    dek = text.clean_line(draft.preheader)
    last_day = draft.window_end.date() - timedelta(days=1)
    midnight = datetime.combine(last_day, time(0), tzinfo=draft.window_end.tzinfo)
    lang = nl.language.replace("_", "-")
    return IssueView(
        newsletter=text.clean_line(nl.title),
        subject=text.clean_line(draft.subject) or text.clean_line(nl.title),
        preheader=dek or _shorten(text.blocks_plain(intro_blocks), 140),
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
        parts.append(format_date(published, nl.language, "medium"))
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
        excerpt=text.clean_line(item.excerpt),
        note_html=markdown_html(item.note),
        note_blocks=text.parse_markdown(item.note),
        image=image,
        email_image="" if urlsplit(image).path.lower().endswith((".svg", ".webp")) else image,
    )


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
    become their alt text (see :func:`roundup.text.markdown_tokens`).
    """
    tokens = text.markdown_tokens(source)
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
    rendered = text.MARKDOWN.renderer.render(tokens, text.MARKDOWN.options, {})
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


# --- the email and its size budget ---------------------------------------------------------

_PREMAILER_OPTIONS: dict[str, Any] = {
    "strip_important": False,  # keep !important inside @media (C4)
    "disable_basic_attributes": ["width", "height"],  # never overwrite <img width> (H5)
    "disable_link_rewrites": True,
    "keep_style_tags": False,  # only the @media rules stay in <style> (C1)
    "remove_classes": False,  # @media rules still need them
    "cssutils_logging_level": logging.CRITICAL,  # mso-* properties are not CSS
    "allow_network": False,
    "disable_validation": True,
    "exclude_pseudoclasses": True,
}

_MARK = re.compile(rb"<!--@(/?)([a-z]+):(\d+)-->")
_PRE = re.compile(r"(<pre[\s>].*?</pre>)", re.DOTALL | re.IGNORECASE)
_INDENT = re.compile(r"\n[ \t]+")
_STYLE_ATTRIBUTE = re.compile(r"""(?<= style=)(["'])(.*?)\1""")
_CLASS_ATTRIBUTE = re.compile(r""" class=(["'])(.*?)\1""")
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which items the email shows, and how.

    Items ``[0, body)`` appear in full, those from ``excerpts`` on without their excerpt;
    items ``[body, body + more)`` are listed as links under "More this week"; any after
    that are only in the blog post.
    """

    excerpts: int
    body: int
    more: int


def _inline(html: str) -> str:
    """``html`` with its CSS inlined by premailer, and the whitespace it does not need gone."""
    pieces = _PRE.split(html)
    html = "".join(
        piece if index % 2 else _INDENT.sub("\n", piece) for index, piece in enumerate(pieces)
    )
    inlined: str = Premailer(html, **_PREMAILER_OPTIONS).transform(pretty_print=False)
    inlined = _STYLE_ATTRIBUTE.sub(
        lambda m: m[1] + m[2].replace("; ", ";").replace(", ", ",") + m[1], inlined
    )
    inlined = _STYLE_ELEMENT.sub(lambda m: m[0].replace(m[1], _minify_css(m[1])), inlined)
    return _prune_classes(inlined)


def _minify_css(css: str) -> str:
    """The @media rules premailer leaves, without cssutils' indentation (S1 bytes)."""
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    return re.sub(r"(?<=[\w)]):\s+", ":", css).replace(";}", "}").strip()


def _prune_classes(html: str) -> str:
    """Drop the class names no remaining ``<style>`` rule uses: after inlining they are
    dead bytes on every item (S1)."""
    used = {name for css in _STYLE_ELEMENT.findall(html) for name in _CLASS_SELECTOR.findall(css)}

    def keep(match: re.Match[str]) -> str:
        names = [name for name in match[2].split() if name in used]
        return f' class="{" ".join(names)}"' if names else ""

    return _CLASS_ATTRIBUTE.sub(keep, html)


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


class _Estimate:
    """Email sizes for any layout, measured once on a probe rendering.

    The probe shows every item in full and also lists every item under "More this week";
    the default templates bracket each of these pieces with ``<!--@kind:n-->`` markers.
    Inlined sizes add up (no selector of the theme depends on siblings), so the size of a
    layout is the probe's size minus the pieces it leaves out.
    """

    def __init__(self, probe: str, count: int) -> None:
        data = probe.encode("utf-8")
        sizes: dict[str, list[int]] = {kind: [0] * count for kind in ("item", "excerpt", "more")}
        opened: dict[tuple[str, int], int] = {}
        marker_bytes = 0
        self.more_section = 0
        for match in _MARK.finditer(data):
            position = match.start() - marker_bytes
            marker_bytes += match.end() - match.start()
            kind, number = match[2].decode(), int(match[3])
            if not match[1]:
                opened[(kind, number)] = position
            elif kind == "moresection":
                self.more_section = position - opened.pop((kind, number))
            elif kind in sizes and number < count and (kind, number) in opened:
                sizes[kind][number] = position - opened.pop((kind, number))
        if count and (not all(sizes["item"]) or not all(sizes["more"])):
            raise ValueError("the email template has no (or incomplete) budget markers")
        self.total = len(data) - marker_bytes
        self.items = [0, *itertools.accumulate(sizes["item"])]
        self.excerpts = [0, *itertools.accumulate(sizes["excerpt"])]
        self.links = [0, *itertools.accumulate(sizes["more"])]

    def size(self, layout: _Layout) -> int:
        n = len(self.items) - 1
        size = self.total - self.more_section
        size -= self.items[n] - self.items[layout.body]
        size -= self.excerpts[layout.body] - self.excerpts[min(layout.excerpts, layout.body)]
        if layout.more:
            frame = self.more_section - self.links[n]
            end = layout.body + layout.more
            size += frame + self.links[end] - self.links[layout.body]
        return size


def _fits(estimate: _Estimate, budget: int, layout: _Layout) -> bool:
    return estimate.size(layout) <= budget


def _plan(count: int, fits: Callable[[_Layout], bool]) -> _Layout:
    """The richest layout that ``fits``, degrading in the documented order.

    First the excerpts of the last items go, one at a time from the end; if the items do not
    fit even without excerpts, the fewest items possible move, from the end, to "More this
    week", and then the items that stay get their excerpts back while they still fit.
    """
    full = _Layout(count, count, 0)
    if fits(full):
        return full
    if fits(_Layout(0, count, 0)):
        kept = _last_true(0, count, lambda a: fits(_Layout(a, count, 0)))
        return _Layout(kept, count, 0)

    def moved(m: int) -> _Layout:
        return _Layout(0, count - m, min(m, MORE_LIMIT))

    m = _first_true(1, count, lambda m: fits(moved(m)))
    body, more = count - m, min(m, MORE_LIMIT)
    kept = _last_true(0, body, lambda a: fits(_Layout(a, body, more)))
    return _Layout(kept, body, more)


def _first_true(low: int, high: int, predicate: Callable[[int], bool]) -> int:
    """The smallest value in [low, high] where the monotone ``predicate`` holds, else high."""
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _last_true(low: int, high: int, predicate: Callable[[int], bool]) -> int:
    """The largest value in [low, high] where ``predicate`` holds (it holds at low)."""
    while low < high:
        middle = (low + high + 1) // 2
        if predicate(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _apply(issue: IssueView, layout: _Layout) -> tuple[tuple[SectionView, ...], list[ItemView]]:
    """The sections the email shows for ``layout``, and its "More this week" items."""
    sections = []
    more = []
    for section in issue.sections:
        shown = []
        for item in section.items:
            if item.index < layout.excerpts:
                shown.append(item)
            elif item.index < layout.body:
                shown.append(replace(item, excerpt=""))
            elif item.index < layout.body + layout.more:
                more.append(item)
        if shown:
            sections.append(replace(section, items=tuple(shown)))
    return tuple(sections), more


class _Email:
    """Renders the email for any layout, remembering each inlined result."""

    def __init__(self, env: jinja2.Environment, issue: IssueView, base: dict[str, Any]) -> None:
        self.env = env
        self.issue = issue
        self.base = base
        self.cache: dict[_Layout, str] = {}

    def context(self, layout: _Layout, *, probe: bool) -> dict[str, Any]:
        if probe:
            sections, more = self.issue.sections, [i for s in self.issue.sections for i in s.items]
        else:
            sections, more = _apply(self.issue, layout)
        omitted = self.issue.item_count - len(more) - sum(len(s.items) for s in sections)

        def budget_mark(kind: str, number: int) -> Markup:
            return Markup(f"<!--@{kind}:{number}-->") if probe else Markup("")

        return {
            **self.base,
            "sections": sections,
            "more": more,
            "omitted": omitted,
            "budget_mark": budget_mark,
        }

    def html(self, layout: _Layout) -> str:
        if layout not in self.cache:
            raw = _render(self.env, "email.html", self.context(layout, probe=False))
            self.cache[layout] = _inline(raw)
        return self.cache[layout]

    def probe(self) -> str:
        count = self.issue.item_count
        return _inline(
            _render(self.env, "email.html", self.context(_Layout(count, count, 0), probe=True))
        )

    def fit(self, target: int) -> _Layout:
        """The layout to send: :func:`_plan` on estimated sizes, checked on the real email."""
        count = self.issue.item_count
        full = _Layout(count, count, 0)
        if _size(self.html(full)) <= target or not count:
            return full
        try:
            estimate = _Estimate(self.probe(), count)
        except ValueError:
            return self.search(target)  # a user template without markers
        budget = target
        for _attempt in range(4):
            layout = _plan(count, functools.partial(_fits, estimate, budget))
            overshoot = _size(self.html(layout)) - target
            if overshoot <= 0:
                return layout
            budget -= overshoot  # the estimate was short by this much: aim lower
        return self.search(target)

    def search(self, target: int) -> _Layout:
        """:func:`_plan` on real renders: about 3·log2(items) premailer runs."""
        return _plan(self.issue.item_count, lambda layout: _size(self.html(layout)) <= target)


def _notices(issue: IssueView, layout: _Layout, size: int, address: bool) -> Iterator[str]:
    words = labels(issue.lang)
    items = [item for section in issue.sections for item in section.items]
    dropped = sum(1 for item in items[layout.excerpts : layout.body] if item.excerpt)
    if dropped:
        yield f"email over budget: dropped the excerpts of the last {dropped} items"
    if layout.more:
        yield f"moved {layout.more} items to '{words['more_this_week']}'"
    omitted = len(items) - layout.body - layout.more
    if omitted:
        yield f"left the last {omitted} items out of the email; they are in the blog post"
    if size > EMAIL_LIMIT:
        yield (
            f"email is {size:,} bytes, over the {EMAIL_LIMIT:,}-byte limit: Gmail will clip"
            " it (shorten the intro or the notes)"
        )
    elif size > EMAIL_WARN:
        yield (
            f"email is {size:,} bytes, above the {EMAIL_WARN:,}-byte warning threshold: an"
            " ESP's link rewriting may push it past Gmail's clipping limit"
        )
    if not address:
        yield "newsletter.postal_address is empty: the email footer has no postal address"


# --- the whole issue -----------------------------------------------------------------------


def render_issue(
    draft: Draft, config: Config, *, env: jinja2.Environment | None = None
) -> RenderedIssue:
    """Render ``draft`` with ``config``'s newsletter settings and templates.

    Raises :class:`RenderError` when a template fails; the message names the template file
    and line.
    """
    env = env or make_environment(config)
    issue = _issue_view(draft, config)
    base = {"issue": issue, "labels": labels(config.newsletter.language)}
    email = _Email(env, issue, base)
    layout = email.fit(EMAIL_WARN)
    email_html = email.html(layout)
    email_context = email.context(layout, probe=False)
    email_text = _tidy_text(_render(env, "email.txt", {**email_context, "refs": LinkRefs()}))
    full = {**base, "sections": issue.sections}
    post_md = _tidy_text(_render(env, "post.md", full))
    post_html = _render(env, "post.html", full)
    notices = _notices(issue, layout, _size(email_html), bool(issue.postal_address))
    return RenderedIssue(email_html, email_text, post_md, post_html, tuple(notices))


def _tidy_text(value: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _yaml_string(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text.clean_line(value), ensure_ascii=False)


def write_issue(folder: Path, issue: RenderedIssue) -> list[Path]:
    """Write the four outputs into ``folder`` atomically; returns their paths."""
    outputs = (issue.email_html, issue.email_text, issue.post_md, issue.post_html)
    paths = []
    for name, content in zip(OUTPUT_NAMES, outputs, strict=True):
        path = folder / name
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise RenderError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        paths.append(path)
    return paths
