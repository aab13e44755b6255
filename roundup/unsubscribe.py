"""The unsubscribe endpoint: one-click (RFC 8058) and a confirmation page, as a web app.

Each direct send carries ``newsletter.unsubscribe_url`` with the recipient's token (the
HMAC of the list id and the address, :func:`roundup.message.unsubscribe_token`). This app
answers that URL, as ``/unsubscribe/{token}`` behind the website's reverse proxy:

- ``POST`` with the form field ``List-Unsubscribe=One-Click`` (what a mail provider sends
  for a ``List-Unsubscribe-Post`` header, and what the page's button sends) puts the
  address on the suppression list at once and answers 200 with a short page; no redirect;
- ``GET`` shows a page naming the address with one button. The GET itself changes
  nothing, so a link scanner that follows every URL in a mail unsubscribes nobody;
- a token that names nobody (cut short, forged, or signed with another secret) gets a
  404 page that says how else to unsubscribe.

A token names no address by itself: the app recomputes the token of every address it
knows (the subscribers CSV, and the addresses the store has a status for) and looks the
one asked for up. The table is built at start and again when the CSV changes (by one
thread, while the others answer from the table they have), never per request.

Like the desk, the app vets the Host first (loopback names, and the host of
``unsubscribe_url``, which a reverse proxy may pass on), before a byte of a body is read;
the server (:mod:`roundup.serve`) bounds the body's size and the time a client may take.
Pages are autoescaped, sent with a CSP that allows no script, and never cached.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.utils import parseaddr
from urllib.parse import parse_qsl, urlsplit

import jinja2

from roundup import pipeline
from roundup.config import Config
from roundup.desk.web import Refused, Request, Response, is_loopback
from roundup.errors import RoundupError
from roundup.message import list_id, unsubscribe_token
from roundup.store import UNSUBSCRIBED, StatusRecord
from roundup.subscribers import Subscriber

PATH_PREFIX = "/unsubscribe/"
ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058's form field
MAX_BODY = 8 * 1024  # bytes: the one-click body is 26; a form from a page is no bigger
# A token that names nobody rebuilds the table (the store may know a new address) at most
# this often, so that a stream of made-up tokens costs no more than a few lookups.
REFRESH_AFTER = 60.0  # seconds
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,64}$")

Clock = Callable[[], datetime]

HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # The token in the address must not leak to another site.
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Robots-Tag", "noindex"),
)

_PAGE = jinja2.Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }} · {{ title }}</title>
<style>
body { font: 17px/1.5 system-ui, sans-serif; margin: 0; padding: 3em 1em; color: #1d1d1f;
  background: #f5f5f7; }
main { max-width: 32em; margin: 0 auto; background: #fff; padding: 2em; border-radius: 8px; }
h1 { font-size: 1.4em; margin-top: 0; }
button { font: inherit; padding: .6em 1.4em; border: 0; border-radius: 6px; color: #fff;
  background: #b3261e; cursor: pointer; }
button:focus-visible { outline: 3px solid #1d1d1f; outline-offset: 2px; }
.small { color: #555; font-size: .9em; }
</style>
</head>
<body>
<main>
<h1>{{ heading }}</h1>
{% for paragraph in paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}
{% if button %}<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{ button }}</button>
</form>
{% endif %}
<p class="small">{{ title }}</p>
</main>
</body>
</html>
""",
    autoescape=True,
)


@dataclass(frozen=True, slots=True)
class Page:
    heading: str
    paragraphs: tuple[str, ...]
    button: str = ""


class Unsubscribes:
    """The web app: :meth:`handle` turns a Request into a Response and never raises."""

    def __init__(
        self, config: Config, *, secret: str, clock: Clock, refresh_after: float = REFRESH_AFTER
    ) -> None:
        self.config = config
        self.refresh_after = refresh_after  # seconds between store look-ups for a miss
        self.secret = secret
        self.clock = clock
        self.list_id = list_id(config)
        self.hosts = allowed_hosts(config)
        self.prefixes = path_prefixes(config)
        self._lock = threading.Lock()  # guards the three fields below
        self._building = threading.Lock()  # one thread signs the CSV at a time
        self._index: dict[str, Subscriber] = {}
        self._index_key: object = None
        self._built_at = -refresh_after

    def vet(self, request: Request) -> Refused | None:
        """Why ``request`` must be refused before its body is read, or None."""
        host = request.headers.get("host", "")
        if host_name(host) not in self.hosts and not is_loopback(host_name(host)):
            names = ", ".join(["localhost", "127.0.0.1", *sorted(self.hosts)])
            return Refused(403, f"This service answers only for {names}, not for '{host}'.")
        if request.method not in ("GET", "HEAD", "POST"):
            return Refused(405, "Only GET and POST are answered here.")
        return None

    def handle(self, request: Request) -> Response:
        """Answer ``request``; never raises."""
        try:
            refused = self.vet(request)
            if refused is not None:
                raise refused
            token = token_in(request.path, self.prefixes)
            if token is None:
                raise Refused(404, "There is nothing here.")
            subscriber = self.lookup(token)
            if subscriber is None:
                return self.page(404, self.unknown())
            if request.method in ("GET", "HEAD"):
                return self.page(200, self.confirmation(subscriber))
            if not is_one_click(request):
                raise Refused(
                    400,
                    "This request does not say List-Unsubscribe=One-Click; open the link"
                    " in a browser and press the button.",
                )
            how = "page" if "origin" in request.headers else "one-click"
            return self.page(200, self.unsubscribe(subscriber, how))
        except Refused as exc:
            return self.page(exc.status, Page("Not possible", (exc.message,)))
        except RoundupError as exc:
            return self.page(503, Page("Please try again later", (str(exc),)))
        except Exception as exc:  # a bug: answer, keep the server up, show the trace
            traceback.print_exc()
            return self.page(500, Page("Something went wrong", (f"{type(exc).__name__}",)))

    # --- the token table --------------------------------------------------------------------

    def lookup(self, token: str) -> Subscriber | None:
        """The subscriber whose token is ``token``, or None."""
        key = _file_key(self.config)
        with self._lock:
            index, built_for, built_at = self._index, self._index_key, self._built_at
        if key != built_for:
            # One thread signs the changed CSV; the others go on with the table they have
            # (every address in it is still right), unless there is none yet.
            if self._building.acquire(blocking=not index):
                try:
                    if key != self._index_key:
                        self._build(key)
                finally:
                    self._building.release()
        elif token not in index and time.monotonic() - built_at >= self.refresh_after:
            self._add_recorded()
        with self._lock:
            found = self._index.get(token)
        if found is None:
            return None
        # The status as it is now: the table may be older than the last unsubscribe.
        record = pipeline.subscriber_status(self.config, found.address)
        if record is None:
            return found
        return replace(found, status=record.status, since=record.at, how=record.how)

    def warm_up(self) -> int:
        """Build the token table now (the first reader need not wait); returns its size.

        Raises what reading the subscribers CSV or the store raises, so a service that
        cannot work says so when it starts.
        """
        with self._building:
            self._build(_file_key(self.config))
        with self._lock:
            return len(self._index)

    def _build(self, key: object) -> None:
        """Sign every address of the CSV and the store, then swap the new table in."""
        known = pipeline.subscriber_list(self.config)
        table = {self._token(s.address): s for s in known}
        with self._lock:
            self._index, self._index_key, self._built_at = table, key, time.monotonic()

    def _add_recorded(self) -> None:
        """Add the addresses only the store knows (one query: a made-up token never costs
        a pass over the CSV)."""
        records = pipeline.recorded_statuses(self.config)
        with self._lock:
            table = dict(self._index)
            for address, record in records.items():
                subscriber = Subscriber(address, "", record.status, record.at, record.how, False)
                table.setdefault(self._token(address), subscriber)
            self._index, self._built_at = table, time.monotonic()

    def _token(self, address: str) -> str:
        return unsubscribe_token(self.secret, self.list_id, address)

    # --- the pages --------------------------------------------------------------------------

    def unsubscribe(self, subscriber: Subscriber, how: str) -> Page:
        """Put the address on the suppression list (once) and say so; ``how`` is
        ``one-click`` (a mail provider's POST) or ``page`` (the button)."""
        record = StatusRecord(subscriber.address.lower(), UNSUBSCRIBED, self.clock(), how)
        pipeline.record_statuses(self.config, [record])
        title = self.config.newsletter.title
        return Page(
            "You are unsubscribed",
            (
                f"{subscriber.address} will get no more issues of {title}.",
                "Changed your mind? Reply to any issue and ask to be subscribed again.",
            ),
        )

    def confirmation(self, subscriber: Subscriber) -> Page:
        title = self.config.newsletter.title
        if subscriber.status == UNSUBSCRIBED and subscriber.since is not None:
            return Page(
                "Already unsubscribed",
                (
                    f"{subscriber.address} unsubscribed from {title} on"
                    f" {subscriber.since.astimezone(UTC):%Y-%m-%d} and gets no more issues.",
                ),
            )
        return Page(
            "Unsubscribe?",
            (f"Stop sending {title} to {subscriber.address}?",),
            button="Unsubscribe",
        )

    def unknown(self) -> Page:
        nl = self.config.newsletter
        write_to = nl.unsubscribe_mailto.removeprefix("mailto:").split("?")[0]
        address = write_to or parseaddr(nl.from_addr)[1]
        return Page(
            "This unsubscribe link is not valid",
            (
                "The link may have been cut short when it was copied, or it comes from an"
                " address that is no longer on the list.",
                f"To unsubscribe, open the link from the most recent issue again, or write"
                f" to {address} and ask to be removed.",
            ),
        )

    def page(self, status: int, page: Page) -> Response:
        html = _PAGE.render(
            title=self.config.newsletter.title,
            heading=page.heading,
            paragraphs=page.paragraphs,
            button=page.button,
        )
        return Response(status, html.encode("utf-8"), "text/html; charset=utf-8", HEADERS)


def allowed_hosts(config: Config) -> frozenset[str]:
    """The host names the app answers for besides loopback: ``unsubscribe_url``'s."""
    url = config.newsletter.unsubscribe_url
    host = urlsplit(url).hostname if url else None
    return frozenset({host.lower()} if host else set())


def host_name(host: str) -> str:
    """The name in a Host header, without the port: ``[::1]:80`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_one_click(request: Request) -> bool:
    """True when the POST body holds ``List-Unsubscribe=One-Click`` (RFC 8058 section 3.1:
    ``application/x-www-form-urlencoded`` or ``multipart/form-data``)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return ONE_CLICK in _multipart_fields(request)
    try:
        fields = parse_qsl(request.body.decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        return False
    return ONE_CLICK in fields


def _multipart_fields(request: Request) -> list[tuple[str, str]]:
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode("latin-1")
    parsed: Message = message_from_bytes(head + request.body)
    fields = []
    for part in parsed.walk() if parsed.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.append((name, payload.decode("utf-8", "replace").strip()))
    return fields


def path_prefixes(config: Config) -> tuple[str, ...]:
    """Where tokens are answered: ``/unsubscribe/``, and the path of ``unsubscribe_url``
    before ``{token}`` (``/roundup/unsubscribe/``), so a proxy may pass paths unchanged."""
    url = config.newsletter.unsubscribe_url
    path = urlsplit(url.replace("{token}", "TOKEN")).path if url else ""
    head, found, tail = path.partition("TOKEN")
    if not found or tail.strip("/") or not head.endswith("/") or head == PATH_PREFIX:
        return (PATH_PREFIX,)
    return (PATH_PREFIX, head)


def token_in(path: str, prefixes: tuple[str, ...]) -> str | None:
    """The token in ``path`` under one of ``prefixes``, or None."""
    for prefix in prefixes:
        if path.startswith(prefix):
            token = path[len(prefix) :].rstrip("/")
            return token if _TOKEN.match(token) else None
    return None


def _file_key(config: Config) -> object:
    """What changes when the subscribers CSV does: its size and modification time."""
    path = config.smtp.subscribers if config.smtp else None
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat is not None else None
