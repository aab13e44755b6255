"""Excerpts: what a reader sees of a post under its title.

A feed's summary carries more than the post's words. Blog engines and feed services add
their own lines: WordPress's "The post X appeared first on Y." and "Continue reading →",
Medium's "… was originally published in X on Medium", Substack's "Subscribe now" and
"Leave a comment", Blogger's and Ghost's "Read more", FeedBurner's share links, comment
counts, and the "[…]" that marks a cut. :func:`strip_boilerplate` removes them, in the
languages whose labels roundup ships (English, French, German, Spanish).

:func:`make_excerpt` then keeps the summary's structure (paragraphs stay apart, list items
keep their "•" lines), does not repeat the post's title, and shortens at a sentence end
when one falls in reach, else at a word. All of it works on the plain text that
:func:`roundup.normalize.summary_text` gives: paragraphs split by a blank line, lines by a
line break.
"""

from __future__ import annotations

import re

BULLET = "• "
PARAGRAPH = "\n\n"
ELLIPSIS = "…"

# A "read more" link, in the four languages, with the arrows, guillemets and ellipses that
# follow it. Such a line is dropped; at the end of a paragraph it is cut off.
_MORE = (
    r"(?:continue|keep)\s+reading|read\s+(?:the\s+)?(?:more|rest|full\s+(?:story|article|post))"
    r"|read\s+on|view\s+(?:the\s+)?(?:full\s+)?(?:post|article)|more\s*»"
    r"|lire\s+la\s+suite|(?:continuer|poursuivre)\s+la\s+lecture|en\s+savoir\s+plus"
    r"|weiterlesen|mehr\s+lesen|(?:den\s+)?(?:ganzen\s+)?artikel\s+lesen|mehr\s+erfahren"
    r"|leer\s+m[aá]s|seguir\s+leyendo|continuar\s+leyendo|sigue\s+leyendo"
)
_TRAIL = r"[\s.…:»›→⟶>\]\[)(\-–—]*"
_MORE_LINE = re.compile(rf"^{_TRAIL}(?:{_MORE})\b.{{0,120}}$", re.IGNORECASE)
_MORE_TAIL = re.compile(
    # after a sentence end: "… the talks. Continue reading Talks in Doha"
    rf"(?<=[.!?…\"”])\s*[\[(]?\s*(?:{_MORE})\b[^\n]{{0,100}}$"
    # or with the arrow, guillemet or ellipsis a link label ends with: "… Read more »"
    rf"|\s*[\[(]?\s*(?:{_MORE})\b[^\n.!?]{{0,100}}?\s*(?:→|⟶|»|›|\.\.\.|…|\]|\))\W*$",
    re.IGNORECASE,
)
# "[…]" or "[...]" wherever it stands: a cut, shown as a plain "…".
_CUT_MARK = re.compile(r"\s*[\[(]\s*(?:…|\.\.\.|&hellip;)\s*[\])]")

# Whole lines the engines add, in the four languages.
_BOILERPLATE_LINES = [
    # WordPress (Yoast and others): "The post X appeared first on Y."
    r"the\s+post\s+.+\s+(?:appeared\s+first|first\s+appeared)\s+on\s+.+",
    r"this\s+(?:post|article|entry)\s+(?:was\s+)?(?:originally\s+)?(?:published|appeared)\s+(?:first\s+)?(?:on|at|in)\s+.+",
    r"(?:originally\s+)?(?:published|posted)\s+(?:originally\s+)?(?:on|at)\s+\S+\.?",
    r"l[’']article\s+.+\s+est\s+apparu\s+en\s+premier\s+sur\s+.+",
    r"(?:cet\s+article|le\s+billet)\s+.+\s+(?:est\s+paru|a\s+été\s+publié)\s+(?:en\s+premier\s+)?sur\s+.+",
    r"(?:der\s+beitrag|der\s+artikel)\s+.+\s+(?:erschien|ist)\s+zuerst\s+(?:auf|bei)\s+.+",
    r"(?:la\s+entrada|el\s+post|el\s+art[ií]culo|la\s+publicaci[oó]n)\s+.+\s+(?:se\s+public[oó]|apareci[oó])\s+primero\s+en\s+.+",
    # Medium
    r".+\s+was\s+originally\s+published\s+in\s+.+\s+on\s+medium,.+",
    r"continue\s+reading\s+on\s+.+",
    # Substack, Ghost, Buttondown buttons
    r"(?:subscribe|subscribe\s+now|upgrade\s+to\s+paid|share|leave\s+a\s+comment|read\s+in\s+app"
    r"|give\s+a\s+gift\s+subscription|share\s+this\s+post|listen\s+now|sign\s+up)",
    r"s[’']abonner|partager|laisser\s+un\s+commentaire|abonnieren|teilen|kommentieren"
    r"|suscr[ií]bete|compartir|deja\s+un\s+comentario",
    # Share links (WordPress's sharing block, FeedBurner's flares)
    r"(?:share(?:\s+this)?|like\s+this|teilen\s+mit|partager\s+(?:ceci|cet\s+article)"
    r"|compartir\s+esto)\s*:.{0,200}",
    r"(?:share\s+on|email\s+this|tweet\s+this|post\s+to|add\s+to)\s+\w[\w. ]{0,30}",
    r"(?:facebook|twitter|x|linkedin|reddit|email|e-mail|print|pinterest|whatsapp|tumblr"
    r"|pocket|telegram|mastodon|bluesky|tweet|like|loading\.{0,3}|like\s+loading\.{0,3})"
    r"(?:\s*[|·,/]\s*(?:facebook|twitter|x|linkedin|reddit|email|e-mail|print|pinterest"
    r"|whatsapp|tumblr|pocket|telegram|mastodon|bluesky|tweet|more))*",
    # Comment counts
    r"(?:\d+|no|one|zero)\s+(?:comments?|responses?|replies)",
    r"(?:comments?|responses?)\s*(?:\(\d+\)|:\s*\d+)?",
    r"(?:\d+|aucun|un)\s+commentaires?|commentaires?\s*(?:\(\d+\))?",
    r"(?:\d+|keine|ein)\s+kommentare?|kommentare?\s*(?:\(\d+\))?",
    r"(?:\d+|sin|un)\s+comentarios?|comentarios?\s*(?:\(\d+\))?",
    # Reddit's footer: "submitted by /u/name to /r/sub", "[link] [12 comments]"
    r"submitted\s+by\s+/?u/\S+(?:\s+to\s+/?r/\S+)?",
    r"(?:\[\s*link\s*\]\s*)?(?:\[\s*\d+\s+comments?\s*\])?",
    # Counters and "related" lists some plugins append
    r"\(visited\s+\d+\s+times?.*\)",
    r"(?:related(?:\s+posts?|\s+articles?)?|you\s+may\s+also\s+like|articles\s+li[ée]s"
    r"|[äa]hnliche\s+beitr[äa]ge|art[ií]culos\s+relacionados)\s*:?",
]
_BOILERPLATE_LINE = re.compile(
    rf"^\W*(?:{'|'.join(_BOILERPLATE_LINES)})\W*$", re.IGNORECASE | re.DOTALL
)
# A trailing "The post … appeared first on …." glued to the last paragraph (no break).
_APPEARED_TAIL = re.compile(
    r"\s*(?:the\s+post|l[’']article|der\s+beitrag|la\s+entrada)\s+[^\n]{1,300}?\s+"
    r"(?:appeared\s+first\s+on|first\s+appeared\s+on|est\s+apparu\s+en\s+premier\s+sur"
    r"|erschien\s+zuerst\s+auf|se\s+public[oó]\s+primero\s+en)\s+[^\n]{1,120}$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(
    r"(?<!\b\w)(?<!\b(?:Mr|Ms|Dr|St|vs|No|Jr|Sr))[.!?…](?:[\"'”’»)\]]*)(?=\s|$)"
)
_WORD = re.compile(r"\w+")
_MORE_HINTS = (
    "read", "lire", "lectur", "savoir", "weiter", "lesen", "erfahren", "leer", "leyendo",
    "more", "view",
)  # fmt: skip
_APPEARED_HINTS = ("first", "premier", "zuerst", "primero")
_CUT_PUNCTUATION = " ,;:·.-–—([{"
# What may stand between two words of a title repeated at the start of a text.
_MARKS = " \t\n.,;:!?…'’\"“”«»()[]-–—/&"
_LONGEST_ADDED_LINE = 600
# How far into a summary an excerpt of ``limit`` characters reads: what comes later can be
# neither in the excerpt nor decide where it is cut.
_READ_FACTOR = 4
_BY_WORDS = frozenset({"by", "par", "von", "por", "written", "posted"})


def strip_boilerplate(text: str) -> str:
    """``text`` (paragraphs split by blank lines) without the lines blog engines add.

    >>> strip_boilerplate("Talks resumed.\\n\\nThe post Talks appeared first on Ledger.")
    'Talks resumed.'
    >>> strip_boilerplate("Talks resumed in Doha [&hellip;] Continue reading →")
    'Talks resumed in Doha…'
    """
    if ("[" in text or "(" in text) and ("…" in text or "..." in text or "&hellip;" in text):
        text = _CUT_MARK.sub(ELLIPSIS, text)
    paragraphs: list[str] = []
    for paragraph in text.split(PARAGRAPH):
        lines = [_clean_line(line) for line in paragraph.split("\n")]
        kept = [line for line in lines if line]
        if kept:
            paragraphs.append("\n".join(kept))
    return PARAGRAPH.join(paragraphs).strip()


def _clean_line(line: str) -> str:
    line = " ".join(line.split())
    body = line.removeprefix(BULLET.strip()).strip()
    if not body:
        return ""
    # A line of prose is longer than any line an engine adds (Medium's is the longest).
    if len(body) <= _LONGEST_ADDED_LINE and (
        _BOILERPLATE_LINE.match(body) or _MORE_LINE.match(body)
    ):
        return ""
    if not _WORD.search(body):
        return "" if body.strip("…. ") == "" else line  # a lone "…" or "..." is no content
    for tail, hints, reach in (
        (_APPEARED_TAIL, _APPEARED_HINTS, 450),
        (_MORE_TAIL, _MORE_HINTS, 200),
    ):
        # Both end the line and are at most ``reach`` long: look only at its end, and only
        # when one of their words is there (the full patterns are slow to try everywhere).
        start = max(0, len(line) - reach)
        end = line[start:].lower()
        found = tail.search(line, start) if any(hint in end for hint in hints) else None
        if found:
            line = line[: found.start()].rstrip(" :—–-")
            if line and line[-1] not in '.!?…"”’»)':
                line += ELLIPSIS
    return line


def make_excerpt(text: str, limit: int, *, title: str = "", author: str = "") -> str:
    """The excerpt of a post: ``text`` without boilerplate, the repeated ``title`` or an
    opening line that only names the ``author``, shortened to about ``limit`` characters.

    Whole paragraphs (and "•" list lines) are kept while they fit; the paragraph that does
    not fit is cut at its last sentence end within the limit, when that keeps at least a
    third of it, else at a word, ending with "…".
    """
    if len(text) > limit * _READ_FACTOR:
        head = text[: limit * _READ_FACTOR]
        text = head[: head.rfind("\n")] if "\n" in head[limit:] else head
    text = strip_boilerplate(text)
    if author:
        text = _without_byline(text, author)
    if title:
        text = _without_title(text, title)
    return shorten_at_sentence(text, limit)


def _without_byline(text: str, author: str) -> str:
    """``text`` without a first line that is only the author's name ("By Jane Doe")."""
    first, _, rest = text.partition("\n")
    name = _WORD.findall(author.casefold())
    line = [word for word in _WORD.findall(first.casefold()) if word not in _BY_WORDS]
    return rest.lstrip("\n") if name and line == name else text


def _without_title(text: str, title: str) -> str:
    """``text`` without a first sentence (or first line) that only repeats ``title``.

    An untitled post's title is its first sentence (or its first words, ending in "…"):
    the excerpt goes on from where the title stops.
    """
    stem = title.rstrip(ELLIPSIS).strip()
    if not stem:
        return text
    words = _WORD.findall(stem.casefold())
    if len(words) < 2:
        return text
    # Match the title's words at the start of the text, whatever the spacing and marks.
    start = text[: len(stem) * 2 + 20]
    head = start.casefold()
    if len(head) != len(start):
        return text  # casefold lengthened it ("ß"): its positions are not the text's
    position = 0
    found_words = _WORD.finditer(head)
    for word in words:
        found = next(found_words, None)
        if found is None or found.group() != word or head[position : found.start()].strip(_MARKS):
            return text
        position = found.end()
    rest = text[position:]
    if title.endswith(ELLIPSIS) and rest.lstrip()[:1].isalnum():
        # The title was cut inside a sentence: go on after it, marked as a continuation.
        return ELLIPSIS + rest.lstrip()
    return rest.lstrip(' .!?…:;,—–-"”’»)').lstrip("\n")


def shorten_at_sentence(text: str, limit: int) -> str:
    """``text`` with its paragraphs and lines, cut to at most ``limit`` characters.

    >>> shorten_at_sentence("One. Two three four five six.", 12)
    'One.'
    """
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for paragraph in text.split(PARAGRAPH):
        room = limit - used - (len(PARAGRAPH) if kept else 0)
        if len(paragraph) <= room:
            kept.append(paragraph)
            used += len(paragraph) + (len(PARAGRAPH) if len(kept) > 1 else 0)
            continue
        if room >= 40 or not kept:  # a cut paragraph needs a few words to be worth it
            kept.append(_cut(paragraph, room, whole=not kept))
        elif kept and kept[-1][-1:] not in ".!?…":
            kept[-1] = kept[-1].rstrip(_CUT_PUNCTUATION) + ELLIPSIS
        break
    kept = [part for part in kept if part]
    if len(kept) > 1 and kept[-1].endswith(":"):
        kept.pop()  # a paragraph that announces what was cut off
    return PARAGRAPH.join(kept)


def _cut(paragraph: str, room: int, *, whole: bool) -> str:
    head = paragraph[: room + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() <= room]
    if ends and (ends[-1] >= room // 3 or not whole):
        return paragraph[: ends[-1]].rstrip()
    if not whole:
        return ""  # a later paragraph is kept only up to a sentence end
    head = paragraph[: max(room - 1, 1)]
    if len(paragraph) > len(head) and paragraph[len(head)] not in " \n" and " " in head:
        head = head.rsplit(" ", 1)[0]
    head = head.rsplit("\n", 1)[0] if "\n" in head and len(head.rsplit("\n", 1)[1]) < 10 else head
    return (head.rstrip(_CUT_PUNCTUATION + "\n") or head) + ELLIPSIS
