"""The editor's desk: a local web page to review, shape, test-send and approve one week's issue.

The page shows the issue exactly as it will go out (the email at desktop and phone widths,
its plain text, the blog post) next to the draft's items, which the editor reorders,
removes, restores, moves between sections, edits, and adds to by URL.

draft.yaml stays the single source of truth: every page load reads it, and every change is
applied to it at once (through :mod:`roundup.edit` and the atomic ``save_draft``), so hand
edits to the file show up on reload. The file's sha256 is the draft's *version*: the page
carries it and every change sends it back; a change made against an older version is
refused with 409 and :data:`STALE`, never applied, so two tabs cannot silently overwrite
each other. Writes are serialised by a lock in the app and by the run lock that
``roundup run`` holds, so cron's re-draft cannot interleave with an edit either.

Safety: :meth:`Desk.vet` (:func:`roundup.desk.web.check_request`) vets every request
first (loopback Host, access token off loopback, CSRF token on every POST); the server
calls it before it reads a POST's body. Add-by-URL reads only public web pages, within a
deadline (:mod:`roundup.desk.metadata`). Feed content reaches the page only
through autoescaped templates; the rendered previews are served with a sandboxing CSP and
shown in ``sandbox=""`` iframes, so nothing in them can run.

Pages are Jinja templates with a little inline JavaScript: no build step. The handlers
speak :class:`~roundup.desk.web.Request` and ``Response``, so tests can call
:meth:`Desk.handle` without a socket; :mod:`roundup.desk.server` serves it.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jinja2

from roundup import pipeline
from roundup.config import Config
from roundup.desk import views
from roundup.desk.metadata import fetch_metadata
from roundup.desk.views import Snapshot
from roundup.desk.web import (
    FORM_PREFIX,
    Refused,
    Request,
    Response,
    check_request,
    failure,
    form_body,
    html_response,
    index_field,
    is_loopback,
    json_body,
    json_response,
    optional_field,
    text_field,
    token_redirect,
)
from roundup.draft_file import dump_draft, parse_draft, save_draft
from roundup.edit import (
    add_item,
    editor_item,
    find_item,
    move_item,
    one_line,
    remove_item,
    rename_source,
    restore_item,
    set_link,
    set_meta,
    update_item,
)
from roundup.errors import (
    ConfigError,
    DraftError,
    FetchError,
    RoundupError,
    SendError,
    StoreLocked,
)
from roundup.linkcheck import describe
from roundup.models import Draft
from roundup.pipeline import draft_path, resolve_window
from roundup.week import Window

if TYPE_CHECKING:
    from roundup.render import RenderedIssue

STALE = (
    "This draft changed since you loaded it (another tab, or an edit to draft.yaml). "
    "Reload to see the latest; your change was not applied."
)
TEMPLATES = Path(__file__).resolve().parent / "templates"

Clock = Callable[[], datetime]


# --- the app ------------------------------------------------------------------------------

Handler = Callable[["Desk", Request], Response]
_ROUTES: dict[tuple[str, str], Handler] = {}


def _route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES[(method, path)] = handler
        return handler

    return register


class Desk:
    """The web app for one week's issue: :meth:`handle` turns a Request into a Response."""

    def __init__(
        self,
        config: Config,
        *,
        window: Window,
        clock: Clock,
        secret: str,
        host: str = "127.0.0.1",
        approver: str = "",
        transport: httpx.BaseTransport | None = None,
        allow_private_pages: bool = False,
        link_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.link_transport = link_transport  # for checking the issue's links (tests)
        self.window = window
        self.clock = clock
        self.secret = secret
        self.loopback = is_loopback(host)
        self.approver = approver
        self.transport = transport
        self.allow_private_pages = allow_private_pages  # add-by-URL may read local servers
        self.path = draft_path(config, window.week)
        self.csrf_token = secrets.token_urlsafe(24)
        self.access_token = "" if self.loopback else secrets.token_urlsafe(24)
        self.lock = threading.Lock()  # one change at a time
        self._parsed: dict[str, Snapshot] = {}  # by version: the last few drafts read
        self._parsed_lock = threading.Lock()
        self.views = views.Views(config, window)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def handle(self, request: Request) -> Response:
        """Answer ``request``; never raises."""
        try:
            refused = self.vet(request)
            if refused is not None:
                raise refused
            if not self.loopback and request.method == "GET" and "token" in request.query:
                return token_redirect(request)
            handler = _ROUTES.get((request.method, request.path))
            if handler is None:
                raise Refused(404, f"Nothing here: {request.method} {request.path}")
            if request.method == "POST":
                self.refuse_if_sent()
            return handler(self, request)
        except Refused as exc:
            return failure(request, exc.status, exc.message)
        except StoreLocked as exc:
            return failure(request, 503, f"{exc} (a `roundup run` is working; try again soon)")
        except (DraftError, SendError, FetchError, ConfigError) as exc:
            return failure(request, 422, str(exc))
        except RoundupError as exc:
            return failure(request, 500, str(exc))
        except Exception as exc:  # a bug: say so in the page, keep the server up
            traceback.print_exc(file=sys.stderr)
            return failure(request, 500, f"Unexpected error: {type(exc).__name__}: {exc}")

    def refuse_if_sent(self) -> None:
        """A sent issue is history: every change is refused, saying when it went out."""
        sent = self.views.sent_line(pipeline.issue_record(self.config, self.window.week))
        if sent:
            raise Refused(
                409,
                f"{sent}: this issue is read-only, so nothing was changed. "
                "Open next week's issue with `roundup preview --week current`.",
            )

    def vet(self, request: Request) -> Refused | None:
        """Why the access policy refuses ``request``, or None; needs no body."""
        return check_request(
            request,
            loopback=self.loopback,
            csrf_token=self.csrf_token,
            access_token=self.access_token,
        )

    # --- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """draft.yaml as it is on disk now."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Snapshot(
                "",
                None,
                f"{self.path}: no draft yet (run `roundup draft --week {self.window.week}`)",
            )
        except OSError as exc:
            return Snapshot("", None, f"{self.path}: cannot read it ({exc})")
        version = hashlib.sha256(data).hexdigest()
        known = self._parsed.get(version)
        if known is not None:  # parsing the YAML costs more than everything else in a request
            return known
        try:
            return self._remember(Snapshot(version, parse_draft(data.decode("utf-8"), self.path)))
        except UnicodeDecodeError as exc:
            return Snapshot(version, None, f"{self.path}: not UTF-8 text ({exc})")
        except DraftError as exc:
            return Snapshot(version, None, str(exc))

    def _remember(self, snapshot: Snapshot) -> Snapshot:
        with self._parsed_lock:
            self._parsed = {**dict(list(self._parsed.items())[-3:]), snapshot.version: snapshot}
        return snapshot

    def render(self, snapshot: Snapshot) -> RenderedIssue:
        return self.views.rendered(snapshot.version, _required(snapshot))

    # --- changing --------------------------------------------------------------------------

    def change(self, body: Mapping[str, Any], edit: Callable[[Draft], Draft]) -> Response:
        """Apply ``edit`` to the draft the page saw; refuse it if the file moved on."""
        seen = self.current(body)  # refuse a stale page before waiting for the run lock

        def apply() -> Draft | None:
            snapshot = self.current(body)
            before = _required(snapshot)
            after = edit(before)
            if after == before:
                return None
            # never write what reads back wrong
            if parse_draft(dump_draft(after), self.path) != after:
                raise DraftError(
                    "this change would not survive saving draft.yaml; it was not applied"
                )
            save_draft(self.path, after)
            return after

        with self.lock:
            after = pipeline.edit_draft(self.config, self.window.week, apply)
            if after is None:
                return json_response({"ok": True, "version": seen.version, "changed": False})
            version = hashlib.sha256(self.path.read_bytes()).hexdigest()
            self._remember(Snapshot(version, after))
        return json_response({"ok": True, "version": version, "changed": True})

    def current(self, body: Mapping[str, Any]) -> Snapshot:
        """The snapshot, if it is the version the page sent; else a 409 refusal."""
        snapshot = self.snapshot()
        if snapshot.draft is None:
            raise Refused(409, f"draft.yaml cannot be read: {snapshot.error}")
        if str(body.get("version", "")) != snapshot.version:
            raise Refused(409, STALE)
        return snapshot


def create_app(
    config: Config,
    *,
    week: str,
    clock: Clock,
    secret: str,
    host: str = "127.0.0.1",
    approver: str = "",
    transport: httpx.BaseTransport | None = None,
    allow_private_pages: bool = False,
    link_transport: httpx.AsyncBaseTransport | None = None,
) -> Desk:
    """The desk for ``week`` (``2015-W33``, ``current`` or ``last``).

    ``secret`` is ``$ROUNDUP_SECRET`` (for test sends), read by the caller; ``approver``
    fills the approval's name field; ``transport`` is for reading pages added by URL, and
    ``allow_private_pages`` lets those pages be on loopback and private addresses;
    ``link_transport`` replaces the network when the desk checks the issue's links.
    """
    window = resolve_window(config, week, now=clock())
    return Desk(
        config,
        window=window,
        clock=clock,
        secret=secret,
        host=host,
        approver=approver,
        transport=transport,
        allow_private_pages=allow_private_pages,
        link_transport=link_transport,
    )


# --- pages ----------------------------------------------------------------------------------


@_route("GET", "/")
def _page(desk: Desk, request: Request) -> Response:
    nonce = secrets.token_urlsafe(16)
    context = desk.views.page(desk.snapshot(), approver=desk.approver)
    html = desk.templates.get_template("desk.html").render(
        **context, csrf=desk.csrf_token, nonce=nonce
    )
    policy = (
        "default-src 'self'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return html_response(html, ("Content-Security-Policy", policy), ("X-Frame-Options", "DENY"))


@_route("GET", "/panel/status")
def _status_panel(desk: Desk, request: Request) -> Response:
    return _panel(desk, "_status.html")


@_route("GET", "/panel/items")
def _items_panel(desk: Desk, request: Request) -> Response:
    return _panel(desk, "_items.html")


@_route("GET", "/panel/removed")
def _removed_panel(desk: Desk, request: Request) -> Response:
    return _panel(desk, "_removed.html")


@_route("GET", "/panel/approval")
def _approval_panel(desk: Desk, request: Request) -> Response:
    return _panel(desk, "_approval.html")


def _panel(desk: Desk, template: str) -> Response:
    """A piece of the page, re-fetched after an edit so the page need not reload."""
    context = desk.views.page(desk.snapshot(), approver=desk.approver)
    html = desk.templates.get_template(template).render(**context, csrf=desk.csrf_token)
    return html_response(html)


_PREVIEW_POLICY = (
    "sandbox; default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; "
    "font-src http: https: data:; frame-ancestors 'self'"
)


def _preview(desk: Desk, part: str) -> Response:
    snapshot = desk.snapshot()
    if snapshot.draft is None:
        raise Refused(409, snapshot.error)
    issue = desk.render(snapshot)
    if part == "text":
        return Response(200, issue.email_text.encode(), "text/plain; charset=utf-8")
    body = issue.email_html if part == "email" else issue.post_html
    body = views.mark_items(body, snapshot.draft.items)
    return html_response(body, ("Content-Security-Policy", _PREVIEW_POLICY))


@_route("GET", "/preview/email")
def _preview_email(desk: Desk, request: Request) -> Response:
    return _preview(desk, "email")


@_route("GET", "/preview/post")
def _preview_post(desk: Desk, request: Request) -> Response:
    return _preview(desk, "post")


@_route("GET", "/preview/text")
def _preview_text(desk: Desk, request: Request) -> Response:
    return _preview(desk, "text")


@_route("GET", "/api/version")
def _version(desk: Desk, request: Request) -> Response:
    return json_response({"ok": True, "version": desk.snapshot().version})


# --- changes ------------------------------------------------------------------------------


Edit = Callable[[Draft], Draft]
_EDITS: dict[str, Callable[[Desk, Mapping[str, Any]], Edit]] = {}


def _edit(name: str) -> Callable[[Callable[[Desk, Mapping[str, Any]], Edit]], Any]:
    """An edit the page makes both ways: ``POST /api/<name>`` with JSON from its script,
    and ``POST /form/<name>`` from a plain form, which works without JavaScript."""

    def register(make: Callable[[Desk, Mapping[str, Any]], Edit]) -> Any:
        _EDITS[name] = make

        def by_script(desk: Desk, request: Request) -> Response:
            body = json_body(request)
            return desk.change(body, make(desk, body))

        def by_form(desk: Desk, request: Request) -> Response:
            body = form_body(request)
            desk.change(body, make(desk, body))
            return Response(303, b"", "text/plain", (("Location", "/"),))

        _ROUTES[("POST", f"/api/{name}")] = by_script
        _ROUTES[("POST", f"{FORM_PREFIX}{name}")] = by_form
        return make

    return register


@_edit("move")
def _move(desk: Desk, body: Mapping[str, Any]) -> Edit:
    """To ``section`` at ``index``, or ``to`` up, down, the top or the bottom of its section."""
    key, to = text_field(body, "key"), text_field(body, "to")
    if to in ("up", "down", "top", "bottom"):

        def relative(draft: Draft) -> Draft:
            section, index = views.move_target(draft, key, to)  # type: ignore[arg-type]
            return move_item(draft, key, section=section, index=index)

        return relative
    if to not in ("", "section"):
        raise Refused(400, f"'to' must be up, down, top, bottom or section, not '{to}'.")
    section, index = text_field(body, "section"), _index(body)
    return lambda draft: move_item(draft, key, section=section, index=index)


def _index(body: Mapping[str, Any]) -> int | None:
    value = body.get("index")
    if isinstance(value, str):  # a form sends text
        return int(value) if value.isascii() and value.isdigit() else None
    return index_field(body)


@_edit("remove")
def _remove(desk: Desk, body: Mapping[str, Any]) -> Edit:
    key = text_field(body, "key")
    return lambda draft: remove_item(draft, key)


@_edit("adopt")
def _adopt(desk: Desk, body: Mapping[str, Any]) -> Edit:
    """Replace the item's link with where it redirects, as the last link check found."""
    key = text_field(body, "key")

    def edit(draft: Draft) -> Draft:
        found = find_item(draft, key)
        if found is None:
            raise DraftError("that item is no longer in the draft: reload to see the latest")
        link = found[2].link
        check = pipeline.kept_link_checks(desk.config, [link]).get(link)
        if check is None or check.status != "redirect":
            shown = describe(check) if check else "not checked yet"
            raise DraftError(f"{link} has no new address to adopt ({shown})")
        return set_link(draft, key, check.final_url)

    return edit


@_edit("restore")
def _restore(desk: Desk, body: Mapping[str, Any]) -> Edit:
    key = text_field(body, "key")

    def edit(draft: Draft) -> Draft:
        proposals = desk.views.proposals(draft)
        found = proposals.get(key)
        if found is None:
            raise DraftError(
                "that story is no longer among the fetched entries: it cannot be restored"
            )
        return restore_item(
            draft,
            found.item,
            section=found.section,
            description=found.description,
            index=views.restore_index(draft, found, proposals),
        )

    return edit


@_route("POST", "/api/check-links")
def _check_links(desk: Desk, request: Request) -> Response:
    """Check every link of the issue now (results of the last day are reused)."""
    body = json_body(request)
    snapshot = desk.current(body)
    # no desk lock: the check may take a while, and reads the draft once, as it is now
    report = pipeline.check_links(
        desk.config,
        week=desk.window.week,
        now=desk.clock(),
        transport=desk.link_transport,
        fresh=bool(body.get("fresh")),
    )
    counts = {status: len(report.having(status)) for status in ("broken", "redirect")}
    return json_response(
        {
            "ok": True,
            "version": snapshot.version,
            "message": f"Checked {len(report.links)} links: {counts['broken']} broken, "
            f"{counts['redirect'] + len(report.having('home_redirect'))} redirected.",
        }
    )


@_route("POST", "/api/item")
def _item(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    key = text_field(body, "key")
    title, excerpt, note = (optional_field(body, name) for name in ("title", "excerpt", "note"))
    return desk.change(
        body, lambda draft: update_item(draft, key, title=title, excerpt=excerpt, note=note)
    )


@_route("POST", "/api/meta")
def _meta(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    subject, preheader, intro = (optional_field(body, n) for n in ("subject", "preheader", "intro"))
    return desk.change(
        body, lambda draft: set_meta(draft, subject=subject, preheader=preheader, intro=intro)
    )


@_route("POST", "/api/rename-source")
def _rename_source(desk: Desk, request: Request) -> Response:
    """Show a source under another name: set in feeds.yaml (for the feeds shown under the
    old name) and in this week's draft."""
    body = json_body(request)
    old, new = text_field(body, "source"), one_line(text_field(body, "name"))
    desk.current(body)  # refuse a stale page before touching feeds.yaml
    with desk.lock:
        desk.config, _ = pipeline.rename_source(desk.config, old, new)
        desk.views = views.Views(desk.config, desk.window)
    return desk.change(body, lambda draft: rename_source(draft, old, new))


@_route("POST", "/api/lookup")
def _lookup(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    meta = fetch_metadata(
        text_field(body, "url"),
        transport=desk.transport,
        user_agent=desk.config.fetch.user_agent,
        allow_private=desk.allow_private_pages,
    )
    return json_response(
        {
            "ok": True,
            "url": meta.url,
            "title": meta.title,
            "description": meta.description,
            "image": meta.image or "",
            "source": meta.site_name,
        }
    )


@_route("POST", "/api/add")
def _add(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    item = editor_item(
        text_field(body, "url"),
        title=text_field(body, "title"),
        excerpt=text_field(body, "excerpt"),
        image=text_field(body, "image") or None,
        source=text_field(body, "source"),
    )
    section = text_field(body, "section")
    return desk.change(body, lambda draft: add_item(draft, item, section=section))


@_route("POST", "/api/approve")
def _approve(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    who = one_line(text_field(body, "by"))
    if not who:
        raise Refused(422, "Type your name before approving: it is recorded with the approval.")
    with desk.lock:
        digest = pipeline.approve_as_shown(
            desk.config,
            week=desk.window.week,
            by=who,
            now=desk.clock(),
            check=lambda: desk.current(body),  # approve only what the editor is looking at
        )
    return json_response({"ok": True, "version": body.get("version"), "digest": digest})


@_route("POST", "/api/send-test")
def _send_test(desk: Desk, request: Request) -> Response:
    body = json_body(request)
    to = text_field(body, "to").strip()
    if not to:
        raise Refused(422, "Type the address to send the test copy to.")
    with desk.lock:
        desk.current(body)
        report = pipeline.send(
            desk.config,
            week=desk.window.week,
            clock=desk.clock,
            secret=desk.secret,
            test_to=to,
        )
    if report.accepted:
        return json_response({"ok": True, "message": f"Test copy sent to {to}. Check that inbox."})
    reasons = [f"{who}: {why}" for who, why in report.refused] + list(report.notes)
    raise Refused(
        502, "The test copy was not delivered: " + ("; ".join(reasons) or "no reason given")
    )


# --- helpers ----------------------------------------------------------------------------------


def _required(snapshot: Snapshot) -> Draft:
    if snapshot.draft is None:
        raise Refused(409, snapshot.error)
    return snapshot.draft
