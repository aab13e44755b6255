"""Untrusted text made safe to show: feed strings, the editor's Markdown source, and links.

Feed content is untrusted. Titles, sources and excerpts are plain text: :func:`clean_line`
normalises them once, before any template sees them. The editor's intro and notes are
Markdown: :func:`clean_markdown` strips what no output may carry before
:mod:`roundup.markdown_blocks` reads them. Every link goes through :func:`safe_url`, which
keeps only absolute http(s) URLs (as https).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit, urlunsplit

from roundup.normalize import strip_tracking

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


def clean_blocks(text: str) -> tuple[tuple[str, ...], ...]:
    """Plain text that keeps its structure: paragraphs (split by a blank line) of lines,
    each line cleaned as :func:`clean_line` does; empty lines and paragraphs are dropped.

    >>> clean_blocks("Intro &amp; more\\n\\n• one\\n• two")
    (('Intro & more',), ('• one', '• two'))
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (
        tuple(line for line in (clean_line(raw) for raw in block.split("\n")) if line)
        for block in re.split(r"\n[ \t]*\n", text)
    )
    return tuple(paragraph for paragraph in paragraphs if paragraph)


def clean_markdown(source: str) -> str:
    """The editor's Markdown with control characters and template openers removed."""
    source = _CONTROL.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    return _defuse(_TEMPLATE_OPENER.sub("{ ", source)).strip()


def remove_tags(text: str) -> str:
    """``text`` without anything that looks like an HTML tag, e.g. ``a <b>x</b>`` → ``a x``.

    Nothing else changes: entities stay, and no space is put in a tag's place.
    """
    return _TAG.sub("", text)


def safe_url(url: str, *, allow_mailto: bool = False) -> str:
    """``url`` as an absolute https URL, or "" when it cannot be a safe link.

    ``http`` is upgraded to ``https``: the email checklist (H8) allows only https links,
    and mixed content would break the blog post. Any other scheme (``javascript:``,
    ``data:``, relative paths) yields "", so the caller renders no link at all. Tracking
    parameters go, by the rule that makes canonical URLs
    (:func:`roundup.normalize.strip_tracking`): a reader's click is nobody's campaign.
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
    link = urlunsplit(("https", parts.netloc, parts.path, parts.query, parts.fragment))
    return strip_tracking(link) if parts.query else link


# --- bylines, read time and preheaders ------------------------------------------------------

# Words that name a role or an account, not a person: an author made only of these (and of
# the source's own words) is no byline ("admin", "Staff Writer", "The Elicitor Editors").
_NOT_A_NAME = frozenset(
    {
        "admin", "administrator", "administrators", "author", "authors", "anonymous",
        "unknown", "guest", "user", "root", "webmaster", "editor", "editors", "editorial",
        "redaction", "redactie", "rédaction", "redaktion", "redacción", "redaccion", "staff",
        "team", "desk", "newsroom", "news", "writer", "writers", "contributor",
        "contributors", "reporter", "reporters", "correspondent", "correspondents", "the",
        "a", "an", "and", "of", "by", "our", "wire", "feed", "rss", "blog", "site", "press",
        "office", "online", "web", "digital", "none", "null", "sponsored", "partner",
        "promoted", "advertiser", "advertorial", "la", "le", "les", "l", "die", "der",
        "das", "el", "los", "las", "equipo", "équipe", "various", "multiple", "several",
    }
)  # fmt: skip
_BY = re.compile(r"^(?:(?:posted |written )?by|par|von|por|author\s*:)\s+", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_EMAIL_WITH_NAME = re.compile(r"^\S+@\S+\s*\((?P<name>[^()]+)\)$")
_BRACKETED_EMAIL = re.compile(r"\s*[(\[][^()\[\]]*@[^()\[\]]*[)\]]")  # "Jane (mailto:j@x.org)"
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.replace("&", " and ").casefold()))


def byline_author(author: str, source: str) -> str:
    """The name to print as "by …", or "" when ``author`` is no person's name.

    An RFC 822 mailbox gives its name (``jane@example.org (Jane Doe)`` → ``Jane Doe``); a
    leading "By" goes. Nothing is printed for an address alone, an account name
    (``wp_admin2``; Reddit's ``/u/name`` is kept, it is how people are named there), a
    role (``admin``, ``Staff Writer``), or the source's own name in any case or punctuation
    (``The Elicitor`` for the source ``Elicitor``, ``Harbor & Helm editors``). A person the
    source is named after keeps the byline: ``Paul Dix`` on "Paul Dix Explains Nothing".
    """
    name = clean_line(author)
    mailbox = _EMAIL_WITH_NAME.match(name)
    name = mailbox["name"] if mailbox else _BRACKETED_EMAIL.sub("", name)
    name = _BY.sub("", name.strip()).strip(" ,;:·|-–—\"'“”")
    if not name or _EMAIL.search(name) or "://" in name:
        return ""
    if "_" in name and not name.startswith("/u/"):
        return ""  # a login (wp_admin2), not a name
    if not any(char.isalpha() for char in name):
        return ""  # digits or punctuation only
    words, own = _words(name), _words(source)
    core = words - _NOT_A_NAME
    if not core:
        return ""  # only roles and articles: "admin", "The Editors"
    if core <= own and (core == own - _NOT_A_NAME or core != words):
        return ""  # the source itself, or the source plus a role: "Harbor & Helm editors"
    return name


WORDS_PER_MINUTE = 230
CJK_CHARACTERS_PER_MINUTE = 500  # Chinese and Japanese are read by character
FULL_TEXT_WORDS = 250  # fewer words than this are a teaser, not the article
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# How a feed says "this is only the beginning": it ends in an ellipsis or "[…]", or its
# last words link onwards (WordPress, Blogger, FeedBurner, Medium, in our languages).
_TRUNCATED = re.compile(
    r"(\.\.\.|…|\[\s*(…|\.\.\.)?\s*\])[\W]*$"
    r"|\b(read|continue|keep) (more|reading|on|the (full|rest))\b|\bmore\s*»"
    r"|lire la suite|weiterlesen|mehr lesen|leer más|seguir leyendo|sigue leyendo",
    re.IGNORECASE,
)


def read_minutes(article: str) -> int:
    """Whole minutes to read ``article`` (plain text), or 0 when it is not the whole article.

    A text counts as the article when it has more than :data:`FULL_TEXT_WORDS` words and
    does not end the way a teaser does ("…", "[…]", "Read more", "Continue reading"):
    230 words a minute (CJK: 500 characters), rounded up.

    >>> read_minutes("word " * 920)
    4
    """
    cjk = len(_CJK.findall(article))
    words = len(_CJK.sub(" ", article).split()) + cjk * WORDS_PER_MINUTE / CJK_CHARACTERS_PER_MINUTE
    if words <= FULL_TEXT_WORDS or _TRUNCATED.search(article[-120:]):
        return 0
    return max(1, -(-int(words) // WORDS_PER_MINUTE))


_FIRST_SENTENCE = re.compile(r"(.+?[.!?…][\"'”’)\]]*)(?=\s+[\"'“‘(\[]*[A-ZÀ-ÖØ-Þ0-9])")


SHORT_SENTENCE = 30  # "Hi all." says nothing in an inbox: the next sentence joins it


def first_sentence(text: str, limit: int = 150) -> str:
    """The opening sentence of ``text`` on one line, joined by the next ones while it is
    shorter than :data:`SHORT_SENTENCE` characters; cut at a word with "…" past ``limit``.
    A preheader is a sentence, never a list.

    >>> first_sentence("Hi all. The Iran deal dominated the week. Markets shrugged.")
    'Hi all. The Iran deal dominated the week.'
    """
    rest = " ".join(text.split())
    sentence = ""
    while rest and len(sentence) < SHORT_SENTENCE:
        found = _FIRST_SENTENCE.match(rest)
        piece = found[1] if found else rest
        sentence = f"{sentence} {piece}".strip()
        rest = rest[len(piece) :].strip()
    if len(sentence) <= limit:
        return sentence
    head = sentence[: limit - 1].rsplit(" ", 1)[0]
    return head.rstrip(" ,;:·-–—") + "…"
