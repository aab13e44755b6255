"""Untrusted text made safe: feed strings, the editor's Markdown source, and links."""

from __future__ import annotations

import pytest

from roundup.text import (
    byline_author,
    clean_line,
    clean_markdown,
    first_sentence,
    read_minutes,
    remove_tags,
    safe_url,
)


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


@pytest.mark.parametrize(
    ("author", "source", "expected"),
    [
        ("Jane Doe", "The Elicitor", "Jane Doe"),
        ("By Jane Doe", "The Elicitor", "Jane Doe"),
        ("  jane   doe ", "The Elicitor", "jane doe"),
        ("Jane Doe and John Roe", "The Elicitor", "Jane Doe and John Roe"),
        ("jane@example.org (Jane Doe)", "The Elicitor", "Jane Doe"),
        ('"Jane Doe" <jane@example.org>', "The Elicitor", "Jane Doe"),
        ("jane@example.org", "The Elicitor", ""),
        ("https://example.org/about", "The Elicitor", ""),
        ("The Elicitor", "The Elicitor", ""),
        ("the elicitor", "The Elicitor", ""),
        ("Elicitor", "The Elicitor", ""),
        ("THE ELICITOR.", "The Elicitor", ""),
        ("Harbor and Helm", "Harbor & Helm", ""),
        ("Harbor & Helm editors", "Harbor & Helm", ""),
        ("Levant Ledger desk", "Levant Ledger", ""),
        ("CBS News", "World - CBSNews.com", "CBS News"),  # an agency credit is a byline
        ("Reuters", "World", "Reuters"),
        ("admin", "The Elicitor", ""),
        ("Administrator", "The Elicitor", ""),
        ("Staff", "The Elicitor", ""),
        ("Staff Writer", "The Elicitor", ""),
        ("Editorial Team", "The Elicitor", ""),
        ("La rédaction", "Le Monde", ""),
        ("Redaktion", "heise online", ""),
        ("Sponsored", "Strait Talk", ""),
        ("wp_admin2", "The Elicitor", ""),
        ("/u/Remarkable_Housing61", "homelab", "/u/Remarkable_Housing61"),
        ("Paul Dix", "Paul Dix Explains Nothing", "Paul Dix"),
        ("The Typepad Team", "Everything Typepad", ""),
        ("heise online", "heise developer neueste Meldungen", ""),
        ("Google", "Google", ""),
        ("Simon St.Laurent (mailto:simonstl@example.com)", "Meerkat", "Simon St.Laurent"),
        ("Author: Luke", "Luke's blog", "Luke"),
        ("Posted by Jane Doe", "The Elicitor", "Jane Doe"),
        ("記事1の作者名", "Feed title", "記事1の作者名"),
        ("Various", "All About Everything", ""),
        ("12345", "The Elicitor", ""),
        ("", "The Elicitor", ""),
        ("<b>Jane</b> Doe", "The Elicitor", "Jane Doe"),
    ],
)
def test_byline_author(author: str, source: str, expected: str) -> None:
    """A byline names a person (or an agency), never a role, an account or the source."""
    assert byline_author(author, source) == expected


_ARTICLE = "The minister spoke for an hour about the budget. " * 40  # 360 words


@pytest.mark.parametrize(
    ("article", "minutes"),
    [
        ("", 0),
        ("word " * 250, 0),  # a long teaser, not clearly the article
        ("word " * 251, 2),
        ("word " * 460, 2),
        ("word " * 461, 3),
        ("word " * 920, 4),
        (_ARTICLE, 2),
        (_ARTICLE + "And then the vote came…", 0),
        (_ARTICLE + "And then the vote came...", 0),
        (_ARTICLE + "And then the vote came […]", 0),
        (_ARTICLE + "And then the vote came [...]", 0),
        (_ARTICLE + "Continue reading →", 0),
        (_ARTICLE + "Read more", 0),
        (_ARTICLE + "Read the full story at The Times.", 0),
        (_ARTICLE + "Lire la suite", 0),
        (_ARTICLE + "Weiterlesen", 0),
        (_ARTICLE + "Seguir leyendo", 0),
        ("… a quote that trails off, they said. " + _ARTICLE, 2),  # only the end counts
        ("国" * 1000, 2),  # CJK: 500 characters a minute
    ],
)
def test_read_minutes(article: str, minutes: int) -> None:
    """A read time only for the whole article: over 250 words, not cut off as a teaser is."""
    assert read_minutes(article) == minutes


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("", 150, ""),
        ("One sentence only", 150, "One sentence only"),
        (
            "Welcome back to the roundup, everyone. This week is busy.",
            150,
            "Welcome back to the roundup, everyone.",
        ),
        ("Hi all. This week is busy. Very busy.", 150, "Hi all. This week is busy. Very busy."),
        (
            "Hi. The Iran deal dominated the week. Markets shrugged.",
            150,
            "Hi. The Iran deal dominated the week.",
        ),
        (
            "Is the long summer of talks finally over? Not yet.",
            150,
            "Is the long summer of talks finally over?",
        ),
        (
            "He said “we are stopping the talks.” Then he left.",
            150,
            "He said “we are stopping the talks.”",
        ),
        (
            "Prices rose by about 2.5 percent this week. Then fell.",
            150,
            "Prices rose by about 2.5 percent this week.",
        ),
        ("a\n  b. C", 150, "a b. C"),
        ("word " * 40, 30, "word word word word word…"),
    ],
)
def test_first_sentence(value: str, limit: int, expected: str) -> None:
    """A preheader from the intro: its first sentence, or the text cut at a word."""
    assert first_sentence(value, limit) == expected
