"""Render a reviewed :class:`~roundup.models.Draft` into the outputs of an issue, and write them.

:data:`RENDERERS` is the registry of outputs, one module of :mod:`roundup.outputs` each:

* ``email.html``: one HTML email, CSS inlined by premailer, kept under the size at which
  Gmail clips a message (see ``shared/email-checklist.md``, rules S, C, H and A);
* ``email.txt``: its plain-text alternative, with numbered link references (rules T);
* ``post.md``: the issue as a Markdown blog post for Jekyll, Hugo or Pelican, written as
  ``<slug>.md`` (``2015-08-14-weekly-roundup.md``), the name those generators expect;
* ``post.html``: a standalone web page of the issue.

Rendering is pure: it returns strings, reads no clock, and gives byte-identical output for
identical input. :func:`write_issue` is the only function here that writes files.

Feed content is untrusted. Titles, sources and excerpts are plain text that Jinja escapes;
the editor's intro and notes are Markdown, rendered by markdown-it with raw HTML disabled
and then cleaned by nh3; links must be http(s) (upgraded to https) or they are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2

from roundup.atomic import write_atomic
from roundup.config import Config
from roundup.errors import RenderError
from roundup.issue_view import IssueView
from roundup.models import Draft, DraftItem, DraftSection
from roundup.outputs import Renderer, email_html, email_txt, issue_context, post_html, post_md
from roundup.theme import compile_template, make_environment, template_names

# Every output of an issue, in the order they are written. A new output is one module of
# roundup.outputs (plus its template) and one line here.
RENDERERS: tuple[Renderer, ...] = (
    email_html.RENDERER,
    email_txt.RENDERER,
    post_md.RENDERER,
    post_html.RENDERER,
)


@dataclass(frozen=True, slots=True)
class RenderedIssue:
    """The outputs of one issue, and what rendering had to give up to make them."""

    outputs: Mapping[str, str]  # output name -> content, in the order of the renderers
    notices: tuple[str, ...]  # e.g. "moved 30 items to 'More this week'"
    # output name -> the file it is written to, where that is not its name
    file_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def email_html(self) -> str:
        """The HTML email, as it is sent."""
        return self.outputs["email.html"]

    @property
    def email_text(self) -> str:
        """The email's plain-text part."""
        return self.outputs["email.txt"]

    @property
    def post_md(self) -> str:
        """The blog post as Markdown."""
        return self.outputs["post.md"]

    @property
    def post_html(self) -> str:
        """The blog post as a web page."""
        return self.outputs["post.html"]


def render_issue(
    draft: Draft,
    config: Config,
    *,
    env: jinja2.Environment | None = None,
    renderers: Sequence[Renderer] = RENDERERS,
) -> RenderedIssue:
    """Render ``draft`` with ``config``'s newsletter settings and templates.

    ``env`` is the theme's environment (:func:`roundup.theme.make_environment`), passed in
    by callers that render often; ``renderers`` the outputs to make. Raises
    :class:`RenderError` when a template fails; the message names the template file and
    line.
    """
    context = issue_context(draft, config, env or make_environment(config))
    outputs = {renderer.name: renderer.render(context) for renderer in renderers}
    file_names = {
        renderer.name: renderer.file_name(context.issue)
        for renderer in renderers
        if renderer.file_name is not None
    }
    notices = (*context.email.notices, *_footer_notices(context.issue))
    return RenderedIssue(outputs, notices, file_names)


def _footer_notices(issue: IssueView) -> tuple[str, ...]:
    """What the email's footer lacks that anti-spam laws want."""
    if issue.postal_address:
        return ()
    return ("newsletter.postal_address is empty: the email footer has no postal address",)


def write_issue(folder: Path, issue: RenderedIssue) -> list[Path]:
    """Write every output of ``issue`` into ``folder``, each file atomically; returns their
    paths."""
    paths = []
    for name, content in issue.outputs.items():
        path = folder / issue.file_names.get(name, name)
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise RenderError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        paths.append(path)
    return paths


def check_templates(config: Config) -> None:
    """Raise :class:`RenderError` if the theme cannot render, naming the file and line.

    Compiles every template of the user's folder and of the theme, then renders a small
    made-up issue and its page on the web copy, so that a misspelt variable is caught before
    the weekly run.
    """
    from roundup.issue_view import issue_view
    from roundup.site import build_site

    env = make_environment(config)
    for name in template_names(config):
        compile_template(env, name)
    trial = _trial_draft(config)
    render_issue(trial, config, env=env)
    build_site([issue_view(trial, config)], config, env)


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
