"""Checking an issue's links before it goes out: broken, redirected, or sent to a home page.

:func:`check_links` asks every web address once, concurrently (``fetch.concurrency`` in
flight, at most ``fetch.per_host`` per host), and returns one :class:`LinkResult` per
address, in the order given:

* ``ok``             the page answered 2xx where it was asked
* ``redirect``       it answered 2xx after redirects; ``final_url`` is where (an editor may
                     adopt it as the item's link)
* ``home_redirect``  redirects ended on the site's home page: the article is most likely
                     gone (a "soft 404")
* ``broken``         4xx or 5xx, a name that does not resolve, a refused connection, or no
                     answer within the deadlines

Each address is asked with HEAD first, since it costs the server no body. Many servers
refuse HEAD (405, 501) or answer it wrongly, so any HEAD answer of 400 or more, or a
connection dropped by the server, is asked again with GET, whose body is never read.
Time is bounded like a feed fetch: ``fetch.timeout`` for each connect and read,
``fetch.deadline`` for one link with its redirects and second try, ``fetch.budget`` for
the whole check.

Results carry the moment they were made, so a caller can keep them: :func:`reusable`
says which kept results are young enough (:data:`MAX_AGE`) to spare the servers a second
request the same day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from roundup.config import FetchSettings

if TYPE_CHECKING:
    import httpx

LinkStatus = Literal["ok", "broken", "redirect", "home_redirect"]
STATUSES: tuple[LinkStatus, ...] = ("ok", "broken", "redirect", "home_redirect")
MAX_AGE = timedelta(days=1)  # a kept result is reused for this long
MAX_REDIRECTS = 5
# Paths that are a site's front page; "/en/" and the like are front pages in a language.
HOME_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/home"})


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What one link check found.

    ``code`` is the last HTTP status (None when no answer came); ``final_url`` is where
    redirects led ("" without redirects); ``reason`` says in a few words what went wrong,
    or what the server answered.
    """

    url: str
    status: LinkStatus
    code: int | None = None
    final_url: str = ""
    reason: str = ""
    checked_at: datetime | None = None

    @property
    def broken(self) -> bool:
        return self.status == "broken"


def reusable(
    kept: Mapping[str, LinkResult], *, now: datetime, recheck_broken: bool = False
) -> dict[str, LinkResult]:
    """The kept results younger than :data:`MAX_AGE` at ``now``; with ``recheck_broken``,
    broken ones are left out so that they are asked again (a server may be back)."""
    return {
        url: result
        for url, result in kept.items()
        if result.checked_at is not None
        and now - result.checked_at < MAX_AGE
        and not (recheck_broken and result.broken)
    }


def check_links(
    urls: Iterable[str],
    settings: FetchSettings,
    *,
    now: datetime,
    known: Mapping[str, LinkResult] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[LinkResult, ...]:
    """Check every distinct URL of ``urls`` once; one result per distinct URL, in order.

    ``known`` holds results to use instead of asking (see :func:`reusable`); the new ones
    are stamped ``now``. ``transport`` replaces httpx's network transport (tests).
    """
    known = known or {}
    wanted = list(dict.fromkeys(urls))
    asking = [url for url in wanted if url not in known]
    fresh = asyncio.run(_check_all(asking, settings, now, transport)) if asking else {}
    return tuple(known.get(url) or fresh[url] for url in wanted)


def is_home(url: str) -> bool:
    """True when ``url`` is a site's front page: no query and a path like "/" or "/en/"."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if parts.query:
        return False
    if path in HOME_PATHS:
        return True
    segment = path.strip("/")
    return len(segment) == 2 and segment.isalpha()  # a language's front page: "/en/"


def describe(result: LinkResult) -> str:
    """One line for a person: "HTTP 404 Not Found", "moved to https://…", "DNS: …"."""
    if result.status == "broken":
        return result.reason
    if result.status in ("redirect", "home_redirect"):
        where = "the site's home page " if result.status == "home_redirect" else ""
        return f"redirects to {where}{result.final_url}"
    return result.reason or "OK"


# --- the network ------------------------------------------------------------------------------
# httpx is imported where it is used: the store and the fetch stage read this module's
# records on every run, and a run that checks no link should not pay for the HTTP client.


async def _check_all(
    urls: Sequence[str],
    settings: FetchSettings,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, LinkResult]:
    import httpx

    slots = asyncio.Semaphore(settings.concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": settings.user_agent, "Accept": "text/html, */*;q=0.8"},
        trust_env=False,
        limits=httpx.Limits(max_connections=settings.concurrency),
    ) as client:

        async def one(url: str) -> LinkResult:
            host = hosts.setdefault(_host(url), asyncio.Semaphore(settings.per_host))
            async with slots, host:
                try:
                    async with asyncio.timeout(settings.deadline):
                        return await _check_one(client, url, now)
                except TimeoutError:
                    return _broken(
                        url, now, f"no answer within the {settings.deadline:g} s deadline"
                    )

        tasks = [asyncio.ensure_future(one(url)) for url in urls]
        done, late = await asyncio.wait(tasks, timeout=settings.budget) if tasks else (set(), set())
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)  # let them close their sockets
        results: dict[str, LinkResult] = {}
        for url, task in zip(urls, tasks, strict=True):
            if task in done:
                results[url] = task.result()
            else:  # never asked, so nothing to keep: no checked_at
                reason = f"not checked within the {settings.budget:g} s budget of the whole check"
                results[url] = LinkResult(url, "broken", None, "", reason, None)
        return results


async def _check_one(client: httpx.AsyncClient, url: str, now: datetime) -> LinkResult:
    import httpx

    if urlsplit(url).scheme not in ("http", "https"):
        return _broken(url, now, "not a web address (http or https)")
    try:
        response = await _ask(client, "HEAD", url)
    except httpx.RemoteProtocolError:
        response = None  # the server dropped a HEAD: ask with GET
    except httpx.HTTPError as exc:
        return _broken(url, now, _network_reason(exc))
    if response is None or response.status_code >= 400:
        try:
            response = await _ask(client, "GET", url)
        except httpx.HTTPError as exc:
            return _broken(url, now, _network_reason(exc))
    return _judge(url, response, now)


async def _ask(client: httpx.AsyncClient, method: str, url: str) -> httpx.Response:
    """The response's status and headers; the body is never read."""
    async with client.stream(method, url) as response:
        return response


def _judge(url: str, response: httpx.Response, now: datetime) -> LinkResult:
    code = response.status_code
    final = str(response.url)
    reason = _http(code)
    if code >= 400:
        return LinkResult(url, "broken", code, final if response.history else "", reason, now)
    if not response.history or final == url:
        return LinkResult(url, "ok", code, "", reason, now)
    status: LinkStatus = "home_redirect" if is_home(final) and not is_home(url) else "redirect"
    first = response.history[0].status_code
    return LinkResult(url, status, code, final, f"HTTP {first}, then {reason}", now)


def _broken(url: str, now: datetime, reason: str) -> LinkResult:
    return LinkResult(url, "broken", None, "", reason, now)


def _http(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _network_reason(exc: httpx.HTTPError) -> str:
    """A refused connection, a name that does not resolve, a timeout: in a few words."""
    import httpx

    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time (fetch.timeout)"
    lowered = text.lower()
    if isinstance(exc, httpx.ConnectError) and any(
        hint in lowered
        for hint in (
            "name or service not known",
            "nodename nor servname",
            "no address associated",
            "getaddrinfo",
            "name resolution",
            "not known",
        )
    ):
        return "DNS: the host name does not resolve"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return f"{type(exc).__name__}: {text}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# --- an issue's links ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueLink:
    """One link of an issue, where it appears, and what its check found."""

    where: str  # 'item 3 "Title"', 'the intro', 'the note of item 3 "Title"'
    key: str  # the draft item's key ("" for the intro)
    result: LinkResult


@dataclass(frozen=True, slots=True)
class LinkReport:
    """Every link of one week's issue, checked; ``cached`` came from the last day's checks."""

    week: str
    links: tuple[IssueLink, ...]
    cached: int = 0

    def having(self, *statuses: LinkStatus) -> tuple[IssueLink, ...]:
        return tuple(link for link in self.links if link.result.status in statuses)

    @property
    def broken(self) -> tuple[IssueLink, ...]:
        return self.having("broken")

    def for_url(self, url: str) -> LinkResult | None:
        return next((link.result for link in self.links if link.result.url == url), None)


def format_link_report(report: LinkReport) -> str:
    """What ``roundup check-links`` prints: the counts, then each problem with what to do."""
    count = {status: len(report.having(status)) for status in STATUSES}
    links = len(report.links)
    cached = f" ({report.cached} from checks of the last day)" if report.cached else ""
    lines = [
        f"Checked {links} link{'' if links == 1 else 's'} in {report.week}{cached}: "
        f"{count['ok']} OK, {count['redirect']} redirected, "
        f"{count['home_redirect']} to a home page, {count['broken']} broken."
    ]
    if count["broken"]:
        lines.append("Broken (fix or remove the item):")
        lines += [
            f"  {link.where}: {link.result.url}: {link.result.reason}" for link in report.broken
        ]
    if count["home_redirect"]:
        lines.append("Redirected to a home page (the page is probably gone):")
        lines += [
            f"  {link.where}: {link.result.url} -> {link.result.final_url}"
            for link in report.having("home_redirect")
        ]
    if count["redirect"]:
        lines.append("Redirected (adopt the new address in `roundup preview`, or edit draft.yaml):")
        lines += [
            f"  {link.where}: {link.result.url} -> {link.result.final_url}"
            for link in report.having("redirect")
        ]
    return "".join(line + "\n" for line in lines)


def hold_lines(report: LinkReport) -> list[str]:
    """Why a send is held: one line per broken link, naming where it is."""
    return [f"{link.where}: {link.result.url}: {link.result.reason}" for link in report.broken]
