"""Excerpts: boilerplate removed, structure kept, cut at a sentence, title not repeated."""

from __future__ import annotations

import pytest

from roundup.excerpt import make_excerpt, shorten_at_sentence, strip_boilerplate
from roundup.normalize import summary_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # WordPress (Yoast), in each language roundup has labels for
        (
            "Talks resumed.\n\nThe post Talks in Doha appeared first on The Ledger.",
            "Talks resumed.",
        ),
        (
            "Talks resumed.\n\nThe post Talks in Doha first appeared on The Ledger.",
            "Talks resumed.",
        ),
        ("Talks resumed. The post Talks in Doha appeared first on The Ledger.", "Talks resumed."),
        ("Reprise.\n\nL’article Reprise à Doha est apparu en premier sur Le Registre.", "Reprise."),
        (
            "Gespräche.\n\nDer Beitrag Gespräche in Doha erschien zuerst auf Das Blatt.",
            "Gespräche.",
        ),
        ("Diálogo.\n\nLa entrada Diálogo en Doha se publicó primero en El Diario.", "Diálogo."),
        # "read more" links
        ("Talks resumed in Doha. Continue reading →", "Talks resumed in Doha."),
        ("Talks resumed in Doha. Continue reading Talks in Doha", "Talks resumed in Doha."),
        ("Talks resumed.\n\nContinue reading →", "Talks resumed."),
        ("Talks resumed in Doha […] Continue reading →", "Talks resumed in Doha…"),
        ("Talks resumed in Doha [...]", "Talks resumed in Doha…"),
        ("Talks resumed in Doha [&hellip;]", "Talks resumed in Doha…"),
        ("Talks resumed. Read more »", "Talks resumed."),
        ("Talks resumed.\n\nRead More...", "Talks resumed."),
        ("Talks resumed.\n\nKeep reading", "Talks resumed."),
        ("Reprise des pourparlers. Lire la suite →", "Reprise des pourparlers."),
        ("Reprise.\n\nContinuer la lecture", "Reprise."),
        ("Gespräche gehen weiter. Weiterlesen »", "Gespräche gehen weiter."),
        ("Diálogo reanudado. Leer más", "Diálogo reanudado."),
        ("Diálogo.\n\nSeguir leyendo →", "Diálogo."),
        # Medium and Substack
        (
            "Notes.\n\nWhy we shipped was originally published in Eng Blog on Medium, where"
            " people are continuing the conversation by highlighting and responding to this"
            " story.",
            "Notes.",
        ),
        ("Notes.\n\nContinue reading on Medium »", "Notes."),
        ("Notes.\n\nSubscribe now\n\nShare\n\nLeave a comment", "Notes."),
        # share links and comment counts
        (
            "Shares in Apple fell.\n\nShare this:\nTwitter\nFacebook\nLike this:\nLike Loading...",
            "Shares in Apple fell.",
        ),
        ("Notes.\n\nTwitter | Facebook | Email", "Notes."),
        ("Notes.\n\nShare on Facebook", "Notes."),
        ("Notes.\n\n12 Comments", "Notes."),
        ("Notes.\n\nNo comments", "Notes."),
        ("Notes.\n\n3 commentaires", "Notes."),
        ("Notes.\n\n5 Kommentare", "Notes."),
        ("Notes.\n\n2 comentarios", "Notes."),
        ("A cat.\n\nsubmitted by /u/someone to /r/cats\n[link] [12 comments]", "A cat."),
        # what must stay
        ("Students should read more.", "Students should read more."),
        ("Share prices fell.", "Share prices fell."),
        ("The post office reopened on Monday.", "The post office reopened on Monday."),
        ("Comments from the minister were brief.", "Comments from the minister were brief."),
        ("• one\n• two", "• one\n• two"),
    ],
)
def test_strip_boilerplate(text: str, expected: str) -> None:
    """The lines blog engines add go; the post's own words stay, whatever they start with."""
    assert strip_boilerplate(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("One. Two three four five six.", 12, "One."),
        ("Short.", 300, "Short."),
        (
            "The first sentence is here. The second one runs on far beyond the limit given.",
            50,
            "The first sentence is here.",
        ),
        # no sentence end in reach: a cut at a word
        ("word " * 20, 30, "word word word word word word…"),
        # whole paragraphs kept, the next cut at a sentence
        (
            "Para one is short.\n\nPara two is longer. It goes on and on past the limit here.",
            60,
            "Para one is short.\n\nPara two is longer.",
        ),
        # too little room for the next paragraph: stop after the last whole one
        (
            "Para one is short and done.\n\nAnother paragraph that is long.",
            35,
            "Para one is short and done.",
        ),
        # abbreviations are no sentence end
        (
            "Dr. Smith met Mr. Jones today. Then they left town together.",
            40,
            "Dr. Smith met Mr. Jones today.",
        ),
    ],
)
def test_shorten_at_sentence(text: str, limit: int, expected: str) -> None:
    """Shortening keeps paragraphs and prefers a sentence end to a cut word."""
    shortened = shorten_at_sentence(text, limit)
    assert shortened == expected
    assert len(shortened) <= limit


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        # an untitled post: its title is its first sentence, and the excerpt goes on
        (
            "Walked to the harbour.",
            "Walked to the harbour. The boats were in.",
            "The boats were in.",
        ),
        ("Walked to the harbour.", "Walked to the harbour.", ""),
        # a title cut in a sentence: the excerpt continues after it
        (
            "A long untitled post that goes on…",
            "A long untitled post that goes on and on about the harbour.",
            "…and on about the harbour.",
        ),
        # a titled post whose summary opens with the title
        ("Talks in Doha", "Talks in Doha\n\nThe parties met again.", "The parties met again."),
        # a different first sentence stays
        ("Talks in Doha", "The parties met again in Doha.", "The parties met again in Doha."),
    ],
)
def test_excerpt_does_not_repeat_title(title: str, text: str, expected: str) -> None:
    """An excerpt never opens with its own title again."""
    assert make_excerpt(text, 300, title=title) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane Doe\n\nThe talks resumed.", "The talks resumed."),
        ("By Jane Doe\n\nThe talks resumed.", "The talks resumed."),
        ("Jane Doe said the talks resumed.", "Jane Doe said the talks resumed."),
    ],
)
def test_excerpt_drops_a_byline_line(text: str, expected: str) -> None:
    """A first line that only names the author is a byline, not the post's words."""
    assert make_excerpt(text, 300, author="Jane Doe") == expected


def test_excerpt_keeps_lists_and_paragraphs_from_html() -> None:
    """A summary's paragraphs and list items stay apart, from HTML to excerpt."""
    html = (
        "<p>Three things this week:</p><ul><li>talks</li><li>trade</li></ul>"
        "<p>More soon. <a href='https://x.example/p'>Continue reading <span>Week</span> →</a></p>"
        "<p>The post <a href='https://x.example/p'>Week</a> appeared first on"
        " <a href='https://x.example/'>X</a>.</p>"
    )
    text = summary_text(html, "https://x.example/")
    assert make_excerpt(text, 300) == "Three things this week:\n\n• talks\n• trade\n\nMore soon."
