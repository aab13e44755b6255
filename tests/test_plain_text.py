"""Writing plain text: wrapping, underlined headings, link references and blocks."""

from __future__ import annotations

import pytest

from roundup.markdown_blocks import parse_markdown
from roundup.plain_text import LinkRefs, blocks_to_text, tidy, underline, wrap


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        ("short words only", 72, "short words only"),
        ("aaa bbb ccc", 7, "aaa bbb\nccc"),
        ("x " + "y" * 12, 5, "x\nyyyyy\nyyyyy\nyy"),
        ("see https://example.org/" + "a" * 80, 72, "see\nhttps://example.org/" + "a" * 80),
        ("", 72, ""),
    ],
)
def test_wrap(value: str, width: int, expected: str) -> None:
    """Words re-flow to the width; long words split, except URLs."""
    assert wrap(value, width) == expected


def test_wrap_with_a_list_marker() -> None:
    """``first`` starts the first line, ``indent`` the others."""
    assert wrap("aaa bbb ccc", 9, indent="  ", first="- ") == "- aaa bbb\n  ccc"


def test_underline_matches_the_longest_line() -> None:
    """The underline is as long as the heading's longest wrapped line (T4)."""
    assert underline("A heading", "-") == "A heading\n---------"
    assert underline("aaaa bb", "=", width=5) == "aaaa\nbb\n===="


def test_link_refs_number_each_url_once() -> None:
    """The same URL keeps its number; a URL too long for its line goes on the next one."""
    refs = LinkRefs()
    long_url = "https://example.org/" + "a" * 60
    assert [refs.cite("https://a.org/"), refs.cite(long_url), refs.cite("https://a.org/")] == [
        " [1]",
        " [2]",
        " [1]",
    ]
    assert refs.cite("") == ""
    assert refs.listing(width=40) == f"[1] https://a.org/\n[2]\n{long_url}"


def test_blocks_to_text_cites_links_and_keeps_structure() -> None:
    """Links become reference numbers; quotes, lists, code and rules stay readable."""
    blocks = parse_markdown(
        "See [the text](https://example.org/a).\n\n> quoted\n\n1. one\n2. two\n\n"
        "```\ncode\n```\n\n---"
    )
    refs = LinkRefs()
    written = blocks_to_text(blocks, refs, indent="  ")
    assert written == (
        "  See the text [1].\n\n  > quoted\n\n  1. one\n  2. two\n\n      code\n\n  * * *"
    )
    assert refs.listing() == "[1] https://example.org/a"


def test_tidy() -> None:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    assert tidy("\n\na  \n\n\n\nb\n\n") == "a\n\nb\n"
