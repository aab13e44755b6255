"""Writing safe Markdown for the blog post, from plain text and :class:`Block` values.

Feed text reaches the post only through :func:`md_escape` (and :func:`md_link`,
:func:`md_url`), which make it literal for Jekyll, Hugo and Pelican alike; the editor's
intro and notes only through :func:`blocks_to_markdown`, which writes the blocks of
:mod:`roundup.markdown_blocks` back out, never the editor's source.
"""

from __future__ import annotations

import re

from roundup.markdown_blocks import Block, Span, join_blocks, line_prefixes

# Jekyll (kramdown), Hugo (goldmark) and Pelican (Python-Markdown) agree on backslash escapes
# only for a few characters; any other escaped character shows its backslash in one of them
# (kramdown prints "\\&", Python-Markdown "\\|"). These few are backslash-escaped:
_MD_BACKSLASH = re.compile(r"([\\`*_\[\]#])")
# and these become numeric character references, which all three read as the character: raw
# HTML and entities, tables, strikethrough, math ("$$"), Liquid tags and Hugo shortcodes.
# A lone "&" is literal in all three; only one that would start an entity is replaced.
_MD_ENTITY = {char: f"&#{ord(char)};" for char in "&<>|~${}"}
_MD_ENTITIES = re.compile(r"[<>|~${}]|&(?=#?[A-Za-z0-9]+;)")
# Only special at the start of a line: headings, quotes, lists, setext underlines, and
# kramdown's and Python-Markdown's definition lists.
_MD_LINE_START = re.compile(r"^(\s*)([-+=:]|\d+[.)])")


def md_escape(text: str) -> str:
    """Plain text made literal in Markdown, and shown as written by Jekyll, Hugo and Pelican.

    Example: ``md_escape("Deterrence & *Its* <Discontents>")`` is
    ``"Deterrence & \\*Its\\* &#60;Discontents&#62;"``.
    """
    text = _MD_BACKSLASH.sub(r"\\\1", text)
    text = _MD_ENTITIES.sub(lambda m: _MD_ENTITY[m[0]], text)
    return _MD_LINE_START.sub(_line_start, text)


def _line_start(match: re.Match[str]) -> str:
    lead, mark = match[1], match[2]
    if mark in "-+":
        return f"{lead}\\{mark}"
    if mark in "=:":
        return f"{lead}&#{ord(mark)};"
    return f"{lead}{mark[:-1]}\\{mark[-1]}"  # "1." becomes "1\\." (not a list)


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
        ("{", "%7B"),  # Liquid and Hugo read "{{" anywhere in the post
        ("}", "%7D"),
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
        first, rest = line_prefixes(block)
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
    return join_blocks(blocks, [piece.rstrip() for piece in out])


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
