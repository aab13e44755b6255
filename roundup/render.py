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

import importlib.resources
import json
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

import roundup
from roundup import text
from roundup.atomic import write_atomic
from roundup.config import Config
from roundup.email_budget import EMAIL_LIMIT, EMAIL_WARN, MORE_LIMIT, Email, Layout, size
from roundup.errors import RenderError
from roundup.i18n import format_date, format_month_day, labels
from roundup.issue_view import (
    UNSUBSCRIBE_TOKEN,
    IssueView,
    issue_slug,
    issue_view,
    markdown_html,
    post_url,
    unsubscribe_link,
)
from roundup.models import Draft, DraftItem, DraftSection
from roundup.text import LinkRefs

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
    "markdown_html",
    "post_url",
    "render_issue",
    "unsubscribe_link",
    "write_issue",
]

OUTPUT_NAMES = ("email.html", "email.txt", "post.md", "post.html")
_TEMPLATE_SUFFIXES = (".html", ".htm", ".xml", ".txt", ".md", ".css")
# the templates that make the email; when all are the default theme's, fitting it is faster
_EMAIL_PARTS = ("email.html", "email_macros.html", "email.css")


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


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates, shared by every environment of the process.

    Jinja keys each by template name and file, and checks it against the source's hash, so
    an edited template is compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _MemoryBytecodeCache()


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
        bytecode_cache=_COMPILED,
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


# --- the whole issue -----------------------------------------------------------------------


def render_issue(
    draft: Draft, config: Config, *, env: jinja2.Environment | None = None
) -> RenderedIssue:
    """Render ``draft`` with ``config``'s newsletter settings and templates.

    Raises :class:`RenderError` when a template fails; the message names the template file
    and line.
    """
    env = env or make_environment(config)
    issue = issue_view(draft, config)
    base = {"issue": issue, "labels": labels(config.newsletter.language)}

    def render_email(context: dict[str, Any]) -> str:
        return _render(env, "email.html", context)

    email = Email(render_email, issue, base, regular=_default_email(env))
    layout = email.fit(EMAIL_WARN)
    email_html = email.html(layout)
    email_context = email.context(layout)
    email_text = _tidy_text(_render(env, "email.txt", {**email_context, "refs": LinkRefs()}))
    full = {**base, "sections": issue.sections}
    post_md = _tidy_text(_render(env, "post.md", full))
    post_html = _render(env, "post.html", full)
    notices = _notices(issue, layout, size(email_html), bool(issue.postal_address))
    return RenderedIssue(email_html, email_text, post_md, post_html, tuple(notices))


def _notices(issue: IssueView, layout: Layout, size: int, address: bool) -> Iterator[str]:
    """What the fitted email gave up, and what is wrong with its size or footer."""
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


def _default_email(env: jinja2.Environment) -> bool:
    """True when the email is the default theme's (see :class:`roundup.email_budget.Email`)."""
    theme = default_templates_dir()
    try:
        templates = [env.get_template(name) for name in _EMAIL_PARTS]
    except jinja2.TemplateError:
        return False  # rendering will report it
    return all(
        t.filename is not None and Path(t.filename) == theme / name
        for t, name in zip(templates, _EMAIL_PARTS, strict=True)
    )


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
