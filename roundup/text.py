"""Plain-text and Markdown helpers for the rendered issue.

Feed content is untrusted. Titles, sources and excerpts are plain text: :func:`clean_line`
normalises them once, before any template sees them. The editor's intro and notes are
Markdown; :func:`parse_markdown` reads them with markdown-it (raw HTML disabled) into a
small list of :class:`Block` values, which :func:`blocks_to_text` and
:func:`blocks_to_markdown` write back out. Going through this intermediate form, rather
than passing the editor's Markdown through, is what keeps raw HTML, ``javascript:`` links
and images out of the text part and the blog post.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

# T5: without format=flowed, hard-wrap at 72 characters (which also meets T2's 78).
WIDTH = 72

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


def parse_markdown(source: str) -> tuple[Block, ...]:
    """The blocks of ``source``. Headings become bold paragraphs; images their alt text."""
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


# --- plain text ------------------------------------------------------------------------


class LinkRefs:
    """Numbered link references for the text part: ``Title [3]`` ... ``[3] https://...``.

    One instance per rendered text; the same URL always gets the same number (T1).
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def cite(self, url: str) -> str:
        """`` [n]`` for ``url`` (numbering it on first use), or "" when there is no URL."""
        if not url:
            return ""
        number = self._numbers.setdefault(url, len(self._numbers) + 1)
        return f" [{number}]"

    def listing(self, width: int = WIDTH) -> str:
        """The reference list; a URL too long for its line goes alone on the next one."""
        lines = []
        for url, number in self._numbers.items():
            label = f"[{number}]"
            lines.append(
                f"{label} {url}" if len(label) + 1 + len(url) <= width else f"{label}\n{url}"
            )
        return "\n".join(lines)


def wrap(text: str, width: int = WIDTH, indent: str = "", first: str | None = None) -> str:
    """``text`` re-flowed into lines of at most ``width`` characters.

    ``first`` prefixes the first line (a list marker), ``indent`` the others. A word longer
    than a line is split, unless it is a URL: a line that is only a URL is allowed (T2)
    and a split URL would not work.
    """
    lead = indent if first is None else first
    lines: list[str] = []
    line = ""
    for word in text.split():
        prefix = lead if not lines else indent
        room = width - len(prefix)
        if line and len(line) + 1 + len(word) <= room:
            line += " " + word
            continue
        if line:
            lines.append(prefix + line)
            prefix = indent
            room = width - len(prefix)
        while len(word) > room and not _is_url(word) and room > 0:
            lines.append(prefix + word[:room])
            word = word[room:]
            prefix = indent
            room = width - len(prefix)
        line = word
    if line or not lines:
        lines.append((lead if not lines else indent) + line)
    return "\n".join(item.rstrip() for item in lines)


def _is_url(word: str) -> bool:
    return word.startswith(("https://", "http://", "mailto:"))


def underline(title: str, char: str, width: int = WIDTH) -> str:
    """A heading underlined with ``char`` (``=`` or ``-``), wrapped if it is long (T4)."""
    text = wrap(title, width)
    longest = max(len(line) for line in text.splitlines())
    return f"{text}\n{char * longest}"


def blocks_to_text(
    blocks: tuple[Block, ...], refs: LinkRefs, indent: str = "", width: int = WIDTH
) -> str:
    """``blocks`` as wrapped plain text, links replaced by reference numbers."""
    out: list[str] = []
    for block in blocks:
        first, rest = _prefixes(block, indent, "> ")
        if block.kind == "hr":
            out.append(first + "* * *")
        elif block.kind == "code":
            code = block.spans[0].text if block.spans else ""
            lines = [_hard_wrap(line, width - len(rest) - 4) for line in code.splitlines()]
            out.append("\n".join(f"{rest}    {line}".rstrip() for line in lines))
        else:
            out.append(wrap(_cited(block.spans, refs), width, rest, first))
    return _join_blocks(blocks, out)


def _join_blocks(blocks: tuple[Block, ...], rendered: list[str]) -> str:
    """Blank lines between blocks, except between the items of one list."""
    parts: list[str] = []
    for index, (block, piece) in enumerate(zip(blocks, rendered, strict=True)):
        if index:
            previous = blocks[index - 1]
            same_list = block.marked and previous.lists and len(block.lists) >= len(previous.lists)
            parts.append("\n" if same_list else "\n\n")
        parts.append(piece)
    return "".join(parts)


def _hard_wrap(line: str, width: int) -> str:
    """A code line cut into pieces of ``width`` (code cannot be re-flowed by words)."""
    if len(line) <= width or width <= 0:
        return line
    return "\n".join(line[i : i + width] for i in range(0, len(line), width))


def _cited(spans: tuple[Span, ...], refs: LinkRefs) -> str:
    parts = []
    for index, span in enumerate(spans):
        parts.append(span.text)
        link_ends = span.href and (index + 1 == len(spans) or spans[index + 1].href != span.href)
        if link_ends:
            parts.append(refs.cite(span.href))
    return "".join(parts)


def _prefixes(block: Block, indent: str, quote_mark: str) -> tuple[str, str]:
    """The first-line and continuation prefixes of ``block``: quotes, then list nesting."""
    base = indent + quote_mark * block.quote
    for marker in block.lists[:-1]:
        base += " " * (len(marker) + 1)
    if not block.lists:
        return base, base
    marker = block.lists[-1]
    rest = base + " " * (len(marker) + 1)
    return (base + marker + " " if block.marked else rest), rest


# --- Markdown out ----------------------------------------------------------------------

# Escaped wherever they appear: CommonMark inline syntax, raw HTML, entities, and the
# extensions of kramdown (Jekyll: "{:", "$$") and Hugo shortcodes ("{{<").
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&#|~{}$])")
# Only special at the start of a line: headings, quotes, lists, setext underlines, and
# kramdown's definition lists.
_MD_LINE_START = re.compile(r"^(\s*)([-+=:]|\d+[.)])")


def md_escape(text: str) -> str:
    """Plain text made literal in Markdown (Jekyll, Hugo and Pelican alike)."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(
        lambda m: m[1] + "\\" + m[2] if m[2][0] in "-+=:" else m[1] + m[2][:-1] + "\\" + m[2][-1],
        text,
    )


def md_url(url: str) -> str:
    """A URL safe inside ``[text](...)``: characters that end or break it are encoded."""
    for char, code in (
        (" ", "%20"),
        ("(", "%28"),
        (")", "%29"),
        ("<", "%3C"),
        (">", "%3E"),
        ('"', "%22"),
        ("\\", "%5C"),
        ("`", "%60"),
    ):
        url = url.replace(char, code)
    return url


def md_link(text: str, url: str) -> str:
    """``[text](url)``, or the escaped text alone when there is no URL."""
    return f"[{md_escape(text)}]({md_url(url)})" if url else md_escape(text)


def md_quote(markdown: str) -> str:
    """``markdown`` as a blockquote: every line prefixed with "> "."""
    return "\n".join(f"> {line}" if line else ">" for line in markdown.splitlines())


def blocks_to_markdown(blocks: tuple[Block, ...]) -> str:
    """``blocks`` written back as safe Markdown."""
    out: list[str] = []
    for block in blocks:
        first, rest = _prefixes(block, "", "> ")
        if block.kind == "hr":
            out.append(first + "* * *")
        elif block.kind == "code":
            code = block.spans[0].text if block.spans else ""
            fence = "~~~~" if "```" in code else "```"
            lines = [fence, *code.splitlines(), fence]
            out.append(
                "\n".join(
                    (first if index == 0 else rest) + line for index, line in enumerate(lines)
                )
            )
        else:
            out.append(first + _md_inline(block.spans))
    return _join_blocks(blocks, [piece.rstrip() for piece in out])


def _md_inline(spans: tuple[Span, ...]) -> str:
    parts = []
    index = 0
    while index < len(spans):
        href = spans[index].href
        end = index + 1
        while href and end < len(spans) and spans[end].href == href:
            end += 1
        inner = "".join(_md_span(span) for span in spans[index:end])
        parts.append(f"[{inner}]({md_url(href)})" if href else inner)
        index = end
    return "".join(parts)


def _md_span(span: Span) -> str:
    text = span.text
    if "code" in span.styles:
        ticks = "``" if "`" in text else "`"
        body = f"{ticks} {text} {ticks}" if ticks == "``" else f"`{text}`"
    else:
        body = md_escape(text)
    stripped = body.strip()
    if not stripped:
        return body
    lead = body[: len(body) - len(body.lstrip())]
    tail = body[len(body.rstrip()) :]
    for style in reversed([s for s in span.styles if s != "code"]):
        mark = "**" if style == "strong" else "*"
        stripped = f"{mark}{stripped}{mark}"
    return lead + stripped + tail
