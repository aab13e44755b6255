"""The desk's HTTP plumbing: requests and responses, who may make them, JSON bodies.

:func:`check_request` is the whole access policy, a pure function so it can be tested
without a socket:

* bound to loopback (the default), the Host header must name loopback, so a web page
  cannot reach the desk through a DNS name it controls (DNS rebinding);
* bound to another address, every request must carry the access token printed with the
  desk's URL, as ``?token=`` or, after the first visit, as a cookie;
* every POST must carry the per-process CSRF token in ``X-CSRF-Token`` (a plain form's
  action carries it as ``?csrf=``), and an ``Origin``, when the browser sends one, must be
  the desk's own.

:func:`body_length` vets a POST's framing before a byte of its body is read: one
``Content-Length`` of decimal digits, at most :data:`MAX_BODY`; anything else is refused
with 400, 411 or 413.

The rest reads JSON request bodies (refusing malformed ones with 400) and builds responses.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

import jinja2

CSRF_HEADER = "x-csrf-token"
CSRF_QUERY = "csrf"  # a plain form cannot set a header: its action carries the token
FORM_PREFIX = "/form/"  # changes posted by plain forms, for a browser without JavaScript
TOKEN_COOKIE = "roundup_desk"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_BODY = 1_000_000  # bytes: more than any intro and notes; a larger body is refused unread


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the desk sees it; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class Refused(Exception):
    """A request the desk turns down, with the status and a message for the editor."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost and the rest of 127.0.0.0/8."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_request(
    request: Request, *, loopback: bool, csrf_token: str, access_token: str
) -> Refused | None:
    """Why ``request`` must be refused, or None: the desk's whole access policy.

    Bound to loopback, the Host must name loopback (a web page cannot reach the desk
    through a DNS name it controls). Bound elsewhere, the access token must come as
    ``?token=`` or the cookie. A POST needs the CSRF token and, if the browser sent an
    Origin, the desk's own.
    """
    host = request.headers.get("host", "")
    if loopback and not is_loopback(_hostname(host)):
        return Refused(403, f"This desk answers only at 127.0.0.1 or localhost, not at '{host}'.")
    if not loopback and not _has_token(request, access_token):
        return Refused(
            403,
            "This desk needs its access token: open the full address printed by "
            "`roundup preview` (it ends in ?token=…).",
        )
    if request.method != "POST":
        return None
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.path.startswith(FORM_PREFIX):
        sent = request.query.get(CSRF_QUERY, "")
    if not secrets.compare_digest(sent.encode(), csrf_token.encode()):
        return Refused(403, "Missing or wrong CSRF token: reload the page and try again.")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return Refused(403, f"Refused a change sent from another site ({origin}).")
    return None


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _has_token(request: Request, access_token: str) -> bool:
    cookie = SimpleCookie()
    try:
        cookie.load(request.headers.get("cookie", ""))
    except CookieError:  # a malformed Cookie header: no token
        return False
    given = request.query.get("token") or (
        cookie[TOKEN_COOKIE].value if TOKEN_COOKIE in cookie else ""
    )
    return bool(given) and secrets.compare_digest(given.encode(), access_token.encode())


def token_cookie(token: str) -> str:
    """The Set-Cookie value that keeps the access token for later requests."""
    return f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"


def body_length(
    lengths: Sequence[str], *, transfer_encoding: str | None, limit: int = MAX_BODY
) -> int:
    """The size of a POST's body from its ``Content-Length`` values, or a refusal.

    ``lengths`` holds every Content-Length header sent. Exactly one, of decimal digits only
    (no sign, no spaces inside), at most ``limit``: anything else is refused before the body
    is read, so a negative, huge or garbled length can neither make the desk read until the
    client stops nor raise an error. A chunked body is refused too: the desk needs the size
    up front.
    """
    if transfer_encoding is not None:
        raise Refused(411, "Send the body with a Content-Length header, not Transfer-Encoding.")
    if not lengths:
        raise Refused(411, "A POST needs a Content-Length header.")
    if len(lengths) > 1:
        raise Refused(400, "The request has more than one Content-Length header.")
    value = lengths[0].strip()
    if not value.isascii() or not value.isdigit():  # isdigit alone takes "²" and "٣"
        shown = " ".join(value.split())[:40]
        raise Refused(400, f"Content-Length must be a number of bytes, not '{shown}'.")
    # compare the digit counts first: int() refuses a string of more than 4,300 digits
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise Refused(413, f"The request body is larger than the {limit:,} bytes the desk accepts.")
    return int(digits)


# --- reading requests and writing responses ------------------------------------------------


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; anything else is refused with 400."""
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Refused(400, "The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise Refused(400, "The request body must be a JSON object.")
    return data


def form_body(request: Request) -> dict[str, str]:
    """A plain form's fields (``application/x-www-form-urlencoded``); the last of a name wins."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "The form was not sent as UTF-8.") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def text_field(body: Mapping[str, Any], name: str) -> str:
    """The text field ``name`` ("" when absent or null); anything but text is refused."""
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(400, f"'{name}' must be text.")
    return value


def optional_field(body: Mapping[str, Any], name: str) -> str | None:
    """The text field ``name``, or None when the request leaves it out (unchanged)."""
    return text_field(body, name) if name in body else None


def index_field(body: Mapping[str, Any]) -> int | None:
    """The position ``index``: a whole number, or None for "at the end"."""
    value = body.get("index")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(400, "'index' must be a whole number.")
    return value


def html_response(html: str, *headers: tuple[str, str]) -> Response:
    """A 200 HTML page with extra ``headers``."""
    return Response(200, html.encode("utf-8"), "text/html; charset=utf-8", headers)


def json_response(data: Mapping[str, Any], status: int = 200) -> Response:
    """``data`` as a JSON response."""
    return Response(status, json.dumps(data).encode("utf-8"), "application/json")


def failure(request: Request, status: int, message: str) -> Response:
    """``message`` as the page expects it: JSON for its scripts, a short page for a browser."""
    form = request.path.startswith(FORM_PREFIX)
    if request.path.startswith("/api/") or (request.method == "POST" and not form):
        return json_response({"ok": False, "error": message}, status)
    page = jinja2.Template(
        "<!doctype html><meta charset=utf-8><title>Editor's desk</title>"
        "<p style='font:16px system-ui;margin:2em'>{{ message }}</p>"
        "{% if form %}<p style='font:16px system-ui;margin:2em'>"
        "<a href='/'>Back to the desk</a></p>{% endif %}",
        autoescape=True,
    ).render(message=message, form=form)
    return Response(status, page.encode("utf-8"), "text/html; charset=utf-8")


def token_redirect(request: Request) -> Response:
    """Keep a valid ``?token=`` as a cookie and drop it from the address bar."""
    cookie = token_cookie(request.query["token"])
    return Response(303, b"", "text/plain", (("Location", request.path), ("Set-Cookie", cookie)))
