"""Source names: what a reader sees as the name of a feed.

The configured ``name:`` always wins. Without one, :func:`source_name` makes a name from
the feed's own title: the title is split at its separators (" - ", " | ", " > ", " » ",
" · ", ": ", a trailing dash), the words feeds add about themselves ("feed", "RSS", "Atom",
"Latest") are dropped, and so are the parts that name a section of a site ("World",
"Asia", "Top Stories"); the first part left is the name:

=============================  =================
feed title                     source name
=============================  =================
``TheWeek feed``               ``TheWeek``
``Rest of World -``            ``Rest of World``
``World - CBSNews.com``        ``CBSNews.com``
``NYT > World News``           ``NYT``
``Latest from Example Blog``   ``Example Blog``
``The Economist: Asia``         ``The Economist``
``World``                      ``World``
=============================  =================

When a title is nothing but a section ("World", "Asia"), or had one cut off, the name
shown may not be the one readers know: :func:`reads_like_section` says so, and ``roundup
check`` and the fetch summary suggest setting ``name:`` for that feed.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"\s+(?:[-–—|>»·]|::)\s+|(?<=\w):\s+|\s+[-–—|>»·]\s*$|^\s*[-–—|>»·]\s+")
# Words a feed says about itself, not its name.
_FEED_WORDS = re.compile(
    r"\b(?:rss|atom|xml|feed|feeds|rss\s+feed|news\s+feed|latest(?:\s+(?:news|posts|stories"
    r"|articles))?(?:\s+from)?|all\s+(?:posts|articles|stories)|posts|flux(?:\s+rss)?"
    r"|derni[eè]res?\s+nouvelles|aktuell|nachrichten\s+feed|[uú]ltimas\s+noticias)\b",
    re.IGNORECASE,
)
# The words of a site's sections: a part made only of these (and "news") is a section.
_SECTION_WORDS = frozenset(
    (
        "world", "international", "national", "local", "us", "u.s.", "uk", "europe", "european",
        "asia", "asian", "africa", "african", "americas", "america", "latin", "middle", "east",
        "north", "south", "west", "pacific", "australia", "canada", "china", "india", "politics",
        "political", "business", "economy", "economics", "markets", "market", "finance", "money",
        "tech", "technology", "science", "health", "sport", "sports", "opinion", "opinions",
        "comment", "analysis", "culture", "arts", "art", "entertainment", "lifestyle", "style",
        "travel", "food", "climate", "environment", "education", "media", "home", "front",
        "page", "top", "stories", "story", "headlines", "news", "breaking", "latest", "most",
        "popular", "read", "video", "videos", "podcasts", "podcast", "photos", "features",
        "weather", "obituaries", "books", "music", "film", "movies", "tv", "television", "games",
        "gaming", "law", "crime", "justice", "religion", "society", "global", "and", "the", "of",
        "in", "&", "monde", "actualité", "actualités", "international", "économie", "politique",
        "welt", "wirtschaft", "politik", "mundo", "internacional", "economía", "política",
        "noticias",
    )
)  # fmt: skip
_WORD = re.compile(r"[\w.&'’]+")


def source_name(title: str) -> str:
    """The name to show for a feed titled ``title`` (see the module's table); "" if none."""
    if "://" in title:
        return title.strip()  # a URL for a title: nothing in it is a separator
    parts = _parts(title)
    named = [part for part in parts if not _is_section(part)]
    if named:
        return named[0]
    return parts[0] if parts else ""


def reads_like_section(title: str) -> bool:
    """Whether ``title`` names a section of a site rather than the site: it is a section
    ("World", "Asia"), or one of its parts is ("NYT > World News")."""
    return any(_is_section(part) for part in _parts(title))


def _parts(title: str) -> list[str]:
    pieces = (_FEED_WORDS.sub(" ", piece) for piece in _SEPARATORS.split(title))
    cleaned = (" ".join(piece.split()).strip(" -–—|>»·:,") for piece in pieces)
    return [piece for piece in cleaned if piece]


def _is_section(part: str) -> bool:
    found = [word.casefold().strip("'’") for word in _WORD.findall(part)]
    return bool(found) and all(word in _SECTION_WORDS for word in found)
