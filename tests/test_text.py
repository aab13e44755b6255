"""Untrusted text made safe: feed strings, the editor's Markdown source, and links."""

from __future__ import annotations

import pytest

from roundup.text import clean_line, clean_markdown, remove_tags, safe_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  two\n  lines ", "two lines"),
        ("Q&amp;A: <b>bold</b> claims", "Q&A: bold claims"),
        ("bell\x07 and \x92quote", "bell and quote"),
        ("{{ 7*7 }} and {% if %}", "{ { 7*7 }} and { % if %}"),
        ("see javascript:alert(1)", "see javascript\u200b:alert(1)"),
        ("data:text/html;base64,xx", "data\u200b:text/html;base64,xx"),
    ],
)
def test_clean_line(value: str, expected: str) -> None:
    """One line: entities decoded, tags, controls and template openers made harmless."""
    assert clean_line(value) == expected


def test_clean_markdown_keeps_lines_and_breaks_template_syntax() -> None:
    """The editor's Markdown keeps its line structure; CR LF becomes LF."""
    assert clean_markdown("a\r\nb {% x %}\x00\r\n") == "a\nb { % x %}"


def test_remove_tags_takes_out_tags_and_nothing_else() -> None:
    """Tags and comments go; entities and spacing stay as they were."""
    assert remove_tags("a <b>x</b> &amp; <!-- c -->y") == "a x &amp; y"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=c#d", "https://example.org/a?b=c#d"),
        ("http://example.org/a", "https://example.org/a"),
        ("HTTP://Example.org/", "https://Example.org/"),
        ("javascript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("data:text/html,x", ""),
        ("/relative/path", ""),
        ("https:///nohost", ""),
        ("https://exa mple.org/", ""),
        ("mailto:someone@example.org", ""),
    ],
)
def test_safe_url(url: str, expected: str) -> None:
    """Only http(s) URLs with a host survive, as https."""
    assert safe_url(url) == expected


def test_safe_url_allows_mailto_when_asked() -> None:
    """A mailto: link with an address is kept where the caller allows it (notes)."""
    assert safe_url("mailto:me@example.org", allow_mailto=True) == "mailto:me@example.org"
    assert safe_url("mailto:nobody", allow_mailto=True) == ""
