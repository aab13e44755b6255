"""Rendered outputs: what every output module provides, and the per-issue context they read.

An output is one file of the issue: ``email.html``, ``email.txt``, ``post.md``,
``post.html``. Its module in this package defines ``RENDERER``, a :class:`Renderer`: the
file's name and a function from the issue's :class:`IssueContext` to the file's text.
:data:`roundup.render.RENDERERS` lists the renderers, in the order the files are written.

:func:`issue_context` builds the context once per issue. It fits the email to Gmail's
clipping size first (:class:`~roundup.email_budget.FittedEmail`), because fitting decides
which items the email shows and its text part must show the same ones: ``email.txt``
renders from ``context.email.values``, the values the fitted ``email.html`` was rendered
with, while the blog post renders every item of ``context.issue``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from roundup.config import Config
from roundup.email_budget import EMAIL_WARN, Email, FittedEmail
from roundup.i18n import labels
from roundup.issue_view import IssueView, issue_view
from roundup.models import Draft
from roundup.theme import from_default_theme, render_template

# the templates that make the email; when all are the default theme's, fitting it is faster
_EMAIL_TEMPLATES = ("email.html", "email_macros.html", "email.css")


@dataclass(frozen=True, slots=True)
class IssueContext:
    """What every renderer reads: the theme, the issue as templates see it, and the email
    as fitted to its size budget."""

    env: jinja2.Environment
    issue: IssueView
    labels: dict[str, str]  # the interface words in the newsletter's language
    email: FittedEmail
    post_format: str = "jekyll"  # the site generator post.md is for: config.post.format

    def render(self, template: str, /, **values: Any) -> str:
        """``template`` rendered with ``issue``, ``labels`` and ``values``.

        Raises :class:`~roundup.errors.RenderError` naming the template file and line.
        Example: ``context.render("post.html", sections=context.issue.sections)``.
        """
        return render_template(
            self.env, template, {"issue": self.issue, "labels": self.labels, **values}
        )


@dataclass(frozen=True, slots=True)
class Renderer:
    """One output of an issue: the file it is written to, and how it is rendered."""

    name: str  # the file name, e.g. "post.md"; also its key in RenderedIssue.outputs
    render: Callable[[IssueContext], str]
    # the file written instead of ``name`` when the issue decides it (post.md's
    # "2015-08-14-weekly-roundup.md", the name site generators expect)
    file_name: Callable[[IssueView], str] | None = None


def issue_context(draft: Draft, config: Config, env: jinja2.Environment) -> IssueContext:
    """The context of ``draft``'s issue, with the email already fitted to its budget."""
    issue = issue_view(draft, config)
    words = labels(config.newsletter.language)
    email = Email(
        functools.partial(render_template, env, "email.html"),
        issue,
        {"issue": issue, "labels": words},
        regular=from_default_theme(env, _EMAIL_TEMPLATES),
    )
    return IssueContext(env, issue, words, email.fitted(EMAIL_WARN), config.post.format)
