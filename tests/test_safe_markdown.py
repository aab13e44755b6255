"""Writing safe Markdown: escaped plain text, links, quotes, and blocks written back."""

from __future__ import annotations

import pytest

from roundup.markdown_blocks import parse_markdown
from roundup.safe_markdown import blocks_to_markdown, md_escape, md_link, md_quote, md_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain words", "plain words"),
        ("*not emphasis* and [not](a link)", r"\*not emphasis\* and \[not\](a link)"),
        ("# not a heading", r"\# not a heading"),
        ("1. not a list", r"1\. not a list"),
        ("- not a bullet", r"\- not a bullet"),
        ("<b>raw</b> & {% tag %}", "&#60;b&#62;raw&#60;/b&#62; & &#123;% tag %&#125;"),
        ("Deterrence & Its Discontents", "Deterrence & Its Discontents"),
        ("AT&T &copy; &#169; &x", r"AT&T &#38;copy; &\#169; &x"),
        (
            "a | b ~~c~~ $$d$$ {{< e >}}",
            "a &#124; b &#126;&#126;c&#126;&#126; &#36;&#36;d&#36;&#36;"
            " &#123;&#123;&#60; e &#62;&#125;&#125;",
        ),
        ("&amp; stays text", "&#38;amp; stays text"),
        ("= not a heading rule", "&#61; not a heading rule"),
        (": not a definition", "&#58; not a definition"),
        ("2) not a list", r"2\) not a list"),
        ("back\\slash `code` _under_", r"back\\slash \`code\` \_under\_"),
    ],
)
def test_markdown_escape(value: str, expected: str) -> None:
    """Plain text is made literal in Markdown."""
    assert md_escape(value) == expected


def test_md_url_encodes_what_would_end_the_link() -> None:
    """Spaces, parentheses, angle brackets, quotes, backslashes and backticks."""
    assert md_url('https://x.org/a b(c)<d>"e\\`') == "https://x.org/a%20b%28c%29%3Cd%3E%22e%5C%60"


def test_md_link() -> None:
    """``[text](url)`` with the text escaped, or the text alone without a URL."""
    assert md_link("a [b]", "https://x.org/a b") == r"[a \[b\]](https://x.org/a%20b)"
    assert md_link("*t*", "") == r"\*t\*"


def test_md_quote() -> None:
    """Every line is quoted, blank lines too (so the quote does not end)."""
    assert md_quote("a\n\nb") == "> a\n>\n> b"


def test_blocks_to_markdown_writes_the_blocks_back() -> None:
    """Links, emphasis, quotes, lists, code and rules come back as safe Markdown."""
    blocks = parse_markdown(
        "See [the *text*](http://example.org/a) and `code`.\n\n> quoted\n\n1. one\n   - two\n\n"
        "```\nuses ``` inside\n```\n\n---\n\n<script>x</script> *5 * 3*"
    )
    assert blocks_to_markdown(blocks) == (
        "See [the *text*](https://example.org/a) and `code`.\n\n> quoted\n\n1. one\n   - two\n\n"
        "~~~~\nuses ``` inside\n~~~~\n\n* * *\n\nx *5 \\* 3*"
    )
