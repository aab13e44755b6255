"""The orchestrator: the only place that chains stages and opens the store and the run lock.

Each job below is one user-visible command, read top to bottom; ``roundup.cli`` and the
editor's desk call these and nothing else touches the store or the lock:

    fetch      feeds.yaml → fetch → parse → store
    draft      store → select → de-duplicate → group → draft.yaml (keeping the editor's edits)
    render     draft.yaml → the registered outputs (email.html, email.txt, post.md, post.html)
    build      fetch, draft and render in turn
    approve    record an editor's approval, bound to the rendered email
    send       check everything, render, number the issue, write message.eml, send exactly
               once through the configured Mailer
    publish    hand the published issues to the configured Publisher (the web copy, out/site)
    run        the hourly cron job: fetch, draft, render, brief the editors, then send (or
               skip, roll over or hold, as the quiet-week and approval rules say) and publish
    explain    why a post is, or is not, in a week's issue
    subscribers  the subscribers CSV with each address's status; import, unsubscribe
    serve      the unsubscribe endpoint reads :func:`subscriber_list` and writes through
               :func:`record_statuses`, without the run lock (it must answer at once)

The stage functions they chain (:func:`fetch_feeds`, :func:`make_draft`, :func:`render_week`,
:func:`approve_week`, :func:`send_week`, :func:`run_once`, :func:`publish_site`) take an
open :class:`~roundup.store.Store`, for callers that manage one themselves (tests, scripts).

The approval rule (:func:`is_approved`), the "was it sent" rule (:func:`is_sent`) and the
numbering rule (:func:`issue_number`: a number is given when the send starts) live here and
nowhere else. Time always comes in as an argument; only ``roundup.cli`` reads the
clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from roundup.atomic import write_atomic
from roundup.config import Config, FeedConfig, load_config
from roundup.errors import (
    ConfigError,
    DraftError,
    IssueSent,
    PublishError,
    RenderError,
    RoundupError,
    SendError,
)
from roundup.fetch import FetchRequest, FetchResult, fetch_all
from roundup.linkcheck import IssueLink, LinkReport, LinkResult
from roundup.lock import locked
from roundup.models import Draft, Entry, Group, Story
from roundup.parse_job import FeedRows, ParseJob
from roundup.parsing import ParseQueue
from roundup.sources import reads_like_section, source_name
from roundup.store import FeedState, FeedUpdate, IssueRecord, StatusRecord, Store
from roundup.transport import Transport
from roundup.week import Window, window_for
from roundup.yamlfile import YamlError, set_feed_name

# The draft and render modules are imported where they are used: `roundup fetch` and an
# idle hour of `roundup run` never load them.
if TYPE_CHECKING:
    import httpx

    from roundup.briefing import BriefingFacts, PastIssue
    from roundup.issue_view import IssueView
    from roundup.mailer import Mailer
    from roundup.publisher import Publisher
    from roundup.render import RenderedIssue
    from roundup.select import Selection
    from roundup.send import SendReport
    from roundup.subscribers import ImportPlan, Subscriber

Clock = Callable[[], datetime]
Connect = Callable[[], "Mailer"]


# --- the state: the run lock and the store ------------------------------------------------


@contextlib.contextmanager
def open_state(config: Config) -> Iterator[Store]:
    """Hold the run lock and open the store: what every job that writes state does first."""
    with locked(config.state), Store.open(config.state) as store:
        yield store


@contextlib.contextmanager
def read_state(config: Config) -> Iterator[Store]:
    """Open the store to read, without the run lock (SQLite's WAL keeps readers consistent)."""
    with Store.open(config.state) as store:
        yield store


# --- fetching -------------------------------------------------------------------------------


FeedStatus = Literal["fetched", "not_modified", "unchanged", "failed", "gone"]


@dataclass(frozen=True, slots=True)
class FeedReport:
    """One feed's outcome in a fetch run."""

    key: str
    name: str
    status: FeedStatus
    new_entries: int = 0
    error: str | None = None
    moved_to: str | None = None  # a permanent redirect: update feeds.yaml
    warnings: tuple[str, ...] = ()
    failures: int = 0  # consecutive failures, this run included
    recovered_after: int = 0  # a success after this many consecutive failures
    section_title: str = ""  # the feed's own title, when it names a section and no name: is set


@dataclass(frozen=True, slots=True)
class FetchReport:
    feeds: tuple[FeedReport, ...]

    def count(self, *statuses: FeedStatus) -> int:
        return sum(1 for feed in self.feeds if feed.status in statuses)

    @property
    def failed(self) -> tuple[FeedReport, ...]:
        return tuple(feed for feed in self.feeds if feed.status in ("failed", "gone"))

    @property
    def new_entries(self) -> int:
        return sum(feed.new_entries for feed in self.feeds)


def fetch_feeds(
    config: Config,
    store: Store,
    *,
    now: datetime,
    transport: Transport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> FetchReport:
    """Fetch every enabled feed, parse what changed, and store it.

    Bodies are parsed on all cores while other feeds are still downloading; the outcomes
    are written to the store a few dozen whole feeds per transaction, as they come.
    """
    states = store.feed_states()
    feeds = {feed.key: feed for feed in config.enabled_feeds}
    gone = [key for key in feeds if (s := states.get(key)) is not None and s.gone]
    requests = [
        _request(feed, states.get(feed.key)) for key, feed in feeds.items() if key not in gone
    ]
    reports: list[FeedReport] = [_gone_report(feeds[key], states[key]) for key in gone]
    # Outcomes waiting for their transaction, and when the oldest of them arrived.
    waiting: list[tuple[FetchResult, FeedRows | str | None]] = []
    since = [0.0]

    def write() -> None:
        batch = waiting[:]
        waiting.clear()  # a failed write is not tried again with the next batch
        if not batch:
            return
        news = store.record_feeds([_update(result, parsed) for result, parsed in batch], now=now)
        for (result, parsed), new in zip(batch, news, strict=True):
            feed = feeds[result.key]
            report = _report(result, feed, states.get(feed.key), parsed, new)
            reports.append(report)
            if on_feed is not None:
                on_feed(report)

    def finish(result: FetchResult, parsed: FeedRows | str | None) -> None:
        if not waiting:
            since[0] = time.monotonic()
        waiting.append((result, parsed))
        if len(waiting) >= WRITE_BATCH or time.monotonic() - since[0] >= WRITE_WAIT:
            write()

    async def fetch_and_parse() -> None:
        # each parse is queued for the store as soon as it finishes: at most a batch waits
        async with ParseQueue[FetchResult](len(requests), finish) as parser:

            async def hand_off(result: FetchResult) -> None:
                if result.status != "fetched" or result.body is None:
                    finish(result, None)
                    return
                feed = feeds[result.key]
                url = result.moved_to or result.url
                job = ParseJob(result.body, feed.key, url, now, feed.name, result.content_type)
                await parser.put(_without_body(result), job)

            await fetch_all(requests, config.fetch, transport=transport, on_result=hand_off)

    try:
        asyncio.run(fetch_and_parse())
    finally:
        write()  # an interrupted run keeps the whole feeds it finished
    order = {key: index for index, key in enumerate(feeds)}
    return FetchReport(tuple(sorted(reports, key=lambda r: order[r.key])))


# Feeds written per store transaction, and the longest a finished feed waits for its write.
# A write blocks the event loop (and so the hand-off to the parse workers): 32 feeds take
# about a tenth of a second, and cost little more per feed than larger batches.
WRITE_BATCH = 32
WRITE_WAIT = 0.5  # seconds


def _without_body(result: FetchResult) -> FetchResult:
    """Keep the hash, drop the bytes: a thousand queued bodies need not stay in memory."""
    digest = result.body_hash or hashlib.sha256(result.body or b"").hexdigest()
    return replace(result, body=None, body_hash=digest)


def _request(feed: FeedConfig, state: FeedState | None) -> FetchRequest:
    if state is None:
        return FetchRequest(key=feed.key, url=feed.url)
    return FetchRequest(
        key=feed.key,
        url=state.url,
        etag=state.etag,
        last_modified=state.last_modified,
        body_hash=state.body_hash,
    )


def _gone_report(feed: FeedConfig, state: FeedState) -> FeedReport:
    return FeedReport(
        key=feed.key,
        name=_name(feed, state),
        status="gone",
        error=f"{state.last_error or 'gone'} (remove it from feeds.yaml)",
        failures=state.failures,
    )


def _update(result: FetchResult, parsed: FeedRows | str | None) -> FeedUpdate:
    """What the store records of one feed's outcome (``parsed``: a parse result or its
    error, None when nothing was parsed)."""
    if result.status in ("failed", "gone"):
        return FeedUpdate(
            result.key, result.url, ok=False, gone=result.status == "gone", error=result.error
        )
    if parsed is None:
        return FeedUpdate(
            result.key,
            result.url,
            ok=True,
            etag=result.etag,
            last_modified=result.last_modified,
            moved_to=result.moved_to,
        )
    if isinstance(parsed, str):
        return FeedUpdate(result.key, result.url, ok=False, error=parsed)
    return FeedUpdate(
        result.key,
        result.url,
        ok=True,
        title=parsed.meta.title or None,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=result.body_hash,
        moved_to=result.moved_to,
        entries=parsed.entries,
    )


def _report(
    result: FetchResult,
    feed: FeedConfig,
    state: FeedState | None,
    parsed: FeedRows | str | None,
    new: int,
) -> FeedReport:
    """One feed's line in the fetch report, once its outcome is stored (``new`` entries)."""
    name = _name(feed, state)
    before = state.failures if state else 0
    failures = before + 1
    if result.status in ("failed", "gone"):
        return FeedReport(feed.key, name, result.status, error=result.error, failures=failures)
    if parsed is None:
        status: FeedStatus = "unchanged" if result.status == "unchanged" else "not_modified"
        return FeedReport(feed.key, name, status, moved_to=result.moved_to, recovered_after=before)
    if isinstance(parsed, str):
        return FeedReport(feed.key, name, "failed", error=parsed, failures=failures)
    title = parsed.meta.title
    return FeedReport(
        feed.key,
        feed.name or source_name(title) or name,
        "fetched",
        new_entries=new,
        moved_to=result.moved_to,
        warnings=parsed.meta.warnings,
        recovered_after=before,
        section_title=title if not feed.name and reads_like_section(title) else "",
    )


def _name(feed: FeedConfig, state: FeedState | None) -> str:
    return feed.name or (source_name(state.title) if state and state.title else feed.url)


def rename_source(config: Config, old: str, new: str) -> tuple[Config, int]:
    """Show the feeds now shown as ``old`` as ``new`` from now on: ``name: <new>`` is set
    on them in feeds.yaml, in place (comments and layout kept), written atomically.
    Returns the reloaded config and how many feeds were renamed. Raises
    :class:`ConfigError` when no feed is shown as ``old`` or the result would not load."""
    new = " ".join(new.split())
    if not new:
        raise ConfigError(f"{config.path}: a source needs a name")
    titles: dict[str, str] = {}
    if config.state.exists():
        with read_state(config) as store:
            titles = {key: state.title for key, state in store.feed_states().items()}
    keys = {
        feed.key
        for feed in config.feeds
        if (feed.name or source_name(titles.get(feed.key, ""))) == old
    }
    if not keys:
        raise ConfigError(
            f"{config.path}: no feed is shown as '{old}' (fetch first, or set its name:)"
        )
    base = config.path.parent

    def is_feed(raw: str) -> bool:
        return raw in keys or str((base / raw).resolve()) in keys

    original = config.path.read_text(encoding="utf-8")
    try:
        edited, count = set_feed_name(original, is_feed, new)
    except YamlError as exc:
        raise ConfigError(exc.message(config.path)) from None
    write_atomic(config.path, edited)
    try:
        renamed = load_config(config.path)
    except ConfigError:
        write_atomic(config.path, original)  # never leave a feeds.yaml that does not load
        raise
    return renamed, count


def section_titled_feeds(config: Config) -> list[tuple[str, str, str]]:
    """The enabled feeds without a ``name:`` whose own title (as the last fetch read it)
    names a section of a site ("World", "NYT > World News"): each as its key, that title and
    the name shown for it. Reads the store only if there is one: ``roundup check`` creates
    nothing."""
    if not config.state.exists():
        return []
    with read_state(config) as store:
        states = store.feed_states()
    return [
        (feed.key, title, source_name(title))
        for feed in config.enabled_feeds
        if not feed.name
        and (title := states[feed.key].title if feed.key in states else "")
        and reads_like_section(title)
    ]


# --- the issue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftResult:
    draft: Draft
    path: Path
    selection: Selection
    created: bool  # False when an existing draft was merged
    new_items: int


def issue_dir(config: Config, week: str) -> Path:
    return config.output_dir / week


def draft_path(config: Config, week: str) -> Path:
    return issue_dir(config, week) / "draft.yaml"


def resolve_window(config: Config, week: str, *, now: datetime) -> Window:
    nl = config.newsletter
    return window_for(week, week_ends=nl.week_ends, tz=nl.tz, now=now)


def select_week(
    config: Config, store: Store, window: Window, *, extra: Sequence[Entry] = ()
) -> Selection:
    """What the pipeline would put in ``window``'s issue, with a verdict for every entry.

    ``extra`` entries (stored copies of one link, from any week) are judged too, so that
    ``explain`` can say why a copy outside the window is out.
    """
    from roundup.select import select_stories

    window = selection_window(config, store, window)
    entries = store.entries_between(window.start, window.end)
    known = {(e.feed, e.id) for e in entries}
    entries += [e for e in extra if (e.feed, e.id) not in known]
    return select_stories(
        entries,
        window=window,
        feeds=config.feeds,
        max_items=config.newsletter.max_items,
        sent_urls=store.sent_urls(excluding=window.week),
    )


def selection_window(config: Config, store: Store, window: Window) -> Window:
    """``window``, reaching back to when the previous issue was sent if that was before the
    previous window closed: a post published after a send waits for the next issue instead
    of falling between two issues. When the previous week was a quiet week rolled over
    (``newsletter.quiet_week: roll_over``), it reaches back over that week's window too."""
    previous = resolve_window(config, "last", now=window.start)
    record = store.issue(previous.week)
    if record is not None and record.outcome == ROLLED_OVER and not record.sent:
        # A quiet week rolled over: its posts (and those it reached back to) come along.
        return replace(window, start=selection_window(config, store, previous).start)
    if record is None or record.sent_at is None or record.sent_at >= previous.end:
        return window
    return replace(
        window, start=max(record.sent_at, previous.start).astimezone(window.start.tzinfo)
    )


def make_draft(config: Config, store: Store, *, window: Window, force: bool = False) -> DraftResult:
    """Write (or refresh) ``<output_dir>/<week>/draft.yaml``, keeping the editor's edits.

    Raises :class:`IssueSent` for a week already sent, unless ``force``: a sent issue is
    history, and new posts wait for the next one.
    """
    from roundup.draft import build_draft
    from roundup.draft_file import load_draft, save_draft

    refuse_if_sent(store.issue(window.week), "rewrite its draft", force=force)
    path = draft_path(config, window.week)
    previous = load_draft(path) if path.exists() else None
    selection = select_week(config, store, window)
    groups = _group(config, selection.stories, _week_entries(selection))
    number = issue_number(config, store, window.week)
    draft = build_draft(
        groups, window=window, number=number, newsletter=config.newsletter, previous=previous
    )
    draft = replace(draft, number=number)  # a provisional number follows the sent issues
    save_draft(path, draft)
    before = {item.key for item in previous.items} if previous else set()
    new_items = sum(1 for item in draft.items if item.key not in before)
    return DraftResult(draft, path, selection, previous is None, new_items)


def issue_number(config: Config, store: Store, week: str) -> int:
    """The week's number: the one it was given when its send started, else the provisional
    one it would get if sent next (one more than the highest given so far).

    Numbers are given by :func:`send_week`, never by drafting: trying out weeks burns none.
    """
    record = store.issue(week)
    if record is not None and record.number is not None:
        return record.number
    return store.next_number(first=config.newsletter.first_issue)


def is_provisional(record: IssueRecord | None) -> bool:
    """True while the week's number is only what it would get if it were sent next."""
    return record is None or record.number is None


def _current_name(story: Story, names: Mapping[str, str]) -> Story:
    """``story`` under the name its feed has now: entries keep the source name they were
    stored with, and the editor may have set or changed ``name:`` since."""
    entry = story.entry
    source = names.get(entry.feed) or source_name(entry.source)
    if source == entry.source:
        return story
    return replace(story, entry=replace(entry, source=source))


def _week_entries(selection: Selection) -> list[Entry]:
    """Every entry of the week's window, selected or not."""
    return [v.entry for v in selection.verdicts if v.reason != "outside_window"]


def _group(
    config: Config, stories: Sequence[Story], week: Sequence[Entry] = ()
) -> tuple[Group, ...]:
    # Articles of several feeds about one event become one story, after de-duplication
    # (which merged the copies of each article) and the selection's caps; how rare a word
    # is is judged among all the week's entries.
    from roundup.coverage import group_coverage
    from roundup.group import group_stories
    from roundup.i18n import labels

    names = {feed.key: feed.name for feed in config.feeds if feed.name}
    stories = [_current_name(story, names) for story in stories]
    stories = group_coverage(stories, [feed.key for feed in config.feeds], week=week)
    return group_stories(
        stories,
        sections=config.sections,
        feeds=config.feeds,
        default_name=labels(config.newsletter.language)["other"],
    )


@dataclass(frozen=True, slots=True)
class RenderResult:
    draft: Draft
    issue: RenderedIssue
    files: tuple[Path, ...] = field(default=())
    provisional: bool = True  # the draft's number is only what it gets if sent next

    @property
    def empty(self) -> bool:
        """No items: never written as an issue, never sent."""
        return not self.draft.items


def render_week(config: Config, *, week: str, write: bool = True) -> RenderResult:
    """Render ``<output_dir>/<week>/draft.yaml`` into the issue's outputs, and write them
    unless ``write`` is false (a sent issue's files are never rewritten) or the draft has no
    items (an empty issue is never written as an issue; the desk still previews it)."""
    # Imported here: premailer and lxml cost a third of a second that fetch-only runs skip.
    from roundup.draft_file import load_draft
    from roundup.render import render_issue, write_issue
    from roundup.theme import make_environment

    draft = load_draft(draft_path(config, week))
    issue = render_issue(draft, config, env=make_environment(config))
    files = write_issue(issue_dir(config, week), issue) if write and draft.items else []
    return RenderResult(draft, issue, tuple(files))


# --- approval and the "was it sent" rule ----------------------------------------------------


def email_digest(issue: RenderedIssue) -> str:
    """What an approval is bound to: any change to the rendered email voids it."""
    return hashlib.sha256(issue.email_html.encode("utf-8")).hexdigest()


def is_approved(record: IssueRecord | None, issue: RenderedIssue) -> bool:
    """True when the week's recorded approval is for exactly this rendered email."""
    return record is not None and record.approves(email_digest(issue))


def is_sent(record: IssueRecord | None) -> bool:
    """True once every recipient of the week's issue was accepted or refused."""
    return record is not None and record.sent


def refuse_if_sent(
    record: IssueRecord | None, action: str, *, force: bool = False, hint: str | None = None
) -> None:
    """Raise :class:`IssueSent` when the week was sent and ``force`` is off.

    ``action`` says what was refused, e.g. "rewrite its draft"; ``hint`` what to do instead
    (default: new posts wait for the next issue, and --force does it anyway).
    """
    if force or record is None or not record.sent or record.sent_at is None:
        return
    number = f" as issue {record.number}" if record.number is not None else ""
    hint = hint or "new posts wait for the next issue; --force does it anyway"
    raise IssueSent(
        f"{record.week} was sent{number} on {record.sent_at:%Y-%m-%d %H:%M} UTC: its draft"
        f" and files are frozen, so roundup will not {action} ({hint})"
    )


def may_send(config: Config, record: IssueRecord | None, issue: RenderedIssue) -> bool:
    """The approval rule: approval is needed only when ``newsletter.require_approval`` is on."""
    return not config.newsletter.require_approval or is_approved(record, issue)


def approve_week(config: Config, store: Store, *, week: str, by: str, now: datetime) -> str:
    """Record that ``by`` approved the week's issue as it renders now; returns the digest."""
    refuse_if_sent(store.issue(week), "approve it", hint="it went out as it was")
    rendered = render_week(config, week=week)
    digest = email_digest(rendered.issue)
    store.ensure_issue(week)
    store.set_approval(week, by=by, at=now, digest=digest)
    return digest


def void_approval(store: Store, week: str) -> None:
    """Forget the week's approval: the editor changed what was approved."""
    record = store.issue(week)
    if record is not None and record.approved_hash:
        store.set_approval(week, by=None, at=None, digest=None)


# --- sending --------------------------------------------------------------------------------


def default_connect(config: Config, environ: Mapping[str, str] | None = None) -> Connect:
    """Build the configured :class:`~roundup.mailer.Mailer` when sending starts."""

    def connect() -> Mailer:
        from roundup.mailer import open_mailer

        return open_mailer(config, os.environ if environ is None else environ)

    return connect


LinkCheck = Callable[[Draft], Sequence[str]]


def no_link_check(draft: Draft) -> Sequence[str]:
    """The link check used until one is configured: reports no broken links."""
    return ()


@dataclass(frozen=True, slots=True)
class PreparedSend:
    """A send after every check: what will go out, and what would stop it."""

    week: str
    rendered: RenderResult
    number: int  # the number the issue has, or gets when this send starts
    frozen: bool  # sent already: its files stay as they are
    approved: bool
    problems: tuple[str, ...]  # empty: the send can go
    message: EmailMessage | None  # None when building it failed (see problems)


def prepare_send(
    config: Config,
    store: Store,
    *,
    week: str,
    now: datetime,
    secret: str,
    force: bool = False,
    test_to: str | None = None,
    connect: Connect | None = None,
    rendered: RenderResult | None = None,
    link_check: LinkCheck = no_link_check,
    waive_approval: bool = False,
) -> PreparedSend:
    """Render the week as it would go out (with the number it gets when sent) and run every
    pre-send check of :mod:`roundup.send_checks`; nothing is sent or recorded.

    A draft whose provisional number is out of date (another week went out first) is
    renumbered here, before the approval is checked: an approval is for the email as it
    goes out, number included. ``waive_approval`` is ``newsletter.unapproved: send``.
    """
    from roundup.draft_file import save_draft
    from roundup.message import build_message
    from roundup.send_checks import send_problems

    frozen = is_sent(store.issue(week)) and not force
    rendered = rendered or render_week(config, week=week, write=not frozen)
    number = issue_number(config, store, week)
    if rendered.draft.number != number and not frozen:
        save_draft(draft_path(config, week), replace(rendered.draft, number=number))
        rendered = render_week(config, week=week)
    approved = waive_approval or may_send(config, store.issue(week), rendered.issue)
    built: list[EmailMessage] = []

    def build() -> None:
        built.append(
            build_message(
                html=rendered.issue.email_html,
                text=rendered.issue.email_text,
                draft=rendered.draft,
                config=config,
                now=now,
            )
        )

    attempts = [build] if connect is not None else [_mailer_check(config), build]
    broken = link_check(rendered.draft) if config.newsletter.block_on_broken_links else ()
    problems = send_problems(
        config,
        rendered.draft,
        approved=approved,
        secret=secret,
        test_to=test_to,
        broken_links=broken if test_to is None else (),
        attempts=attempts,
    )
    message = built[0] if built else None
    return PreparedSend(week, rendered, number, frozen, approved, tuple(problems), message)


def _mailer_check(config: Config) -> Callable[[], object]:
    def check() -> object:
        from roundup.mailer import open_mailer

        return open_mailer(config, os.environ)

    return check


def send_week(
    config: Config,
    store: Store,
    *,
    week: str,
    clock: Clock,
    secret: str,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    connect: Connect | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rendered: RenderResult | None = None,
    retry_uncertain: bool = False,
    link_check: LinkCheck = no_link_check,
    waive_approval: bool = False,
) -> SendReport:
    """Check everything, render the week's draft as it stands, write message.eml, and send
    it exactly once.

    ``rendered`` is the week's render when the caller has just made it (``run_once``);
    ``connect`` makes the mailer (default: the one feeds.yaml configures). The files of a
    sent issue are left as they are (unless ``force``): it is rendered in memory only.
    Raises :class:`SendError` naming the first failed check (see :mod:`roundup.send_checks`).
    """
    prepared = prepare_send(
        config,
        store,
        week=week,
        now=clock(),
        secret=secret,
        force=force,
        test_to=test_to,
        connect=connect,
        rendered=rendered,
        link_check=link_check,
        waive_approval=waive_approval,
    )
    return deliver(
        config,
        store,
        prepared,
        clock=clock,
        secret=secret,
        force=force,
        dry_run=dry_run,
        test_to=test_to,
        connect=connect,
        sleep=sleep,
        retry_uncertain=retry_uncertain,
    )


def deliver(
    config: Config,
    store: Store,
    prepared: PreparedSend,
    *,
    clock: Clock,
    secret: str,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    connect: Connect | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retry_uncertain: bool = False,
) -> SendReport:
    """Send a :func:`prepare_send` result: refused with its first problem, if any.

    A real send gives the issue its number first (numbers go to issues that were sent).
    """
    from roundup.message import write_eml
    from roundup.send import send_issue
    from roundup.send_checks import summary

    if prepared.problems or prepared.message is None:
        raise SendError(summary(prepared.week, prepared.problems or ("cannot build it",)))
    if not dry_run and test_to is None:
        store.issue_number(prepared.week, first=config.newsletter.first_issue)
    if not prepared.frozen and test_to is None:
        write_eml(issue_dir(config, prepared.week) / "message.eml", prepared.message)
    return send_issue(
        message=prepared.message,
        draft=prepared.rendered.draft,
        config=config,
        store=store,
        now=clock,
        secret=secret,
        connect=connect or default_connect(config),
        force=force,
        dry_run=dry_run,
        test_to=test_to,
        retry_uncertain=retry_uncertain,
        sleep=sleep,
        approved=True,
    )


# --- publishing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What one publish did: the weeks on the web copy, where it went, or why it failed."""

    weeks: tuple[str, ...]
    places: tuple[str, ...] = ()  # out/site, then publish.to or the command run
    error: str | None = None  # the failure; the next run tries again

    @property
    def ok(self) -> bool:
        return self.error is None


def published_issues(config: Config, store: Store) -> list[IssueView]:
    """Every issue on the web copy (sent, or published on purpose) whose draft is still on
    disk, as templates see it."""
    from roundup.draft_file import load_draft
    from roundup.issue_view import issue_view

    weeks = [publication.week for publication in store.publications()]
    weeks += [record.week for record in store.issues() if is_sent(record)]
    issues = []
    for week in dict.fromkeys(weeks):
        path = draft_path(config, week)
        if not path.exists():
            continue
        draft = load_draft(path)
        record = store.issue(week)
        if record is not None and record.number is not None:
            draft = replace(draft, number=record.number)  # numbered when its send started
        issues.append(issue_view(draft, config))
    return issues


def publish_site(
    config: Config, store: Store, *, now: datetime, publisher: Publisher | None = None
) -> PublishReport:
    """Hand every published issue to the publisher (default: the web copy) and record the
    outcome. A failure is returned, not raised: the issues stay pending, and the next
    ``run`` (or ``publish``) tries again."""
    from roundup.publisher import open_publisher

    issues = published_issues(config, store)
    weeks = tuple(issue.week for issue in issues)
    try:
        places = (publisher or open_publisher(config)).publish(issues)
    except (PublishError, RenderError) as exc:
        store.record_publication(weeks, at=now, error=str(exc))
        return PublishReport(weeks, error=str(exc))
    store.record_publication(weeks, at=now)
    return PublishReport(weeks, tuple(places))


def publish_pending(
    config: Config, store: Store, *, now: datetime, publisher: Publisher | None = None
) -> PublishReport | None:
    """:func:`publish_site` when an issue waits to be published (just sent, or its last
    publish failed); None when nothing waits."""
    if not any(publication.pending for publication in store.publications()):
        return None
    return publish_site(config, store, now=now, publisher=publisher)


# --- the cron job ---------------------------------------------------------------------------

RunAction = Literal[
    "sent",
    "not_due",
    "already_sent",
    "already_decided",
    "missed",
    "quiet_skipped",
    "rolled_over",
    "awaiting_approval",
    "unapproved_skipped",
    "links_broken",
    "incomplete",
]

# What a run records on a week when, at send time, it does not simply send it.
QUIET_SKIPPED = "quiet_skipped"  # fewer than min_items, quiet_week: skip (or no items at all)
ROLLED_OVER = "rolled_over"  # fewer than min_items, quiet_week: roll_over
HELD = "held"  # not approved, unapproved: hold (kept waiting for an approval)
UNAPPROVED_SKIPPED = "unapproved_skipped"  # not approved, unapproved: skip
SENT_UNAPPROVED = "sent_unapproved"  # not approved, unapproved: send
FINAL_OUTCOMES = (QUIET_SKIPPED, ROLLED_OVER, UNAPPROVED_SKIPPED)  # the week will not be sent


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one ``roundup run`` did."""

    fetch: FetchReport
    drafted: str  # the week whose draft was refreshed
    due: str | None  # the week that is due for sending, if any
    action: RunAction
    send: SendReport | None = None
    publish: PublishReport | None = None  # None when nothing waited to be published
    items: int | None = None  # the due week's items, when the run counted them
    briefing: BriefingReport | None = None  # the editors' briefing, when one went out
    unapproved: bool = False  # sent without approval (newsletter.unapproved: send)
    broken_links: tuple[str, ...] = ()  # why the send is held (block_on_broken_links)


@dataclass(frozen=True, slots=True)
class BriefingReport:
    """The editors' briefing a run sent: for which week, to whom, and who did not get it."""

    week: str
    accepted: tuple[str, ...]
    failed: tuple[tuple[str, str], ...] = ()  # (editor, why)
    text: str = ""


def run_once(
    config: Config,
    store: Store,
    *,
    clock: Clock,
    secret: str,
    connect: Connect | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    publisher: Publisher | None = None,
    link_check: LinkCheck = no_link_check,
) -> RunReport:
    """The cron job: fetch, refresh the draft, brief the editors, send the issue that is due,
    publish.

    Safe to run every hour: an issue is sent once (the ledger), never empty, never with
    fewer than ``newsletter.min_items`` unless ``quiet_week: send``, and, with
    ``require_approval``, unapproved only when ``newsletter.unapproved: send``. What it
    decides instead is recorded on the week. A sent issue joins the web copy, and a publish
    that failed before is tried again. The caller holds the run lock.
    """
    report = _send_due(
        config,
        store,
        clock=clock,
        secret=secret,
        connect=connect,
        sleep=sleep,
        transport=transport,
        on_feed=on_feed,
        link_check=link_check,
    )
    published = publish_pending(config, store, now=clock(), publisher=publisher)
    return replace(report, publish=published)


def _send_due(
    config: Config,
    store: Store,
    *,
    clock: Clock,
    secret: str,
    connect: Connect | None,
    sleep: Callable[[float], None],
    transport: Transport | None,
    on_feed: Callable[[FeedReport], None] | None,
    link_check: LinkCheck,
) -> RunReport:
    from roundup.schedule import due_window, too_late

    now = clock()
    report = fetch_feeds(config, store, now=now, transport=transport, on_feed=on_feed)
    prune_store(config, store, now=now)
    current = resolve_window(config, "current", now=now)
    due = due_window(config.newsletter, now=now)
    latest = None
    if not is_sent(store.issue(current.week)):
        # An idle hour (nothing new, nothing edited) would write the same files again: the
        # draft and render are skipped unless this run may send the current week's issue.
        may_send_now = due is not None and due.week == current.week
        if may_send_now or not _up_to_date(config, store, current.week):
            latest = _prepare(config, store, current)
            _record_made(config, store, current.week)
    briefing = brief_editors(
        config, store, now=now, connect=connect, prepared=latest, links=link_check
    )
    if due is None:
        return RunReport(report, current.week, None, "not_due", briefing=briefing)
    done = replace(RunReport(report, current.week, due.week, "already_sent"), briefing=briefing)
    record = store.issue(due.week)
    if is_sent(record):
        return done
    if record is not None and record.outcome in FINAL_OUTCOMES:
        return replace(done, action="already_decided")
    if too_late(due, config.newsletter, now=now):
        return replace(done, action="missed", items=_item_count(config, store, due))
    # Usually the due week is the current one, prepared just above.
    rendered = latest if latest and due.week == current.week else _prepare(config, store, due)
    done = replace(done, items=len(rendered.draft.items))
    verdict = _verdict(config, record, rendered, link_check)
    if verdict.outcome is not None and verdict.action is not None:
        store.set_outcome(due.week, verdict.outcome, at=now)
    if verdict.action is not None:
        return replace(done, action=verdict.action, broken_links=verdict.broken_links)
    sent = send_week(
        config,
        store,
        week=due.week,
        clock=clock,
        secret=secret,
        connect=connect,
        sleep=sleep,
        rendered=rendered,
        link_check=link_check,
        waive_approval=verdict.waive,
    )
    store.set_outcome(due.week, verdict.outcome, at=now)
    if sent.finished:
        store.add_publication(due.week, at=clock())
    action: RunAction = "sent" if sent.finished else "incomplete"
    return replace(done, action=action, send=sent, unapproved=verdict.waive)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the run does with the due week: send it (``action`` None) or not, and why."""

    action: RunAction | None = None
    outcome: str | None = None  # recorded on the week
    waive: bool = False  # send without approval (newsletter.unapproved: send)
    broken_links: tuple[str, ...] = ()


def _verdict(
    config: Config, record: IssueRecord | None, rendered: RenderResult, link_check: LinkCheck
) -> _Verdict:
    """Apply, in turn, the quiet-week rule, the approval rule with its ``unapproved``
    policy, and ``block_on_broken_links`` to the due week as it renders now."""
    nl = config.newsletter
    quiet = _quiet_outcome(config, len(rendered.draft.items))
    if quiet == QUIET_SKIPPED:
        return _Verdict("quiet_skipped", QUIET_SKIPPED)
    if quiet == ROLLED_OVER:
        return _Verdict("rolled_over", ROLLED_OVER)
    waive = not may_send(config, record, rendered.issue)
    if waive and nl.unapproved == "hold":
        return _Verdict("awaiting_approval", HELD)
    if waive and nl.unapproved == "skip":
        return _Verdict("unapproved_skipped", UNAPPROVED_SKIPPED)
    broken = tuple(link_check(rendered.draft)) if nl.block_on_broken_links else ()
    if broken:
        return _Verdict("links_broken", None, broken_links=broken)
    return _Verdict(None, SENT_UNAPPROVED if waive else None, waive=waive)


def _quiet_outcome(config: Config, items: int) -> str | None:
    """What a week with ``items`` items does at send time, when that is not sending it."""
    nl = config.newsletter
    if items >= nl.min_items:
        return None
    if items == 0 or nl.quiet_week == "skip":
        return QUIET_SKIPPED
    return ROLLED_OVER if nl.quiet_week == "roll_over" else None


def _item_count(config: Config, store: Store, window: Window) -> int:
    """The week's items: its draft's when there is one, else what the selection proposes."""
    from roundup.draft_file import load_draft

    path = draft_path(config, window.week)
    if path.exists():
        return len(load_draft(path).items)
    return len(select_week(config, store, window).stories)


# --- the editors' briefing --------------------------------------------------------------------

PAST_ISSUES = 3  # earlier issues the briefing compares the item count with


def brief_editors(
    config: Config,
    store: Store,
    *,
    now: datetime,
    connect: Connect | None = None,
    prepared: RenderResult | None = None,
    links: LinkCheck = no_link_check,
) -> BriefingReport | None:
    """Mail ``newsletter.editors`` the briefing of the issue whose send moment is less than
    ``newsletter.brief_before`` ahead, once: recorded on the week when any editor got it
    (or may have), tried again by the next run otherwise. None when none is due."""
    from roundup.mailer import LIST_ENGINES
    from roundup.schedule import briefing_window

    if config.via in LIST_ENGINES:
        # A list engine would deliver the briefing to every subscriber: editors get it over
        # SMTP (the smtp: block), whatever delivers the issue.
        connect = default_connect(replace(config, via="smtp"))

    nl = config.newsletter
    window = briefing_window(nl, now=now) if nl.editors else None
    if window is None:
        return None
    record = store.issue(window.week)
    if record is not None and (record.briefed_at is not None or record.sent):
        return None
    # Imported past the checks: an hour without a briefing to send never loads them.
    from roundup.briefing import briefing_message, compose
    from roundup.mailer import ACCEPTED, UNCERTAIN

    rendered = prepared if prepared and prepared.draft.week == window.week else None
    rendered = rendered or _prepare(config, store, window)
    facts = briefing_facts(
        config, store, window, rendered, broken_links=_briefing_links(store, rendered, links)
    )
    subject, body = compose(facts, now=now)
    message = briefing_message(config, subject=subject, body=body, week=window.week, now=now)
    try:
        mailer = (connect or default_connect(config))()
    except RoundupError as exc:  # the issue's own send reports the same fault, if it is due
        unusable = tuple((parseaddr(editor)[1], str(exc)) for editor in nl.editors)
        return BriefingReport(window.week, (), unusable, body)
    accepted: list[str] = []
    failed: list[tuple[str, str]] = []
    try:
        for editor in nl.editors:
            address = parseaddr(editor)[1]
            outcome = mailer.send(address, message.as_bytes(), lambda: None)
            if outcome.status in (ACCEPTED, UNCERTAIN):
                accepted.append(address)
            else:
                failed.append((address, outcome.detail))
                mailer.reset()
    finally:
        mailer.close()
    if accepted:
        store.mark_briefed(window.week, at=now)
    return BriefingReport(window.week, tuple(accepted), tuple(failed), body)


def _briefing_links(
    store: Store, rendered: RenderResult, links: LinkCheck
) -> tuple[str, ...] | None:
    """The broken links the briefing names: from ``links`` when a check is configured,
    else from the checks kept in the store (the desk's, ``roundup check-links``), without
    asking any server; None when no link of the draft was ever checked."""
    from roundup.linkcheck import IssueLink, LinkReport, hold_lines

    if links is not no_link_check:
        return tuple(links(rendered.draft))
    found = issue_links(rendered.draft)
    kept = store.link_checks(url for _, _, url in found)
    if not kept:
        return None
    checked = tuple(IssueLink(where, key, kept[url]) for where, key, url in found if url in kept)
    return tuple(hold_lines(LinkReport(rendered.draft.week, checked)))


def briefing_facts(
    config: Config,
    store: Store,
    window: Window,
    rendered: RenderResult,
    *,
    broken_links: Sequence[str] | None = None,
) -> BriefingFacts:
    """What the briefing of ``window``'s issue says, gathered from the store (feed health as
    the last fetch left it, earlier issues) and the render."""
    from roundup.briefing import BriefingFacts, FailingFeed
    from roundup.email_budget import size
    from roundup.schedule import send_moment

    nl = config.newsletter
    record = store.issue(window.week)
    states = store.feed_states()
    failing = tuple(
        FailingFeed(
            _name(feed, states[feed.key]),
            states[feed.key].failures,
            states[feed.key].last_error or "failed",
        )
        for feed in config.enabled_feeds
        if feed.key in states and states[feed.key].failures > 0
    )
    return BriefingFacts(
        newsletter=nl.title,
        week=window.week,
        number=issue_number(config, store, window.week),
        subject=rendered.draft.subject,
        items=len(rendered.draft.items),
        send_at=send_moment(window, nl),
        email_bytes=size(rendered.issue.email_html),
        notices=rendered.issue.notices,
        past=_past_issues(config, store, window),
        min_items=nl.min_items,
        quiet_week=nl.quiet_week,
        require_approval=nl.require_approval,
        approved_by=record.approved_by if is_approved(record, rendered.issue) and record else None,
        unapproved=nl.unapproved,
        new_feeds=_new_feeds(config, store, window),
        failing_feeds=failing,
        broken_links=tuple(broken_links or ()),
        links_checked=broken_links is not None,
        block_on_broken_links=nl.block_on_broken_links,
    )


def _past_issues(config: Config, store: Store, window: Window) -> tuple[PastIssue, ...]:
    """The previous week (whatever became of it), then the last sent issues, newest first."""
    from roundup.briefing import PastIssue

    past: list[PastIssue] = []
    previous = store.issue(resolve_window(config, "last", now=window.start).week)
    if previous is not None and not previous.sent:
        outcome = previous.outcome if previous.outcome != SENT_UNAPPROVED else "not_sent"
        past.append(
            PastIssue(
                previous.week, None, _draft_items(config, previous.week), outcome or "not_sent"
            )
        )
    sent = [r for r in store.issues() if r.sent and r.week < window.week]
    for record in sorted(sent, key=lambda r: r.number or 0, reverse=True)[:PAST_ISSUES]:
        outcome = "sent_unapproved" if record.outcome == SENT_UNAPPROVED else "sent"
        past.append(
            PastIssue(record.week, record.number, _draft_items(config, record.week), outcome)
        )
    return tuple(past)


def _draft_items(config: Config, week: str) -> int:
    from roundup.draft_file import load_draft

    path = draft_path(config, week)
    return len(load_draft(path).items) if path.exists() else 0


def _new_feeds(config: Config, store: Store, window: Window) -> tuple[str, ...]:
    """Feeds whose first post was stored after the last issue was sent, and feeds never
    fetched yet (none before the first issue: then every feed is new)."""
    sent = [r.sent_at for r in store.issues() if r.sent_at is not None and r.week < window.week]
    if not sent:
        return ()
    since = max(sent)
    first_seen = store.feeds_first_seen()
    states = store.feed_states()
    return tuple(
        _name(feed, states.get(feed.key))
        for feed in config.enabled_feeds
        if (feed.key in first_seen and first_seen[feed.key] > since) or feed.key not in states
    )


def _made_of(config: Config, store: Store, week: str) -> str:
    from roundup.freshness import default_theme, fingerprint

    folders = (default_theme(), config.templates, issue_dir(config, week))
    return fingerprint(revision=store.revision, week=week, config_file=config.path, folders=folders)


def _up_to_date(config: Config, store: Store, week: str) -> bool:
    """Whether the week's draft and files were made from what the store and disk hold now."""
    return store.mark(f"rendered:{week}") == _made_of(config, store, week)


def _record_made(config: Config, store: Store, week: str) -> None:
    store.set_mark(f"rendered:{week}", _made_of(config, store, week))


PRUNE_EVERY = timedelta(days=7)


def prune_store(config: Config, store: Store, *, now: datetime) -> int:
    """Once a week, delete the entries older than ``store.keep_days`` that no issue used,
    and give their space back to the file system; returns how many were deleted."""
    last = store.mark("pruned_at")
    if last is not None and now - datetime.fromisoformat(last) < PRUNE_EVERY:
        return 0
    deleted = store.prune(before=now - timedelta(days=config.store.keep_days))
    free, pages = store.free_pages()
    if free and free * 10 >= pages:  # a tenth of the file or more is unused
        store.compact()
    store.set_mark("pruned_at", now.isoformat())
    return deleted


def _prepare(config: Config, store: Store, window: Window) -> RenderResult:
    """Refresh the window's draft with new entries, unless an approval froze it; render it.

    An approved issue is what goes out: posts that arrive after the approval wait for the
    next issue instead of voiding the approval. An edit in the desk lifts the freeze.
    """
    record = store.issue(window.week)
    if record is None or record.approved_hash is None:
        make_draft(config, store, window=window)
    return render_week(config, week=window.week)


# --- the jobs: what the CLI and the desk call -------------------------------------------------


def fetch(
    config: Config,
    *,
    now: datetime,
    transport: Transport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> FetchReport:
    """``roundup fetch``: every enabled feed, under the run lock."""
    with open_state(config) as store:
        return fetch_feeds(config, store, now=now, transport=transport, on_feed=on_feed)


def draft(
    config: Config,
    *,
    week: str,
    now: datetime,
    force: bool = False,
    before: Callable[[str], None] | None = None,
) -> DraftResult:
    """``roundup draft``: write or refresh the week's draft.yaml from the store.

    A sent week is refused unless ``force``; then ``before`` hears what will happen first
    (and may raise to stop).
    """
    window = resolve_window(config, week, now=now)
    with open_state(config) as store:
        _warn_forced(store.issue(window.week), "rewrite its draft.yaml", force, before)
        return make_draft(config, store, window=window, force=force)


def _warn_forced(
    record: IssueRecord | None, action: str, force: bool, before: Callable[[str], None] | None
) -> None:
    if force and is_sent(record) and record is not None and before is not None:
        before(
            f"{record.week} was already sent: --force will {action}, and the files will no"
            " longer match what subscribers received."
        )


def ensure_draft(config: Config, window: Window) -> bool:
    """Write the week's draft from the store if there is none yet; True if it wrote one."""
    if draft_path(config, window.week).exists():
        return False
    with open_state(config) as store:
        make_draft(config, store, window=window)
    return True


def render(
    config: Config,
    *,
    week: str,
    now: datetime,
    force: bool = False,
    before: Callable[[str], None] | None = None,
) -> RenderResult:
    """``roundup render``: the week's draft into its outputs (a sent week only with
    ``force``, after ``before`` heard what will happen)."""
    window = resolve_window(config, week, now=now)
    with read_state(config) as store:
        record = store.issue(window.week)
    refuse_if_sent(record, "rewrite its files", force=force)
    _warn_forced(record, "rewrite email.html, email.txt, post.md and post.html", force, before)
    result = render_week(config, week=window.week)
    return replace(result, provisional=is_provisional(record))


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What ``roundup build`` did: the fetch, the draft and the render."""

    fetch: FetchReport
    draft: DraftResult
    render: RenderResult


def build(
    config: Config,
    *,
    week: str,
    now: datetime,
    transport: Transport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> BuildReport:
    """``roundup build``: fetch, draft and render the week's issue in one go."""
    window = resolve_window(config, week, now=now)
    with open_state(config) as store:
        refuse_if_sent(
            store.issue(window.week),
            "rebuild it",
            hint="new posts wait for the next issue; `roundup build --week current` builds it",
        )
        fetched = fetch_feeds(config, store, now=now, transport=transport, on_feed=on_feed)
        drafted = make_draft(config, store, window=window)
    return BuildReport(fetched, drafted, render_week(config, week=window.week))


def approve(config: Config, *, week: str, by: str, now: datetime) -> tuple[str, str]:
    """``roundup approve``: returns the week and the approved email's digest."""
    window = resolve_window(config, week, now=now)
    with open_state(config) as store:
        return window.week, approve_week(config, store, week=window.week, by=by, now=now)


def send(
    config: Config,
    *,
    week: str,
    clock: Clock,
    secret: str,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    connect: Connect | None = None,
    before: Callable[[str], None] | None = None,
    retry_uncertain: bool = False,
    on_publish: Callable[[PublishReport], None] | None = None,
    publisher: Publisher | None = None,
    link_check: LinkCheck | None = None,
) -> SendReport:
    """``roundup send``: run every pre-send check, say what is about to happen
    (``before``), then send exactly once.

    A failed check raises :class:`SendError` before ``before`` hears anything. In a dry run
    ``before`` receives the plan followed by one ``Would fail: …`` line per failed check,
    and then :class:`SendError` says how many failed. ``before`` may raise to stop (the
    CLI's prompt for ``--force``). A finished send also publishes the issue on
    the web copy; ``on_publish`` hears how that went. ``link_check`` defaults to the
    configured one (:func:`configured_link_check`).
    """
    from roundup.send import describe_send
    from roundup.send_checks import summary

    window = resolve_window(config, week, now=clock())
    with open_state(config) as store:
        prepared = prepare_send(
            config,
            store,
            week=window.week,
            now=clock(),
            secret=secret,
            force=force,
            test_to=test_to,
            connect=connect,
            link_check=link_check or configured_link_check(config, store, now=clock()),
        )
        if prepared.problems and not dry_run:
            raise SendError(summary(window.week, prepared.problems))  # before any "Sending"
        if before is not None:
            plan = describe_send(
                draft=replace(prepared.rendered.draft, number=prepared.number),
                config=config,
                store=store,
                force=force,
                dry_run=dry_run,
                test_to=test_to,
                retry_uncertain=retry_uncertain,
            )
            before("\n".join([plan, *(f"Would fail: {p}" for p in prepared.problems)]))
        if prepared.problems:
            count = len(prepared.problems)
            raise SendError(
                f"{window.week}: the send would fail {count} check{'s' if count > 1 else ''}"
                " (listed above); nothing was sent"
            )
        report = deliver(
            config,
            store,
            prepared,
            clock=clock,
            secret=secret,
            force=force,
            dry_run=dry_run,
            test_to=test_to,
            connect=connect,
            retry_uncertain=retry_uncertain,
        )
        if report.finished and not dry_run and test_to is None:
            store.add_publication(window.week, at=clock())
            published = publish_site(config, store, now=clock(), publisher=publisher)
            if on_publish is not None:
                on_publish(published)
    return report


def run(
    config: Config,
    *,
    clock: Clock,
    secret: str,
    connect: Connect | None = None,
    transport: Transport | None = None,
    link_transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    link_check: LinkCheck | None = None,
) -> RunReport:
    """``roundup run``: the cron job, under the run lock. ``link_check`` defaults to the
    configured one (:func:`configured_link_check`), over ``link_transport`` (tests)."""
    with open_state(config) as store:
        return run_once(
            config,
            store,
            clock=clock,
            secret=secret,
            connect=connect,
            transport=transport,
            on_feed=on_feed,
            link_check=link_check
            or configured_link_check(config, store, now=clock(), transport=link_transport),
        )


def publish(
    config: Config,
    *,
    now: datetime,
    week: str | None = None,
    publisher: Publisher | None = None,
) -> PublishReport:
    """``roundup publish``: rebuild the web copy of every published issue and deliver it.

    With ``week``, that week's issue is published on purpose first (sent or not; its
    draft.yaml must exist). Raises :class:`PublishError` when the copy or upload failed
    (recorded; the next run tries again).
    """
    with open_state(config) as store:
        if week is not None:
            window = resolve_window(config, week, now=now)
            path = draft_path(config, window.week)
            if not path.exists():
                raise DraftError(
                    f"{path}: no draft for {window.week}, so there is nothing to publish"
                    f" (run roundup build --week {window.week} first)"
                )
            store.add_publication(window.week, at=now)
        report = publish_site(config, store, now=now, publisher=publisher)
    if report.error is not None:
        raise PublishError(report.error)
    return report


def explain(config: Config, *, url: str, week: str, now: datetime) -> str:
    """``roundup explain``: why the post at ``url`` is, or is not, in the week's issue."""
    from roundup.draft_file import load_draft
    from roundup.explain import explain_selection
    from roundup.normalize import canonical_url

    window = resolve_window(config, week, now=now)
    key = canonical_url(url)
    with read_state(config) as store:
        copies = store.entries_with_url(key)
        selection = select_week(config, store, window, extra=copies) if copies else None
    path = draft_path(config, window.week)
    current = load_draft(path) if path.exists() else None
    return explain_selection(url, key, window, selection, current)


# --- what the desk reads and changes ----------------------------------------------------------


def issue_record(config: Config, week: str) -> IssueRecord | None:
    """What the store says of the week's issue: number, approval, when it was sent."""
    with read_state(config) as store:
        return store.issue(week)


def feed_states(config: Config) -> dict[str, FeedState]:
    """Every feed's health as the last fetch left it, by key."""
    with read_state(config) as store:
        return store.feed_states()


def proposed_draft(
    config: Config, window: Window, *, number: int, removed: tuple[str, ...] = ()
) -> Draft:
    """The draft the selection proposes now, without the editor's edits: the desk's list of
    candidates. The newest stored copy of each ``removed`` key that the selection no longer
    proposes is added, so that the editor can restore it."""
    from roundup.draft import build_draft

    with read_state(config) as store:
        selection = select_week(config, store, window)
        stories = list(selection.stories)
        proposed = {story.entry.canonical_url for story in stories}
        for key in removed:
            if key not in proposed and (entry := _newest(store.entries_with_url(key))):
                stories.append(Story(entry))
    groups = _group(config, stories, _week_entries(selection))
    return build_draft(groups, window=window, number=number, newsletter=config.newsletter)


def _newest(entries: list[Entry]) -> Entry | None:
    return max(entries, key=lambda entry: entry.published, default=None)


def edit_draft(config: Config, week: str, change: Callable[[], Draft | None]) -> Draft | None:
    """Apply an editor's change to draft.yaml under the run lock; a saved change voids the
    week's approval. ``change`` reads, edits and saves the draft, returning it, or None
    when it changed nothing."""
    with open_state(config) as store:
        refuse_if_sent(store.issue(week), "change it")
        changed = change()
        if changed is not None:
            void_approval(store, week)
    return changed


def approve_as_shown(
    config: Config, *, week: str, by: str, now: datetime, check: Callable[[], object]
) -> str:
    """Approve the week as the editor sees it: ``check`` runs under the lock and raises if
    the draft changed since the page loaded."""
    with open_state(config) as store:
        check()
        return approve_week(config, store, week=week, by=by, now=now)


# --- link checks ------------------------------------------------------------------------------


def issue_links(draft: Draft) -> list[tuple[str, str, str]]:
    """Every web link of the draft as (where, item key, url), in reading order: each item's
    link, then the links in its note; the intro's links first."""
    from roundup.markdown_blocks import parse_markdown

    def marked(source: str) -> list[str]:
        spans = (span for block in parse_markdown(source) for span in block.spans)
        return list(dict.fromkeys(span.href for span in spans if span.href.startswith("http")))

    found = [("the intro", "", url) for url in marked(draft.intro)]
    for number, item in enumerate(draft.items, start=1):
        where = f'item {number} "{item.title}"'
        found.append((where, item.key, item.link))
        found += [(f"the note of {where}", item.key, url) for url in marked(item.note)]
    return found


def check_issue_links(
    config: Config,
    store: Store,
    draft: Draft,
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    recheck_broken: bool = False,
    reuse: bool = True,
) -> LinkReport:
    """Check every link of ``draft``, reusing the store's results of the last day (broken
    ones asked again with ``recheck_broken``; none with ``reuse`` off), and keep the new
    results."""
    links = issue_links(draft)
    kept = store.link_checks(url for _, _, url in links) if reuse else {}
    report, fresh = _check_issue_links(
        config, draft, links, kept, now=now, transport=transport, recheck_broken=recheck_broken
    )
    store.keep_link_checks(fresh)
    return report


def _check_issue_links(
    config: Config,
    draft: Draft,
    links: Sequence[tuple[str, str, str]],
    kept: Mapping[str, LinkResult],
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None,
    recheck_broken: bool = False,
) -> tuple[LinkReport, list[LinkResult]]:
    """The report, and the new results to keep (the network part: no store, no lock)."""
    from roundup.linkcheck import check_links, reusable

    urls = [url for _, _, url in links]
    known = reusable(kept, now=now, recheck_broken=recheck_broken)
    checked = check_links(urls, config.fetch, now=now, known=known, transport=transport)
    results = {result.url: result for result in checked}
    fresh = [result for url, result in results.items() if url not in known]
    # a redirect's target answered 2xx just now: adopting it needs no second check
    landed = [
        LinkResult(r.final_url, "ok", r.code, "", "", r.checked_at)
        for r in fresh
        if r.status == "redirect"
    ]
    found = tuple(IssueLink(where, key, results[url]) for where, key, url in links)
    cached = sum(1 for url in results if url in known)
    return LinkReport(draft.week, found, cached), [*landed, *fresh]


def check_links(
    config: Config,
    *,
    week: str,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    fresh: bool = False,
) -> LinkReport:
    """``roundup check-links``: check every link of the week's draft (``fresh``: ask every
    server again, ignoring the last day's results).

    The run lock is not taken: a check can take minutes (``fetch.budget``), and cron's run
    or the desk's edits must not wait for it. The results are a cache, written in one
    short SQLite transaction of their own.
    """
    from roundup.draft_file import load_draft

    window = resolve_window(config, week, now=now)
    draft = load_draft(draft_path(config, window.week))
    links = issue_links(draft)
    with read_state(config) as store:
        kept = {} if fresh else store.link_checks(url for _, _, url in links)
    report, results = _check_issue_links(config, draft, links, kept, now=now, transport=transport)
    with read_state(config) as store:
        store.keep_link_checks(results)
    return report


def configured_link_check(
    config: Config,
    store: Store,
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LinkCheck:
    """The link check ``run`` and ``send`` use: with ``newsletter.block_on_broken_links``,
    :func:`issue_link_check`; without it none (no send waits on the network for a check
    whose result would change nothing; ``roundup check-links`` and the desk check on
    demand)."""
    if not config.newsletter.block_on_broken_links:
        return no_link_check
    return issue_link_check(config, store, now=now, transport=transport)


def issue_link_check(
    config: Config,
    store: Store,
    *,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LinkCheck:
    """A :data:`LinkCheck` that asks every link of the draft (the last day's results
    reused, except broken ones: the site may be back) and returns one line per broken link,
    naming the item: ``item 4 "Title": https://…: HTTP 404 Not Found``."""
    from roundup.linkcheck import hold_lines

    def check(draft: Draft) -> Sequence[str]:
        report = check_issue_links(
            config, store, draft, now=now, transport=transport, recheck_broken=True
        )
        return hold_lines(report)

    return check


def kept_link_checks(config: Config, urls: Sequence[str]) -> dict[str, LinkResult]:
    """What the last checks found for ``urls`` (read only, no network): the desk's view."""
    with read_state(config) as store:
        return store.link_checks(urls)


def delivered(config: Config, week: str) -> int:
    """How many recipients accepted the week's issue (the ledger's ``accepted`` rows)."""
    with read_state(config) as store:
        return sum(1 for status, _ in store.deliveries(week).values() if status == "accepted")


# --- subscribers and unsubscribes ------------------------------------------------------------


def subscriber_list(config: Config) -> list[Subscriber]:
    """``roundup subscribers list``: the subscribers CSV with each address's status."""
    from roundup.subscribers import direct_recipients, merge_statuses

    listed = direct_recipients(config).recipients
    with read_state(config) as store:
        return merge_statuses(listed, store.subscriber_statuses())


def recorded_statuses(config: Config) -> dict[str, StatusRecord]:
    """Every address the store holds a status for, lower-cased, listed or not."""
    with read_state(config) as store:
        return store.subscriber_statuses()


def subscriber_status(config: Config, address: str) -> StatusRecord | None:
    """The recorded status of ``address``, if it has one (a listed address without one is
    subscribed)."""
    with read_state(config) as store:
        return store.subscriber_status(address)


def record_statuses(config: Config, records: Sequence[StatusRecord]) -> int:
    """Record subscribers' statuses at once; returns how many changed.

    Not under the run lock: an unsubscribe must be answered within a second even while a
    send holds the lock for half an hour. Each write is one short SQLite transaction, and
    a running send checks the suppression list before every copy.
    """
    with Store.open(config.state) as store:
        return store.set_statuses(records)


def unsubscribe_by_hand(
    config: Config, addresses: Sequence[str], *, now: datetime
) -> list[StatusRecord]:
    """``roundup subscribers unsubscribe``: each address's status once it is recorded (an
    address that had unsubscribed keeps its earlier time). Raises :class:`ConfigError`
    for a text that is not an address, before anything is recorded."""
    from roundup.subscribers import unsubscribe_records

    records = unsubscribe_records(addresses, now=now)
    with Store.open(config.state) as store:
        store.set_statuses(records)
        return [store.subscriber_status(r.address) or r for r in records]


def import_subscribers(
    config: Config,
    path: Path,
    *,
    now: datetime,
    default_status: str | None = None,
    resubscribe: bool = False,
) -> ImportPlan:
    """``roundup subscribers import``: unsubscribes into the store, new subscribers into the
    subscribers CSV, under the run lock so no send reads the CSV half-way."""
    from roundup.subscribers import (
        append_recipients,
        direct_recipients,
        merge_statuses,
        plan_import,
        read_import,
    )

    imported = read_import(path, default_status=default_status)
    with open_state(config) as store:
        listed = direct_recipients(config).recipients
        current = merge_statuses(listed, store.subscriber_statuses())
        plan = plan_import(imported, current, now=now, resubscribe=resubscribe)
        store.set_statuses(plan.statuses, keep_earlier=False)
        if config.smtp is not None and config.smtp.subscribers is not None:
            append_recipients(config.smtp.subscribers, plan.added)
    return plan
