"""Writing the issue's text out: the plain-text part (wrapped, with numbered link references)
and safe Markdown for the blog post, from plain strings and :class:`~roundup.text.Block` values.

Everything here is also importable from :mod:`roundup.text`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roundup.text import Block, Span

# T5: without format=flowed, hard-wrap at 72 characters (which also meets T2's 78).
WIDTH = 72


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
