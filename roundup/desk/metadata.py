"""Read a web page's title, description and image, for an item the editor adds by URL.

:func:`fetch_metadata` downloads at most ``max_bytes`` of the page (the ``<head>`` comes
first, so a cut page still has it), follows a few redirects, and hands the HTML to
:func:`read_metadata`, which prefers the Open Graph and Twitter card tags a site writes for
link previews and falls back to ``<title>`` and ``<meta name="description">``.

Only http and https addresses are fetched. The transport is injectable so tests run
against ``httpx.MockTransport`` or a server on 127.0.0.1.

Usage::

    meta = fetch_metadata("https://example.org/post")
    meta.title, meta.description, meta.image
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from roundup.config import DEFAULT_USER_AGENT
from roundup.errors import FetchError
from roundup.normalize import clean_title

TIMEOUT = 10.0  # seconds, for each of connect, read and write
MAX_BYTES = 1_000_000
MAX_REDIRECTS = 5
DESCRIPTION_CHARS = 300
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

# For each field, the tags to read, best first: property= (Open Graph) or name= (others).
_TITLE_KEYS = ("og:title", "twitter:title")
_DESCRIPTION_KEYS = ("og:description", "twitter:description", "description")
_IMAGE_KEYS = (
    "og:image:secure_url",
    "og:image",
    "og:image:url",
    "twitter:image",
    "twitter:image:src",
)
_SITE_KEYS = ("og:site_name", "application-name")


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a page says about itself; every text field is plain text, "" when absent."""

    url: str  # the address the page was finally read from (after redirects)
    title: str
    description: str
    image: str | None  # absolute http(s) URL
    site_name: str


def fetch_metadata(
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    user_agent: str = DEFAULT_USER_AGENT,
) -> PageMeta:
    """Download the page at ``url`` and read its metadata.

    Raises :class:`FetchError` (with the URL and a reason for people) when the address is
    not http(s), the server cannot be reached, or it answers with an error status.
    """
    url = url.strip()
    if not _is_http(url):
        raise FetchError(url, "only web addresses starting with http:// or https:// can be read")
    headers = {"User-Agent": user_agent, "Accept": ACCEPT}
    try:
        with (
            httpx.Client(
                transport=transport,
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers=headers,
                trust_env=transport is None,  # a test transport must not go through a proxy
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise FetchError(url, f"the server answered HTTP {response.status_code} {reason}")
            body = _read_capped(response, max_bytes)
            final = str(response.url)
            if not _is_html(response.headers.get("content-type", "")):
                return PageMeta(final, "", "", None, "")
            charset = response.charset_encoding or _sniff_charset(body) or "utf-8"
    except httpx.TooManyRedirects:
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise FetchError(url, f"no answer within {timeout:g} seconds") from None
    except httpx.HTTPError as exc:
        raise FetchError(url, f"cannot be reached ({exc or type(exc).__name__})") from None
    return read_metadata(_decode(body, charset), final)


def read_metadata(html: str, url: str) -> PageMeta:
    """The metadata of the HTML page ``html`` found at ``url`` (for relative image URLs)."""
    parser = _HeadParser()
    parser.feed(html)
    parser.close()
    tags = parser.meta
    image = _first(tags, _IMAGE_KEYS)
    image_url = urljoin(url, image) if image else ""
    return PageMeta(
        url=url,
        title=clean_title(_first(tags, _TITLE_KEYS) or parser.title),
        description=_shorten(clean_title(_first(tags, _DESCRIPTION_KEYS)), DESCRIPTION_CHARS),
        image=image_url if _is_http(image_url) else None,
        site_name=clean_title(_first(tags, _SITE_KEYS)),
    )


class _HeadParser(HTMLParser):
    """Collects ``<meta>`` tags (first of each name wins) and the first ``<title>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = {name.lower(): value or "" for name, value in attrs}
            name = (values.get("property") or values.get("name") or "").strip().lower()
            if name and "content" in values:
                self.meta.setdefault(name, values["content"])
        elif tag == "title" and not self.title:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((tags[key].strip() for key in keys if tags.get(key, "").strip()), "")


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of the body: the head of a huge page is all we need."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            break
    return b"".join(chunks)[:max_bytes]


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)


def _sniff_charset(body: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag near its start, as browsers look for it."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _decode(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # a charset name Python does not know
        return body.decode("utf-8", errors="replace")


def _is_html(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("", "text/html", "application/xhtml+xml")


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-") + "…"
