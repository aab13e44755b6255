"""Writing plain text: the email's text part, wrapped, with numbered link references.

The templates call :func:`wrap` and :func:`underline` as filters, :func:`blocks_to_text`
for the editor's intro and notes, and :class:`LinkRefs` to turn every link into ``[n]``
with the list of URLs at the end (checklist rules T1-T5). :func:`tidy` evens out the blank
lines a template leaves.
"""

from __future__ import annotations

import re

from roundup.markdown_blocks import Block, Span, join_blocks, line_prefixes

# T5: without format=flowed, hard-wrap at 72 characters (which also meets T2's 78).
WIDTH = 72


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
        first, rest = line_prefixes(block, indent)
        if block.kind == "hr":
            out.append(first + "* * *")
        elif block.kind == "code":
            code = block.spans[0].text if block.spans else ""
            lines = [_hard_wrap(line, width - len(rest) - 4) for line in code.splitlines()]
            out.append("\n".join(f"{rest}    {line}".rstrip() for line in lines))
        else:
            out.append(wrap(_cited(block.spans, refs), width, rest, first))
    return join_blocks(blocks, out)


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


def tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
