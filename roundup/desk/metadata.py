"""Read a web page's title, description and image, for an item the editor adds by URL.

:func:`fetch_metadata` downloads at most ``max_bytes`` of the page (the ``<head>`` comes
first, so a cut page still has it) and hands the HTML to :func:`read_metadata`, which
prefers the Open Graph and Twitter card tags a site writes for link previews and falls
back to ``<title>`` and ``<meta name="description">``.

The desk runs on the editor's machine, often inside a private network, so a URL typed or
pasted into it must not become a way to reach the services beside it:

* only http and https addresses are read;
* every address the host name resolves to must be public: loopback, private, link-local,
  multicast, reserved and unspecified addresses are refused (:func:`address_refusal`), and
  the request goes to an address that was checked, so a second DNS answer cannot swap in
  another; ``allow_private=True`` lets loopback and private addresses through, for tests
  and local trials;
* redirects are followed here, at most :data:`MAX_REDIRECTS`, each target checked afresh;
* the whole read (name lookups, connects, redirects, every byte) has one ``deadline``,
  after which the caller gets a :class:`FetchError` naming the URL;
* the page is read directly, never through a proxy from the environment: through a proxy
  the address checked would not be the address connected to.

The transport is injectable so tests run against ``httpx.MockTransport``; an injected
transport decides itself where requests go, so the address checks apply to the network
only (no transport), as in the desk.

Usage::

    meta = fetch_metadata("https://example.org/post")
    meta.title, meta.description, meta.image
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from roundup.config import DEFAULT_USER_AGENT
from roundup.errors import FetchError
from roundup.normalize import clean_title

DEADLINE = 5.0  # seconds for the whole read: lookups, connects, redirects and every byte
MAX_BYTES = 1_000_000
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DESCRIPTION_CHARS = 300
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# what allow_private lets through; the other kinds are never a web page worth reading
LOCAL_KINDS = frozenset({"loopback", "private"})

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator

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
    deadline: float = DEADLINE,
    max_bytes: int = MAX_BYTES,
    user_agent: str = DEFAULT_USER_AGENT,
    allow_private: bool = False,
) -> PageMeta:
    """Download the page at ``url`` and read its metadata, within ``deadline`` seconds.

    Raises :class:`FetchError` (with the URL and a reason for people) when the address is
    not http(s) or not public (unless ``allow_private``), the server cannot be reached,
    answers with an error status or redirects too often, or the deadline passes.
    """
    url = url.strip()
    if not _is_http(url):
        raise FetchError(url, "only web addresses starting with http:// or https:// can be read")
    reader = _PageReader(
        url,
        end=time.monotonic() + deadline,
        deadline=deadline,
        max_bytes=max_bytes,
        allow_private=allow_private,
        direct=transport is None,
    )
    headers = {"User-Agent": user_agent, "Accept": ACCEPT}

    def read() -> PageMeta:
        # trust_env=False: never through a proxy (see the module's docstring)
        with httpx.Client(transport=transport, headers=headers, trust_env=False) as client:
            return reader.read(client)

    return _by_deadline(read, deadline, reader.late)


def _by_deadline(
    work: Callable[[], PageMeta], deadline: float, late: Callable[[], FetchError]
) -> PageMeta:
    """``work()``, or ``late()`` raised once ``deadline`` seconds have passed.

    A socket read cannot be cut short from outside, so the work runs in a daemon thread
    and the caller stops waiting at the deadline. The thread ends soon after on its own:
    each of its steps times out after the time that was left when the step began, so it
    finishes within twice the deadline.
    """
    outcome: list[PageMeta | BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the caller, who raises it
            outcome.append(exc)

    worker = threading.Thread(target=run, name="page-metadata", daemon=True)
    worker.start()
    worker.join(deadline)
    if not outcome:
        raise late()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


class _PageReader:
    """One add-by-URL read: the redirect loop, the address checks and the deadline."""

    def __init__(
        self,
        url: str,
        *,
        end: float,
        deadline: float,
        max_bytes: int,
        allow_private: bool,
        direct: bool,
    ) -> None:
        self.url = url
        self.end = end  # time.monotonic() at the deadline
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.direct = direct  # no injected transport: check and pin addresses

    def late(self) -> FetchError:
        """The error for a read still unfinished at the deadline."""
        return FetchError(self.url, f"no complete answer within the {self.deadline:g} s deadline")

    def read(self, client: httpx.Client) -> PageMeta:
        """Follow up to MAX_REDIRECTS redirects, then read the page found."""
        current = self.url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                response = self._open(client, current)
                try:
                    target = self._redirect(response, current)
                    if target is None:
                        return self._meta(response, current)
                finally:
                    response.close()
                current = target
        except httpx.TimeoutException:  # every timeout is the time left: the deadline passed
            raise self.late() from None
        except httpx.InvalidURL as exc:
            raise FetchError(self.url, self._via(current, f"not a valid address ({exc})")) from None
        except httpx.HTTPError as exc:
            reason = f"cannot be reached ({exc or type(exc).__name__})"
            raise FetchError(self.url, self._via(current, reason)) from None
        raise FetchError(self.url, f"more than {MAX_REDIRECTS} redirects")

    def _open(self, client: httpx.Client, url: str) -> httpx.Response:
        """The response headers for ``url``, from a checked address when on the network."""
        target = httpx.URL(url)
        if not self.direct:
            request = client.build_request("GET", target, timeout=self._left())
            return client.send(request, stream=True)
        failure: httpx.ConnectError | None = None
        for address in self._addresses(target, url):
            # connect to the address just checked; the name goes in Host and TLS (SNI and
            # the certificate check), so the server sees an ordinary request for its name
            request = client.build_request(
                "GET",
                target.copy_with(host=address),
                headers={"Host": target.netloc.decode("ascii")},
                extensions={"sni_hostname": target.raw_host.decode("ascii")},
                timeout=self._left(),
            )
            try:
                return client.send(request, stream=True)
            except httpx.ConnectError as exc:  # try the name's next address
                failure = exc
        assert failure is not None  # _addresses returns at least one address
        raise failure

    def _addresses(self, target: httpx.URL, url: str) -> list[str]:
        """Every address ``target``'s host resolves to, all of them allowed; else FetchError."""
        host = target.raw_host.decode("ascii")
        if not host:  # getaddrinfo would take "" for this machine
            raise FetchError(self.url, self._via(url, "the address names no host"))
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            reason = f"the name {host} cannot be resolved ({exc})"
            raise FetchError(self.url, self._via(url, reason)) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:
            refusal = address_refusal(address, allow_private=self.allow_private)
            if refusal is not None:
                named = f"{address} is" if address == host else f"{host} resolves to {address},"
                reason = f"refused: {named} {refusal}; the desk reads only public web pages"
                raise FetchError(self.url, self._via(url, reason))
        return addresses

    def _redirect(self, response: httpx.Response, url: str) -> str | None:
        """Where a redirect points (absolute), None for a page; FetchError for an error."""
        status = response.status_code
        location = str(response.headers.get("location", ""))
        if status in REDIRECT_STATUSES and location:
            target = urljoin(url, location.strip())
            if not _is_http(target):
                raise FetchError(self.url, f"redirected to {target}, which is not a web address")
            return target
        if status >= 300:
            reason = f"the server answered HTTP {status} {response.reason_phrase or 'error'}"
            raise FetchError(self.url, self._via(url, reason))
        return None

    def _meta(self, response: httpx.Response, url: str) -> PageMeta:
        """The metadata of the page ``response`` is bringing, read from ``url``."""
        body = self._body(response)
        if not _is_html(response.headers.get("content-type", "")):
            return PageMeta(url, "", "", None, "")
        charset = response.charset_encoding or _sniff_charset(body) or "utf-8"
        return read_metadata(_decode(body, charset), url)

    def _body(self, response: httpx.Response) -> bytes:
        """At most ``max_bytes`` of the body (the head of a huge page is all we need)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= self.max_bytes:
                break
            self._left()  # a page that drips is cut off at the deadline
        return b"".join(chunks)[: self.max_bytes]

    def _left(self) -> float:
        """Seconds until the deadline, the timeout of every step; past it, the deadline error."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.late()
        return left

    def _via(self, url: str, reason: str) -> str:
        """``reason``, saying which redirect target it concerns when that is not the URL asked."""
        return reason if url == self.url else f"redirected to {url}: {reason}"


def address_refusal(address: str, *, allow_private: bool = False) -> str | None:
    """Why a page at the IP ``address`` must not be read ("a loopback address"), or None.

    An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4
    address it reaches. ``allow_private`` lets loopback and private addresses through.
    """
    kind = _kind(_reached(ipaddress.ip_address(address)))
    if kind is None or (allow_private and kind in LOCAL_KINDS):
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} address"


def _reached(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 one stands for, if it embeds one; else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a public one."""
    if ip.is_unspecified:  # 0.0.0.0 and :: connect to this machine
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:  # includes 169.254.169.254, the cloud metadata service
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global or ip in _LOCAL_NAT64:
        return "private"  # RFC 1918, unique local, shared (CGNAT) and other non-global ranges
    return None


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
