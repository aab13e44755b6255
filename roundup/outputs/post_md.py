"""``post.md``: the issue as a Markdown blog post, every item in it, for a site generator.

``post.format`` (:data:`roundup.config.POST_FORMATS`) says which generator reads it, and
:func:`front_matter` writes the metadata in the form that generator reads without plugins:

* ``jekyll``: YAML front matter with ``permalink``, and the ``layout``, ``description``,
  ``image`` and ``canonical_url`` that jekyll-seo-tag reads;
* ``hugo``: YAML front matter with ``url`` (and ``images``, which Hugo's Open Graph template
  reads);
* ``pelican``: Pelican's own ``Key: value`` lines, with ``URL`` and ``Save_as``.

Each places the page at the issue's one public address (:mod:`roundup.issue_url`), on a
blog served from the root of ``newsletter.url``'s host. The body comes from the theme's
``post.md``; its text is escaped so that all three show it as written.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from roundup.issue_url import url_path
from roundup.issue_view import IssueView, SectionView
from roundup.outputs import IssueContext, Renderer
from roundup.plain_text import tidy
from roundup.safe_markdown import md_escape


def render(context: IssueContext) -> str:
    """The blog post as Markdown, with the front matter of ``context.post_format``."""
    sections = context.issue.sections
    meta = front_matter(context.issue, sections, context.post_format)
    post = tidy(context.render("post.md", sections=sections, front_matter=meta))
    return liquid_safe(post) if context.post_format == "jekyll" else post


def liquid_safe(post: str) -> str:
    """A Jekyll post whose body has ``{{`` or ``{%`` (only in the editor's code: other text
    is escaped) wrapped in ``{% raw %}``, so Liquid leaves it alone."""
    head, separator, body = post.partition("\n---\n")
    if not separator or not ("{{" in body or "{%" in body):
        return post
    return f"{head}{separator}{{% raw %}}\n{body}{{% endraw %}}\n"


def front_matter(issue: IssueView, sections: Sequence[SectionView], post_format: str) -> str:
    """The post's metadata block for ``post_format`` (jekyll, hugo or pelican)."""
    if post_format == "pelican":
        return _pelican(issue, sections)
    image = lead_image(sections)
    fields: list[tuple[str, object]] = [("layout", _Raw("post"))] if post_format == "jekyll" else []
    fields += [
        ("title", issue.subject),
        ("date", _Raw(issue.published)),
        ("slug", issue.slug),
        ("permalink" if post_format == "jekyll" else "url", url_path(issue.url)),
        ("issue", issue.number),
        ("description", issue.preheader),
        (
            "image" if post_format == "jekyll" else "images",
            image if post_format == "jekyll" else [image],
        ),
        ("canonical_url", issue.url),
        ("tags", [section.name for section in sections]),
    ]
    lines = [f"{key}: {_yaml(value)}" for key, value in fields if value not in ("", [""])]
    return "---\n" + "\n".join(lines) + "\n---\n"


def file_name(issue: IssueView) -> str:
    """The name site generators expect: ``2015-08-14-weekly-roundup.md`` (Jekyll's
    ``YYYY-MM-DD-title.md``; Hugo and Pelican take any name, and get the same)."""
    return f"{issue.slug}.md"


def lead_image(sections: Sequence[SectionView]) -> str:
    """The first item's image: the post's picture for link previews ("" when none)."""
    return next((item.image for section in sections for item in section.items if item.image), "")


class _Raw(str):
    """A front-matter value written as it is (an ISO 8601 date-time, which YAML reads)."""


def _yaml(value: object) -> str:
    """``value`` as a YAML flow scalar or list: strings double-quoted (JSON syntax is YAML)."""
    if isinstance(value, _Raw):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _pelican(issue: IssueView, sections: Sequence[SectionView]) -> str:
    """Pelican's Markdown metadata: ``Key: value`` lines, then a blank line.

    Pelican puts a title into pages as HTML, and reads ``Summary`` as Markdown; tags are
    separated by commas, so a comma inside a section's name becomes a space.
    """
    path = url_path(issue.url).lstrip("/")
    fields = [
        ("Title", html.escape(issue.subject, quote=False)),
        ("Date", issue.published),
        ("Slug", issue.slug),
        ("URL", path),
        ("Save_as", f"{path}index.html"),
        ("Issue", str(issue.number)),
        ("Summary", md_escape(issue.preheader)),
        ("Description", issue.preheader),
        ("Image", lead_image(sections)),
        ("Canonical_url", issue.url),
        ("Tags", ", ".join(section.name.replace(",", " ") for section in sections)),
    ]
    return "\n".join(f"{key}: {value}" for key, value in fields if value) + "\n"


RENDERER = Renderer("post.md", render, file_name)
