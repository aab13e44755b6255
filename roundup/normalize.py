"""Pure helpers that turn what feeds say into what roundup stores.

Nothing here touches the network, the disk or the clock: every function maps strings to
strings (or a URL to its canonical form), deterministically, so the parse stage and the
tests can call them freely. Feed content is untrusted; :func:`sanitize_html` is the only
gate between it and the newsletter.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit, uses_relative

import lxml.etree
import lxml.html
import nh3

# Query parameters that identify a campaign or a click, never the resource itself. Compared
# case-insensitively; any parameter starting with one of TRACKING_PREFIXES is dropped too.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "ref_src",
        "ref_url",
        "mkt_tok",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wickedid",
        "li_fat_id",
        "s_cid",
        "wt_mc",  # Webtrekk / Mapp (heise and other German publishers)
        "wt_zmc",
        "xtor",  # AT Internet
        "maca",  # Deutsche Welle's RSS campaign
        "ocid",  # Microsoft / MSN
        "cmpid",
        "smid",  # New York Times share links
        "at_campaign",
        "at_medium",
        "at_source",
    }
)
# utm_* (Google Analytics), at_* (AT Internet / Piano: at_campaign=rss, at_medium=...),
# ns_* (Comscore: ns_campaign, ns_mchannel, as BBC feeds add)
TRACKING_PREFIXES = ("utm_", "at_", "ns_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The characters \s matches (those str.isspace accepts), spelled out for the URL patterns
# below: a class of plain characters compiles to a lookup table, one with \s to a test per
# character, and these patterns run on every link of every feed.
_SPACE = "\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# An absolute http(s) URL that urljoin returns unchanged: a lower-case scheme, a host (no
# IPv6 literal, which it checks), and nothing its parser would normalise away: whitespace,
# path parameters, an empty "?" or "#".
_PLAIN_ABSOLUTE_URL = re.compile(
    rf"https?://[^/{_SPACE}?#;\[\]]+(?:/[^{_SPACE}?#;]*)?(?:\?[^{_SPACE}#]+)?(?:#[^{_SPACE}]+)?"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")  # as urlsplit recognises one
# A URL in canonical form but for its query, if any: lower-case scheme and host, no port,
# user or fragment, a path.
_CANONICAL_BUT_QUERY = re.compile(rf"https?://[a-z0-9.-]+/[^{_SPACE}?#]*(\?[^{_SPACE}#]*)?")

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "div", "span", "a", "em", "strong", "b", "i", "u", "s", "small",
        "sub", "sup", "mark", "abbr", "cite", "q", "del", "ins", "code", "kbd", "samp",
        "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "h2", "h3", "h4", "h5",
        "h6", "img", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr",
        "th", "td", "caption",
    }
)  # fmt: skip
# Dropped together with everything inside them: their content is code, a player's
# fallback text or form controls, never prose a reader should see.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "video", "audio", "source", "track", "svg", "math", "form", "button", "select",
        "textarea", "noscript", "template", "canvas",
    }
)  # fmt: skip
# No ``style``, ``class``, ``id`` or ``on*`` attribute survives anywhere.
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Hosts and paths that serve only invisible counting images.
_PIXEL_URL = re.compile(
    r"^https?://(?:"
    r"feeds\.feedburner\.com/~r/|feeds\.feedburner\.com/~ff/|feedproxy\.google\.com/~r/"
    r"|pixel\.wp\.com/|stats\.wordpress\.com/|pixel\.quantserve\.com/"
    r"|www\.google-analytics\.com/|ssl\.google-analytics\.com/|www\.facebook\.com/tr"
    r"|[^/]*\.doubleclick\.net/|pixel\.|tracking\.|track\.)",
    re.IGNORECASE,
)
_PIXEL_PATH = re.compile(r"/(?:pixel|tracking|tracker|track|beacon|open)(?:\.gif|\.png|/|$)", re.I)
# nh3 serialises every attribute as name="value" with '"' escaped, so this matches its
# output exactly; it also tolerates the looser quoting of raw feed HTML.
_IMG_TAG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# What an HTML parser reads as the start of an <img> ("<image" is renamed to one), and the
# characters its tokenizer treats as whitespace (a carriage return becomes a line feed).
_IMG_START = re.compile(r"<(img|image)(?=[\t\n\f\r />]|$)", re.IGNORECASE)
_HTML_SPACE = frozenset("\t\n\f\r ")
_ATTRIBUTE_NAME_END = _HTML_SPACE | {"/", ">", "="}
_UNQUOTED_VALUE_END = _HTML_SPACE | {">"}

_BLOCK_TAGS = frozenset(
    {
        "p", "div", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2",
        "h3", "h4", "h5", "h6", "figure", "figcaption", "table", "tr", "hr", "section",
        "article", "header", "footer", "aside", "nav", "address", "caption", "main",
    }
)  # fmt: skip
_INVISIBLE_TAGS = DROPPED_WITH_CONTENT | {"head", "title"}
_PARAGRAPH = "\n\n"
_LINE = "\n"
_BULLET = "• "
_EMPTY_BULLET = re.compile(r"• *\n+")
# XML 1.0 forbids these; lxml refuses strings that contain them.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Characters that change how a line reads without being seen: bidi embeddings, overrides and
# isolates (a title can reverse the text after it, "Trojan Source" style), the Arabic letter
# mark, zero-width space, word joiner, invisible operators, soft hyphen, the BOM, Mongolian
# vowel separator. Zero-width (non-)joiners stay: scripts and emoji sequences need them.
_INVISIBLE_CHARS = re.compile(
    "[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(r" {2,}")
_SPACE_AROUND_BREAK = re.compile(r" *\n *")
_EXTRA_BREAKS = re.compile(r"\n{3,}")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<!\b\w)[.!?…](?=\s|$)")
_TRAILING_PUNCTUATION = ",;:-–—([{"
_TITLE_LIMIT = 80  # characters of a title made from an untitled entry's text


def canonical_url(url: str) -> str:
    """The URL that identifies a story, whatever campaign or anchor linked to it.

    Tracking parameters go; the others stay, raw and in order. Scheme and host are
    lower-cased, the default port and the fragment dropped, the path kept as written.

    >>> canonical_url("HTTPS://Example.ORG:443/Post?utm_source=rss&id=7#comments")
    'https://example.org/Post?id=7'
    """
    url = url.strip()
    if shortcut := _CANONICAL_BUT_QUERY.fullmatch(url):
        if shortcut.group(1) is None:
            return url  # nothing to lower-case, drop or strip: what follows would give it back
        # Only the query can change ("?utm_source=rss" and the like): what follows gives
        # back the part before the "?" as it is, and the parameters it keeps.
        before, _, query = url.partition("?")
        kept = _strip_tracking(query)
        return f"{before}?{kept}" if kept else before
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url  # not a URL we can take apart (e.g. a bad port); keep it as written
    scheme = parts.scheme.lower()
    if not parts.netloc:
        return urlunsplit((scheme, "", parts.path, _strip_tracking(parts.query), ""))
    netloc = _canonical_netloc(parts.netloc, parts.hostname or "", port, scheme)
    path = parts.path or ("/" if scheme in _DEFAULT_PORTS else "")
    return urlunsplit((scheme, netloc, path, _strip_tracking(parts.query), ""))


def _canonical_netloc(netloc: str, host: str, port: int | None, scheme: str) -> str:
    userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}@{host}" if userinfo else host


def _strip_tracking(query: str) -> str:
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(kept)


def _is_tracking(pair: str) -> bool:
    name = pair.partition("=")[0]
    if "%" in name or "+" in name:  # else unquoting would give it back
        name = unquote_plus(name)
    name = name.strip().lower()
    return name.startswith(TRACKING_PREFIXES) or name in TRACKING_PARAMS


def sanitize_html(html_text: str, base_url: str) -> str:
    """Feed HTML reduced to safe formatting markup, with every URL absolute.

    Scripts, frames, forms, media players, styles and event handlers are removed; only
    http, https and mailto URLs survive; relative URLs resolve against ``base_url`` (or
    are dropped when it is not an http(s) URL); links get ``rel="noopener noreferrer"``;
    tracking pixels are removed.
    """
    if not html_text:
        return ""
    return _IMG_TAG.sub(_drop_pixel, _clean(html_text, base_url)).strip()


def _clean(html_text: str, base_url: str) -> str:
    """nh3's half of :func:`sanitize_html`: everything but the tracking pixels."""
    return _nh3_clean(_CONTROL_CHARS.sub("", html_text), base_url)


def _nh3_clean(html_text: str, base_url: str) -> str:
    """What nh3 makes of ``html_text``, which holds none of _CONTROL_CHARS."""
    try:
        cleaner = _cleaner(_http_base(base_url))
    except ValueError:  # a base nh3 cannot parse (e.g. a garbled host) resolves nothing
        cleaner = _cleaner("")
    cleaned: str = cleaner.clean(html_text)
    return cleaned


def _http_base(base_url: str) -> str:
    base_url = base_url.strip()
    return base_url if is_http_url(base_url) else ""


@lru_cache(maxsize=256)
def _cleaner(base_url: str) -> nh3.Cleaner:
    # One cleaner per base: building it converts the whole policy, and a feed's entries
    # mostly share one base, so the cache makes sanitising a feed cheap.
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        url_schemes=set(URL_SCHEMES),
        url_relative=("rewrite_with_base", base_url) if base_url else "deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Sizes are only kept when they are plain numbers: anything else is a layout trick.
    if attribute in ("width", "height", "colspan", "rowspan", "start"):
        value = value.strip().removesuffix("px")
        return value if value.isdigit() else None
    return value


def _drop_pixel(match: re.Match[str]) -> str:
    return "" if _is_pixel(_attributes(match.group(0))) else match.group(0)


def _attributes(tag: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, dq, sq, bare in _ATTR.findall(tag):
        found.setdefault(name.lower(), html.unescape(dq or sq or bare))
    return found


def _is_pixel(attributes: dict[str, str]) -> bool:
    src = attributes.get("src", "")
    if not src:
        return True  # its URL was unsafe or unresolvable: nothing left to show
    sizes = [attributes.get(name, "").strip().removesuffix("px") for name in ("width", "height")]
    tiny = any(size.isdigit() and int(size) <= 1 for size in sizes)
    unsized = not any(sizes)
    return tiny or bool(_PIXEL_URL.match(src)) or (unsized and bool(_PIXEL_PATH.search(src)))


# --- pictures: what an entry may show beside its title ---------------------------------

# Declared sizes at or under this many pixels make an icon, a button or an avatar, not a
# picture for the story.
SMALL_IMAGE = 50
# Avatars: Gravatar (any host of it), "/avatar/" and "/avatars/" folders (WordPress,
# Discourse, Mastodon), the default-picture parameters Gravatar's URLs carry.
_AVATAR_HOST = re.compile(r"(?:^|\.)(?:gravatar\.com|avatars\d*\.githubusercontent\.com)$", re.I)
_AVATAR_PATH = re.compile(
    r"/(?:avatars?|user[-_]?pics?|profile[-_]?(?:images?|pictures?))(?:/|[-_.]|$)", re.I
)
_AVATAR_QUERY = re.compile(
    r"(?:^|&)(?:d|default)=(?:identicon|mm|mp|retro|monsterid|wavatar|robohash|blank|404)"
    r"(?:&|$)",
    re.I,
)
# Emoji (WordPress serves them from s.w.org), icons, smileys and share buttons.
_ICON_PATH = re.compile(
    r"/(?:images/core/emoji|emojis?|twemoji|smilies|smileys|icons?|favicons?|share[-_]?buttons?"
    r"|social[-_]?icons?)/"
    r"|/(?:favicon|apple-touch-icon)[^/]*$|/[^/]*[-_]icon(?:[-_.@][^/]*)?$|/icon[-_][^/]*$",
    re.I,
)
# A size asked of an image service in the query: "?w=32", "?s=96", "resize=40,40".
_SIZE_QUERY = re.compile(r"(?:^|&)(?:w|h|s|sz|size|width|height|resize)=(\d+)(?:[,x%]|&|$)", re.I)
# Formats Outlook on Windows (and other clients) cannot show: WebP, AVIF, SVG, HEIC, JPEG XL.
_WEB_ONLY_EXTENSION = re.compile(r"\.(?:webp|avif|svg|svgz|heic|heif|jxl)$", re.I)
_WEB_ONLY_QUERY = re.compile(r"(?:^|&)(?:fm|format|f|ext|output)=(?:webp|avif|svg)(?:&|$)", re.I)
# A screen that every URL one of the rules above (or _PIXEL_URL and _PIXEL_PATH) refuses
# passes, being a word each of those patterns needs: a URL that misses it, with no declared
# size, is a picture, and is not taken apart at all (most are, and this runs for every
# image offered by every entry of every fetch). "[" and "]" send the URLs urlsplit refuses
# to the full rules too.
_MAY_BE_UNWANTED = re.compile(
    r"gravatar|githubusercontent|avatar|user|profile|d=|default=|emoji|smil|icon|share"
    r"|social|feedburner|feedproxy|pixel|stats\.wordpress|quantserve|google-analytics"
    r"|facebook|doubleclick|track|beacon|open|=\d|[\[\]]",
    re.I,
)
_MAY_BE_WEB_ONLY = re.compile(r"webp|avif|svg|heic|heif|jxl|[\[\]]", re.I)
_WEB_ONLY_TYPES = frozenset(
    {"image/webp", "image/avif", "image/svg+xml", "image/heic", "image/heif", "image/jxl"}
)


def is_unwanted_image(url: str, width: str = "", height: str = "") -> bool:
    """Whether ``url`` (absolute) is no picture for a story: an avatar, an emoji, an icon,
    a tracking pixel, or an image whose declared ``width`` or ``height`` (or the size its
    URL asks an image service for) is at most :data:`SMALL_IMAGE` pixels.

    >>> is_unwanted_image("https://secure.gravatar.com/avatar/ab12?s=96&d=identicon&r=g")
    True
    >>> is_unwanted_image("https://example.org/uploads/2015/08/harbour.jpg", "640", "480")
    False
    """
    if not (width or height) and not _MAY_BE_UNWANTED.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return True
    if _AVATAR_HOST.search(host) or _AVATAR_PATH.search(parts.path):
        return True
    if _AVATAR_QUERY.search(parts.query) or _ICON_PATH.search(parts.path):
        return True
    if _PIXEL_URL.match(url) or (not (width or height) and _PIXEL_PATH.search(parts.path)):
        return True
    sizes = [size.strip().removesuffix("px") for size in (width, height)]
    sizes += _SIZE_QUERY.findall(parts.query)
    return any(size.isdigit() and int(size) <= SMALL_IMAGE for size in sizes)


def is_email_safe_image(url: str, media_type: str = "") -> bool:
    """Whether every major mail client shows the image: not WebP, AVIF, SVG, HEIC or JPEG XL
    by its declared media type, its file extension or the format its query asks for."""
    if media_type.split(";")[0].strip().lower() in _WEB_ONLY_TYPES:
        return False
    if not _MAY_BE_WEB_ONLY.search(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return not (_WEB_ONLY_EXTENSION.search(parts.path) or _WEB_ONLY_QUERY.search(parts.query))


def choose_image(base: str, offers: Iterable[tuple[str | None, str, str, str]]) -> str | None:
    """The picture to show among a feed's declared ``offers`` of ``(url, media type,
    width, height)``, in the feed's order of preference: the first one that is a real
    picture (see :func:`is_unwanted_image`) in a format every mail client shows, else the
    first real picture in another format (WebP, AVIF), else None.
    """
    fallback: str | None = None
    for url, media_type, width, height in offers:
        found = absolute_http_url(base, url) if url else ""
        if not found or is_unwanted_image(found, width, height):
            continue
        if is_email_safe_image(found, media_type):
            return found
        fallback = fallback or found
    return fallback


def prefer_image(declared: str | None, found: Callable[[], str | None]) -> str | None:
    """The feed's ``declared`` picture (its media), unless only ``found()`` (the first
    picture of its HTML, looked for only then) is in a format every mail client shows."""
    if declared and is_email_safe_image(declared):
        return declared
    other = found()
    if declared and (other is None or not is_email_safe_image(other)):
        return declared
    return other


def first_image(html_text: str, base_url: str) -> str | None:
    """The first real image of an HTML fragment: absolute http(s), not a tracking pixel,
    an avatar, an emoji, an icon or a small image (see :func:`is_unwanted_image`)."""
    for match in _IMG_TAG.finditer(html_text):
        if found := _image_source(_attributes(match.group(0)), base_url):
            return found
    return None


def _image_source(attributes: dict[str, str], base_url: str) -> str | None:
    """An <img>'s picture: its src made absolute, unless it is no http(s) URL or a pixel."""
    src = attributes.get("src", "").strip()
    if not src:
        return None  # joined to the base it would name the page, not a picture
    try:
        src = join_url(base_url, src)
    except ValueError:
        return None  # e.g. a malformed IPv6 host
    if not is_http_url(src) or _is_pixel({**attributes, "src": src}):
        return None
    if is_unwanted_image(src, attributes.get("width", ""), attributes.get("height", "")):
        return None
    return src


def html_to_text(html_text: str) -> str:
    """The plain text of an HTML fragment.

    Entities are decoded, block elements become paragraph breaks (``<br>`` a line break),
    script and style content is dropped and runs of whitespace collapse to one space.
    """
    if not html_text or not html_text.strip():
        return ""
    if "<" not in html_text and "&" not in html_text:
        return _space(html_text).strip()  # no markup at all: skip the parser
    try:
        root = lxml.html.fragment_fromstring(_CONTROL_CHARS.sub("", html_text), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _space(html.unescape(_TAG.sub(" ", html_text))).strip()
    text = _join(_text_pieces(root))
    if not text and _TAG.sub("", html_text).strip():
        # libxml2 gives up on absurdly deep nesting and returns nothing: strip tags instead
        return _space(html.unescape(_TAG.sub(" ", html_text))).strip()
    return text


def _text_pieces(root: lxml.html.HtmlElement) -> list[str]:
    """Text, tails and break markers in document order, without recursion."""
    pieces: list[str] = []
    walker = lxml.etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if element is root:
            pieces.append(_space(root.text) if event == "start" else "")
        elif event == "start" and tag in _INVISIBLE_TAGS:
            walker.skip_subtree()  # its end event still comes, and brings the tail
        elif event == "start":
            pieces.append(_break_before(tag))
            pieces.append(_space(element.text))
        else:  # the end of an element, or a comment or processing instruction
            pieces.append("" if tag == "li" else _PARAGRAPH if tag in _BLOCK_TAGS else "")
            pieces.append(_space(element.tail))
    return pieces


def _break_before(tag: str) -> str:
    # A list item is a line of its own, marked "• ", so a list reads as one in plain text.
    if tag == "li":
        return _LINE + _BULLET
    return _PARAGRAPH if tag in _BLOCK_TAGS else _LINE if tag == "br" else ""


def _space(text: str | None) -> str:
    # Newlines in HTML source are plain whitespace; only the markers above break lines.
    return _WHITESPACE.sub(" ", text) if text else ""


def _join(pieces: list[str]) -> str:
    text = _SPACES.sub(" ", "".join(pieces))
    text = _SPACE_AROUND_BREAK.sub(_LINE, text)
    if _BULLET in text:
        text = _EMPTY_BULLET.sub(_BULLET, text)  # "<li><p>x" is one line too
    return _EXTRA_BREAKS.sub(_PARAGRAPH, text).strip()


def clean_title(raw: str) -> str:
    """A title as plain text: tags stripped, entities (even double-escaped) decoded.

    >>> clean_title("  Tom &amp;amp; Jerry: <em>the</em>  sequel ")
    'Tom & Jerry: the sequel'
    """
    if "<" not in raw and "&" not in raw and raw.isprintable():
        return " ".join(raw.split())  # nothing to strip or decode: most titles
    text = raw
    for _ in range(3):  # feeds escape titles once, twice, sometimes three times
        decoded = html.unescape(_TAG.sub("", text))
        if decoded == text:
            break
        text = decoded
    return " ".join(_INVISIBLE_CHARS.sub("", _CONTROL_CHARS.sub("", text)).split())


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word break, ending in "…".

    >>> cap_text("Sanctions, talks and the long road back", 20)
    'Sanctions, talks…'
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(_TRAILING_PUNCTUATION + " ") + "…"


def title_from_text(text: str, limit: int = _TITLE_LIMIT) -> str:
    """A title for a post that has none: its first sentence, or its first words.

    A cut falls on a word boundary and ends with "…"; the result is at most ``limit``
    characters long.
    """
    first = " ".join(text.strip().split("\n\n", 1)[0].split()) if text else ""
    end = _SENTENCE_END.search(first)
    if end and end.end() <= limit:
        return first[: end.end()]
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    if first[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # never split a word unless it is the only one
    return cut.rstrip().rstrip(_TRAILING_PUNCTUATION).rstrip() + "…"


def entry_id(guid: str | None, link: str | None, title: str, content: str) -> str:
    """The stable identity of an entry: its guid, else its canonical link, else a hash.

    The hash is ``sha1:`` plus the sha1 of the title and content as compact, sorted JSON,
    so the same text always gives the same id.
    """
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return canonical_url(link)
    payload = json.dumps(
        {"title": title, "content": content}, sort_keys=True, separators=(",", ":")
    )
    return "sha1:" + hashlib.sha1(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


# --- links ------------------------------------------------------------------------------


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an http or https URL (the only links a newsletter may carry)."""
    return url[:8].lower().startswith(("http://", "https://"))


def absolute_http_url(base: str, link: str) -> str:
    """``link`` made absolute against ``base``; "" unless the result is http(s).

    >>> absolute_http_url("https://example.org/blog/", "post/1")
    'https://example.org/blog/post/1'
    >>> absolute_http_url("https://example.org/", "javascript:alert(1)")
    ''
    """
    link = link.strip()
    if not link:
        return ""
    if _PLAIN_ABSOLUTE_URL.fullmatch(link):
        return link  # what join_url gives back for it, and http(s): most links of most feeds
    try:
        joined = join_url(base, link)
    except ValueError:
        return ""  # e.g. a malformed IPv6 host
    return joined if is_http_url(joined) else ""


def join_url(base: str, reference: str) -> str:
    """``reference`` resolved against ``base`` (RFC 3986), as :func:`urljoin` does it.

    Most links in feeds are already absolute, and urljoin would hand them back as they
    are: those skip its parsing, which is a fifth of what reading a feed costs.
    """
    if not base or _PLAIN_ABSOLUTE_URL.fullmatch(reference):
        return reference
    scheme = _SCHEME.match(reference)
    if scheme and scheme.group(1).lower() not in uses_relative:
        return reference  # "tag:", "urn:", "mailto:": never relative, urljoin says so too
    return urljoin(base, reference)


def first_http_url(base: str, candidates: Iterable[str | None]) -> str | None:
    """The first candidate that makes an absolute http(s) URL against ``base``."""
    for candidate in candidates:
        if candidate and (found := absolute_http_url(base, candidate)):
            return found
    return None


# --- tags -------------------------------------------------------------------------------


def tag_names(values: Iterable[str | None]) -> tuple[str, ...]:
    """Tag names, cleaned, de-duplicated ignoring case, in their first-seen spelling and order.

    >>> tag_names(["B", "a", "b", " A ", "C &amp; D"])
    ('B', 'a', 'C & D')
    """
    seen: dict[str, str] = {}
    for value in values:
        if value and (term := _clean_term(value)):
            seen.setdefault(term.casefold(), term)
    return tuple(seen.values())


# Feeds repeat their categories entry after entry; clean_title is pure.
_clean_term = lru_cache(maxsize=4096)(clean_title)


# --- summaries --------------------------------------------------------------------------

# What an entry keeps of its summary, in characters: keyword filters and excerpts read no
# further. Far above real summaries (the corpora's longest is 59,000 characters), it bounds
# what a hostile feed can make the store hold and the sanitiser chew. A tag cut in half is
# dropped when sanitised.
SUMMARY_LIMIT = 100_000
# How much of an untitled entry's summary its title is first looked for in.
_TITLE_SOURCE_CHARS = 4_000


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines make paragraphs, line breaks ``<br>``.

    >>> text_to_html("a < b\\n\\nnext")
    '<p>a &lt; b</p><p>next</p>'
    """
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs if p
    )


def summary_text(summary: str, base_url: str) -> str:
    """The plain text of a feed's summary HTML: the text its sanitised form shows."""
    return html_to_text(sanitize_html(summary, base_url))


def summary_title(summary: str, base_url: str) -> str:
    """A title for an untitled entry: the first sentence of its summary's text.

    Micro-posts are short; a long untitled post needs only its start read, as long as the
    text of that start holds a whole first paragraph or more than a title's worth of it.
    """
    if len(summary) > _TITLE_SOURCE_CHARS:
        text = summary_text(summary[:_TITLE_SOURCE_CHARS], base_url)
        first, blank, rest = text.partition(_PARAGRAPH)
        # A cut only disturbs the end of the text: a partial word, entity or tag.
        if (blank and rest) or len(first) > _TITLE_LIMIT + 20:
            return title_from_text(text)
    return title_from_text(summary_text(summary, base_url))


def summary_image(summary: str, base_url: str) -> str | None:
    """The first real image the sanitised summary shows (see :func:`first_image`).

    That is ``first_image(sanitize_html(summary, base_url), base_url)``, read in one pass:
    sanitize_html drops the <img> tags :func:`_drop_pixel` refuses from nh3's output and
    changes nothing else between them (nh3 escapes every "<" that starts no tag), so the
    first image shown is the first tag of nh3's output that it keeps and first_image takes.
    A summary whose pictures are all tracking pixels (FeedBurner's) is not sanitised at all.
    """
    if not _IMG_TAG.search(summary):
        return None  # nothing to find: skip the sanitiser
    text = _CONTROL_CHARS.sub("", summary)  # what nh3 reads
    if _only_pixels(text):
        return None
    for match in _IMG_TAG.finditer(_nh3_clean(text, base_url)):
        attributes = _attributes(match.group(0))
        if not _is_pixel(attributes) and (found := _image_source(attributes, base_url)):
            return found
    return None


def _only_pixels(html_text: str) -> bool:
    """Whether each <img> an HTML parser finds in ``html_text`` has no src, or a pixel's.

    Then sanitising shows no picture: nh3 keeps an absolute URL as written or drops it,
    and _is_pixel refuses an <img> with a pixel's src, or with none, whatever else it has.
    Every <img> element comes from a start tag "<img" (any case) before a space, "/" or
    ">"; "<image" becomes one too, and is left to the sanitiser. The src is read as the
    parser reads it (_start_tag_attribute); one holding a character reference or a carriage
    return (the parser rewrites both) is left to the sanitiser too.
    """
    for tag in _IMG_START.finditer(html_text):
        if len(tag.group(1)) != 3:
            return False  # "<image"
        src = _start_tag_attribute(html_text, tag.end(), "src")
        if src is not None and ("&" in src or "\r" in src or not _PIXEL_URL.match(src)):
            return False
    return True


def _start_tag_attribute(html_text: str, start: int, wanted: str) -> str | None:
    """The value of the first ``wanted`` attribute of the start tag whose name ends at
    ``start``, as an HTML parser reads it; None if the tag has none or never ends.

    This follows the tokenizer's attribute states (WHATWG HTML, 13.2.5.32-40): attributes
    are separated by whitespace or "/", a name runs to whitespace, "/", ">" or "=" (its
    first character may be "="), a value is quoted or runs to whitespace or ">", and an
    attribute repeated later in the tag is dropped. Character references in the value are
    left as written.
    """
    end = len(html_text)
    at = start
    while at < end:
        char = html_text[at]
        if char in _HTML_SPACE or char == "/":
            at += 1  # between attributes; a "/" not before ">" is dropped
            continue
        if char == ">":
            return None
        name_end = at + 1
        while name_end < end and html_text[name_end] not in _ATTRIBUTE_NAME_END:
            name_end += 1
        name = html_text[at:name_end]
        name = name.lower() if name.isascii() else name  # the parser lower-cases A-Z only
        at = _skip_html_space(html_text, name_end)
        if at < end and html_text[at] == "=":
            at = _skip_html_space(html_text, at + 1)
            if at >= end:
                return None
            quote = html_text[at]
            if quote in "\"'":
                value_end = html_text.find(quote, at + 1)
                if value_end < 0:
                    return None
                value = html_text[at + 1 : value_end]
                at = value_end + 1
            elif quote == ">":
                value = ""  # "src=>": an empty value, and the tag ends
            else:
                value_end = at
                while value_end < end and html_text[value_end] not in _UNQUOTED_VALUE_END:
                    value_end += 1
                value = html_text[at:value_end]
                at = value_end
        else:
            value = ""  # a name alone
        if name == wanted:
            return value if at < end else None  # a tag cut off by the end is dropped
    return None


def _skip_html_space(html_text: str, at: int) -> int:
    while at < len(html_text) and html_text[at] in _HTML_SPACE:
        at += 1
    return at


def strip_tracking(url: str) -> str:
    """``url`` without its tracking parameters, by the rule :func:`canonical_url` uses;
    everything else (scheme, host, path, the other parameters, the fragment) stays as written.

    >>> strip_tracking("https://Example.org/a?id=7&utm_source=rss&at_campaign=rss#top")
    'https://Example.org/a?id=7#top'
    """
    before, hash_mark, fragment = url.partition("#")
    path, mark, query = before.partition("?")
    if not mark:
        return url
    kept = _strip_tracking(query)
    return f"{path}{'?' if kept else ''}{kept}{hash_mark}{fragment}"
