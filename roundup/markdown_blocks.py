"""The editor's Markdown, read into :class:`Block` values that every output writes back out.

The intro and the notes are Markdown. :func:`markdown_tokens` parses them with markdown-it
(raw HTML disabled); :func:`parse_markdown` turns the tokens into a small list of blocks
(paragraphs, code and rules, with their quote depth and list markers) made of :class:`Span`
runs whose links have passed :func:`roundup.text.safe_url`. The text part
(:mod:`roundup.plain_text`) and the blog post (:mod:`roundup.safe_markdown`) are written
from blocks rather than from the editor's source: that is what keeps raw HTML,
``javascript:`` links and images out of them. :func:`line_prefixes` and
:func:`join_blocks` are the layout rules both writers share.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from roundup.text import clean_line, clean_markdown, remove_tags, safe_url


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
                child.content = re.sub(r"  +", " ", remove_tags(child.content))
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


# --- layout shared by the writers --------------------------------------------------------


def line_prefixes(block: Block, indent: str = "") -> tuple[str, str]:
    """What starts the first line of ``block`` and what starts its other lines.

    ``indent`` comes first, then "> " per quote level, then room for each enclosing list's
    marker; the innermost marker shows on the first line of the item's first block only.
    For a block in a quoted list item: ``("> 2. ", ">    ")``.
    """
    base = indent + "> " * block.quote
    for marker in block.lists[:-1]:
        base += " " * (len(marker) + 1)
    if not block.lists:
        return base, base
    marker = block.lists[-1]
    rest = base + " " * (len(marker) + 1)
    return (base + marker + " " if block.marked else rest), rest


def join_blocks(blocks: tuple[Block, ...], written: list[str]) -> str:
    """The ``written`` form of each block joined: a blank line between blocks, none between
    the items of one list (``written[i]`` is ``blocks[i]`` written out)."""
    parts: list[str] = []
    for index, (block, piece) in enumerate(zip(blocks, written, strict=True)):
        if index:
            previous = blocks[index - 1]
            same_list = block.marked and previous.lists and len(block.lists) >= len(previous.lists)
            parts.append("\n" if same_list else "\n\n")
        parts.append(piece)
    return "".join(parts)
