"""``post.md``: the issue as a Markdown blog post with YAML front matter, every item in it."""

from __future__ import annotations

from roundup.outputs import IssueContext, Renderer
from roundup.plain_text import tidy


def render(context: IssueContext) -> str:
    """The blog post as Markdown, for Jekyll, Hugo or Pelican."""
    return tidy(context.render("post.md", sections=context.issue.sections))


RENDERER = Renderer("post.md", render)
