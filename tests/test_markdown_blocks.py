"""The editor's Markdown read into blocks, and the layout rules the writers share."""

from __future__ import annotations

from roundup.markdown_blocks import (
    Block,
    Span,
    blocks_plain,
    join_blocks,
    line_prefixes,
    markdown_tokens,
    parse_markdown,
)

NOTE = (
    "See [the text](http://example.org/a) and **this**.\n\n"
    "> quoted\n\n"
    "1. one\n2. two\n   - nested\n\n"
    "```\ncode <b>\n```\n\n"
    "---\n\n"
    "# Why\n\n"
    "![a chart](https://example.org/i.png) <span>words</span>"
)


def test_parse_markdown_reads_paragraphs_quotes_lists_code_and_rules() -> None:
    """Each paragraph-level piece is one block, with its quote depth and list markers."""
    blocks = parse_markdown(NOTE)
    assert blocks[0] == Block(
        "p",
        (
            Span("See "),
            Span("the text", "https://example.org/a"),
            Span(" and "),
            Span("this", styles=("strong",)),
            Span("."),
        ),
    )
    assert blocks[1] == Block("p", (Span("quoted"),), quote=1)
    assert [(b.lists, b.marked) for b in blocks[2:5]] == [
        (("1.",), True),
        (("2.",), True),
        (("2.", "-"), True),
    ]
    assert blocks[5] == Block("code", (Span("code <b>"),))
    assert blocks[6] == Block("hr")


def test_headings_become_bold_and_images_their_alt_text() -> None:
    """A heading cannot add a second <h1>, an image cannot be a web bug; tags lose their
    markup but keep their words."""
    blocks = parse_markdown(NOTE)
    assert blocks[7] == Block("p", (Span("Why", styles=("strong",)),))
    assert blocks[8] == Block("p", (Span("a chart words"),))


def test_unsafe_links_keep_their_words_only() -> None:
    """A javascript: link is text with no target."""
    assert parse_markdown("[x](javascript:alert(1))") == (Block("p", (Span("x"),)),)


def test_markdown_tokens_has_no_raw_html() -> None:
    """Raw HTML is off: a tag is never an html_inline or html_block token."""
    tokens = markdown_tokens("<div>block</div>\n\ntext <b>bold</b>")
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or ()}
    assert not kinds & {"html_inline", "html_block"}


def test_blocks_plain_is_one_line() -> None:
    """All the words of the blocks on one line (the preheader falls back to it)."""
    assert blocks_plain(parse_markdown("An *intro*.\n\n- with a list")) == "An intro. with a list"


def test_line_prefixes_show_quotes_then_list_nesting() -> None:
    """The first line carries the innermost marker; the others line up under its text."""
    assert line_prefixes(Block("p", quote=1, lists=("2.",), marked=True)) == ("> 2. ", ">    ")
    assert line_prefixes(Block("p", lists=("1.", "-"), marked=True), "  ") == ("     - ", "       ")
    assert line_prefixes(Block("p", lists=("-",), marked=False)) == ("  ", "  ")
    assert line_prefixes(Block("p")) == ("", "")


def test_join_blocks_keeps_list_items_together() -> None:
    """A blank line between blocks, but none between the items of one list."""
    blocks = parse_markdown("Intro\n\n- a\n- b\n\nAfter")
    assert join_blocks(blocks, ["I", "A", "B", "Z"]) == "I\n\nA\nB\n\nZ"
