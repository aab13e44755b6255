"""``post.html``: the issue as a standalone web page, every item in it."""

from __future__ import annotations

from roundup.outputs import IssueContext, Renderer


def render(context: IssueContext) -> str:
    """The blog post as one HTML page, with no scripts and no external files."""
    return context.render("post.html", sections=context.issue.sections)


RENDERER = Renderer("post.html", render)
