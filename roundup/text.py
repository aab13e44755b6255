"""Plain-text and Markdown helpers for the rendered issue.

Feed content is untrusted. Titles, sources and excerpts are plain text: :func:`clean_line`
normalises them once, before any template sees them. The editor's intro and notes are
Markdown; :func:`parse_markdown` reads them with markdown-it (raw HTML disabled) into a
small list of :class:`Block` values, which :func:`blocks_to_text` and
:func:`blocks_to_markdown` write back out. Going through this intermediate form, rather
than passing the editor's Markdown through, is what keeps raw HTML, ``javascript:`` links
and images out of the text part and the blog post. Writing text and Markdown out is
:mod:`roundup.text_format`; its functions are importable from here too.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from roundup.text_format import (
    WIDTH,
    LinkRefs,
    blocks_to_markdown,
    blocks_to_text,
    md_escape,
    md_link,
    md_quote,
    md_url,
    underline,
    wrap,
)

__all__ = [
    "MARKDOWN",
    "WIDTH",
    "Block",
    "LinkRefs",
    "Span",
    "blocks_plain",
    "blocks_to_markdown",
    "blocks_to_text",
    "clean_line",
    "clean_markdown",
    "markdown_tokens",
    "md_escape",
    "md_link",
    "md_quote",
    "md_url",
    "parse_markdown",
    "safe_url",
    "underline",
    "wrap",
]

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


def clean_markdown(source: str) -> str:
    """The editor's Markdown with control characters and template openers removed."""
    source = _CONTROL.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    return _defuse(_TEMPLATE_OPENER.sub("{ ", source)).strip()


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


# --- Markdown into blocks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A run of inline text with one link target and one set of styles."""

    text: str
    href: str = ""  # already passed through safe_url; "" = not a link
    styles: tuple[str, ...] = ()  # "strong", "em", "code" (outermost first)


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph-level piece of Markdown: a paragraph, a code block or a rule.

    ``lists`` holds the marker of every enclosing list item, outermost first ("-", "2.");
    only the innermost one is printed, and only on the item's first block (``marked``).
    """

    kind: str  # "p", "code" or "hr"
    spans: tuple[Span, ...] = ()
    quote: int = 0  # blockquote depth
    lists: tuple[str, ...] = ()
    marked: bool = False


MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown_tokens(source: str) -> list[Token]:
    """The editor's Markdown parsed by markdown-it with raw HTML disabled.

    With HTML disabled, a tag in the source would show as literal text; tag-like runs are
    removed from the text (not from code) so that every output shows the same words.
    Images become their alt text: they could be web bugs, and would break the email's
    image rules (H5).
    """
    tokens = MARKDOWN.parse(clean_markdown(source))
    for token in tokens:
        if token.children is None:
            continue
        token.children = [_image_as_text(child) for child in token.children]
        for child in token.children:
            if child.type == "text":
                child.content = re.sub(r"  +", " ", _TAG.sub("", child.content))
    return tokens


def _image_as_text(token: Token) -> Token:
    if token.type != "image":
        return token
    return Token("text", "", 0, content="".join(part.content for part in token.children or ()))


@functools.lru_cache(maxsize=4096)
def parse_markdown(source: str) -> tuple[Block, ...]:
    """The blocks of ``source``. Headings become bold paragraphs; images their alt text.

    Cached: blocks are immutable, and most items share the empty note."""
    walker = _BlockWalker()
    for token in markdown_tokens(source):
        walker.feed(token)
    return tuple(walker.blocks)


@dataclass
class _BlockWalker:
    blocks: list[Block] = field(default_factory=list)
    quote: int = 0
    lists: list[list[str | int]] = field(default_factory=list)  # [kind, next number]
    markers: list[str] = field(default_factory=list)
    unmarked: list[bool] = field(default_factory=list)  # item still owes its marker
    heading: bool = False

    def feed(self, token: Token) -> None:
        kind = token.type
        if kind == "blockquote_open":
            self.quote += 1
        elif kind == "blockquote_close":
            self.quote -= 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            self.lists.append(["-" if kind == "bullet_list_open" else ".", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            current = self.lists[-1]
            number = int(current[1])
            current[1] = number + 1
            self.markers.append("-" if current[0] == "-" else f"{number}.")
            self.unmarked.append(True)
        elif kind == "list_item_close":
            self.markers.pop()
            self.unmarked.pop()
        elif kind == "heading_open":
            self.heading = True
        elif kind == "heading_close":
            self.heading = False
        elif kind == "inline":
            spans = _spans(token.children or [], ("strong",) if self.heading else ())
            self.add(Block("p", spans))
        elif kind in ("code_block", "fence"):
            self.add(Block("code", (Span(token.content.rstrip("\n")),)))
        elif kind == "hr":
            self.add(Block("hr"))

    def add(self, block: Block) -> None:
        marked = bool(self.unmarked) and self.unmarked[-1]
        if marked:
            self.unmarked[-1] = False
        self.blocks.append(Block(block.kind, block.spans, self.quote, tuple(self.markers), marked))


def _spans(children: list[Token], base: tuple[str, ...]) -> tuple[Span, ...]:
    spans: list[Span] = []
    styles = list(base)
    href = ""
    for child in children:
        kind = child.type
        if kind == "text":
            spans.append(Span(child.content, href, tuple(styles)))
        elif kind == "code_inline":
            spans.append(Span(child.content, href, (*styles, "code")))
        elif kind in ("softbreak", "hardbreak"):
            spans.append(Span(" ", href, tuple(styles)))
        elif kind in ("strong_open", "em_open"):
            styles.append(kind.removesuffix("_open"))
        elif kind in ("strong_close", "em_close") and styles:
            styles.pop()
        elif kind == "link_open":
            href = safe_url(str(child.attrGet("href") or ""), allow_mailto=True)
        elif kind == "link_close":
            href = ""
    return tuple(_merge(spans))


def _merge(spans: list[Span]) -> list[Span]:
    """Join neighbouring spans that share link and styles, so words stay whole."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and (merged[-1].href, merged[-1].styles) == (span.href, span.styles):
            merged[-1] = Span(merged[-1].text + span.text, span.href, span.styles)
        else:
            merged.append(span)
    return merged


def blocks_plain(blocks: tuple[Block, ...]) -> str:
    """All the text of ``blocks`` on one line, e.g. for a preheader."""
    return clean_line(" ".join("".join(span.text for span in block.spans) for block in blocks))
