"""Untrusted text made safe to show: feed strings, the editor's Markdown source, and links.

Feed content is untrusted. Titles, sources and excerpts are plain text: :func:`clean_line`
normalises them once, before any template sees them. The editor's intro and notes are
Markdown: :func:`clean_markdown` strips what no output may carry before
:mod:`roundup.markdown_blocks` reads them. Every link goes through :func:`safe_url`, which
keeps only absolute http(s) URLs (as https).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit, urlunsplit

# C0 and C1 control characters other than TAB, LF and CR (S2: U+0092 alone clips Gmail).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
_SPACE = re.compile(r"\s+")
# "{{" and "{%" would be read as template syntax by an ESP (listmonk, Jinja-based tools)
# that gets our HTML, and H8 forbids them in the output: break them with a space.
_TEMPLATE_OPENER = re.compile(r"\{(?=[{%#])")
# A script or data URL that stays as text (markdown-it leaves a refused link as literal
# text) is still a URL to a mail client's auto-linker. A zero-width space after the scheme
# name breaks it and shows nothing; in Markdown it turns the link into a relative one,
# which safe_url then drops.
_SCRIPT_SCHEME = re.compile(
    r"\b(javascript|vbscript|livescript)(?=\s*:)|\b(data)(?=\s*:\s*[a-z]+/)", re.IGNORECASE
)


def _defuse(text: str) -> str:
    return _SCRIPT_SCHEME.sub(lambda m: (m[1] or m[2]) + "\u200b", text)


def clean_line(text: str) -> str:
    """One line of plain text: entities decoded, tags and control characters removed."""
    text = _TAG.sub(" ", html.unescape(text))
    text = _CONTROL.sub("", text)
    text = _defuse(_TEMPLATE_OPENER.sub("{ ", text))
    return _SPACE.sub(" ", text).strip()


def clean_blocks(text: str) -> tuple[tuple[str, ...], ...]:
    """Plain text that keeps its structure: paragraphs (split by a blank line) of lines,
    each line cleaned as :func:`clean_line` does; empty lines and paragraphs are dropped.

    >>> clean_blocks("Intro &amp; more\\n\\n• one\\n• two")
    (('Intro & more',), ('• one', '• two'))
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (
        tuple(line for line in (clean_line(raw) for raw in block.split("\n")) if line)
        for block in re.split(r"\n[ \t]*\n", text)
    )
    return tuple(paragraph for paragraph in paragraphs if paragraph)


def clean_markdown(source: str) -> str:
    """The editor's Markdown with control characters and template openers removed."""
    source = _CONTROL.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    return _defuse(_TEMPLATE_OPENER.sub("{ ", source)).strip()


def remove_tags(text: str) -> str:
    """``text`` without anything that looks like an HTML tag, e.g. ``a <b>x</b>`` → ``a x``.

    Nothing else changes: entities stay, and no space is put in a tag's place.
    """
    return _TAG.sub("", text)


def safe_url(url: str, *, allow_mailto: bool = False) -> str:
    """``url`` as an absolute https URL, or "" when it cannot be a safe link.

    ``http`` is upgraded to ``https``: the email checklist (H8) allows only https links,
    and mixed content would break the blog post. Any other scheme (``javascript:``,
    ``data:``, relative paths) yields "", so the caller renders no link at all.
    """
    url = _CONTROL.sub("", url).strip()
    if any(char.isspace() for char in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if allow_mailto and scheme == "mailto" and "@" in parts.path:
        return url
    if scheme not in ("http", "https") or not parts.hostname:
        return ""
    return urlunsplit(("https", parts.netloc, parts.path, parts.query, parts.fragment))
