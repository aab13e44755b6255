"""The orchestrator: the only place that chains stages and opens the store and the run lock.

Each job below is one user-visible command, read top to bottom; ``roundup.cli`` and the
editor's desk call these and nothing else touches the store or the lock:

    fetch      feeds.yaml → fetch → parse → store
    draft      store → select → de-duplicate → group → draft.yaml (keeping the editor's edits)
    render     draft.yaml → the registered outputs (email.html, email.txt, post.md, post.html)
    build      fetch, draft and render in turn
    approve    record an editor's approval, bound to the rendered email
    send       render, write message.eml, send exactly once through the configured Mailer
    publish    hand the sent issues to the configured Publisher (the archive pages)
    run        the hourly cron job: fetch, draft, render, send and publish what is due
    explain    why a post is, or is not, in a week's issue

The stage functions they chain (:func:`fetch_feeds`, :func:`make_draft`, :func:`render_week`,
:func:`approve_week`, :func:`send_week`, :func:`run_once`, :func:`update_archive`) take an
open :class:`~roundup.store.Store`, for callers that manage one themselves (tests, scripts).

The approval rule (:func:`is_approved`) and the "was it sent" rule (:func:`is_sent`) live
here and nowhere else. Time always comes in as an argument; only ``roundup.cli`` reads the
clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx

from roundup.atomic import write_atomic
from roundup.config import Config, FeedConfig, load_config
from roundup.coverage import group_coverage
from roundup.draft import build_draft
from roundup.draft_file import load_draft, save_draft
from roundup.entries import keep_newest
from roundup.errors import ConfigError, IssueSent
from roundup.fetch import FetchRequest, FetchResult, fetch_many
from roundup.group import group_stories
from roundup.i18n import labels
from roundup.lock import locked
from roundup.models import Draft, Entry, Group, ParsedFeed, Story
from roundup.parsing import parse_executor, parse_job
from roundup.publisher import SentIssue
from roundup.select import Selection, select_stories
from roundup.sources import reads_like_section, source_name
from roundup.store import FeedState, FeedUpdate, IssueRecord, Store
from roundup.week import Window, window_for
from roundup.yamlfile import YamlError, set_feed_name

if TYPE_CHECKING:
    from roundup.mailer import Mailer
    from roundup.publisher import Publisher
    from roundup.render import RenderedIssue
    from roundup.send import SendReport

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
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> FetchReport:
    """Fetch every enabled feed, parse what changed, and store it feed by feed.

    Bodies are parsed on all cores while other feeds are still downloading; each feed's
    outcome is written to the store in its own transaction.
    """
    states = store.feed_states()
    feeds = {feed.key: feed for feed in config.enabled_feeds}
    gone = [key for key in feeds if (s := states.get(key)) is not None and s.gone]
    requests = [
        _request(feed, states.get(feed.key)) for key, feed in feeds.items() if key not in gone
    ]
    reports: list[FeedReport] = [_gone_report(feeds[key], states[key]) for key in gone]
    parsing: dict[Future[ParsedFeed | str], FetchResult] = {}

    def finish(result: FetchResult, parsed: ParsedFeed | str | None) -> None:
        feed = feeds[result.key]
        report = _record(result, feed, states.get(feed.key), store, now, parsed)
        reports.append(report)
        if on_feed is not None:
            on_feed(report)

    def store_parsed(*, wait: bool) -> None:
        """Write each finished parse at once, so results never pile up in memory."""
        jobs = as_completed(list(parsing)) if wait else [j for j in list(parsing) if j.done()]
        for job in jobs:
            finish(parsing.pop(job), job.result())

    with parse_executor(len(requests)) as executor, _quick_thread_switches():

        def on_result(result: FetchResult) -> None:
            store_parsed(wait=False)
            if result.status != "fetched" or result.body is None:
                finish(result, None)
                return
            feed = feeds[result.key]
            url = result.moved_to or result.url
            job = executor.submit(
                parse_job, result.body, feed.key, url, now, feed.name, result.content_type
            )
            parsing[job] = _without_body(result)

        fetch_many(requests, config.fetch, transport=transport, on_result=on_result)
        store_parsed(wait=True)
    order = {key: index for index, key in enumerate(feeds)}
    return FetchReport(tuple(sorted(reports, key=lambda r: order[r.key])))


@contextlib.contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """Hand the GIL back to the event loop sooner while parse jobs are being submitted.

    Each submit wakes the process pool's manager thread; at the default 5 ms interval the
    event loop then idles waiting for the GIL (about 1 s over a 300-feed run).
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


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


def _record(
    result: FetchResult,
    feed: FeedConfig,
    state: FeedState | None,
    store: Store,
    now: datetime,
    parsed: ParsedFeed | str | None,
) -> FeedReport:
    """Write one feed's outcome (``parsed`` is a parse result or its error) in one transaction."""
    name = _name(feed, state)
    before = state.failures if state else 0
    failures = before + 1
    if result.status in ("failed", "gone"):
        store.record_feed(
            FeedUpdate(
                result.key, result.url, ok=False, gone=result.status == "gone", error=result.error
            ),
            now=now,
        )
        return FeedReport(feed.key, name, result.status, error=result.error, failures=failures)
    if parsed is None:
        store.record_feed(
            FeedUpdate(
                result.key,
                result.url,
                ok=True,
                etag=result.etag,
                last_modified=result.last_modified,
                moved_to=result.moved_to,
            ),
            now=now,
        )
        status: FeedStatus = "unchanged" if result.status == "unchanged" else "not_modified"
        return FeedReport(feed.key, name, status, moved_to=result.moved_to, recovered_after=before)
    if isinstance(parsed, str):
        store.record_feed(FeedUpdate(result.key, result.url, ok=False, error=parsed), now=now)
        return FeedReport(feed.key, name, "failed", error=parsed, failures=failures)
    new = store.record_feed(
        FeedUpdate(
            result.key,
            result.url,
            ok=True,
            title=parsed.meta.title or None,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=result.body_hash,
            moved_to=result.moved_to,
            entries=keep_newest(parsed.entries),
        ),
        now=now,
    )
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
    of falling between two issues."""
    previous = resolve_window(config, "last", now=window.start)
    record = store.issue(previous.week)
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
    refuse_if_sent(store.issue(window.week), "rewrite its draft", force=force)
    path = draft_path(config, window.week)
    previous = load_draft(path) if path.exists() else None
    selection = select_week(config, store, window)
    groups = _group(config, selection.stories, _week_entries(selection))
    number = store.issue_number(window.week, first=config.newsletter.first_issue)
    draft = build_draft(
        groups, window=window, number=number, newsletter=config.newsletter, previous=previous
    )
    save_draft(path, draft)
    before = {item.key for item in previous.items} if previous else set()
    new_items = sum(1 for item in draft.items if item.key not in before)
    return DraftResult(draft, path, selection, previous is None, new_items)


def _week_entries(selection: Selection) -> list[Entry]:
    """Every entry of the week's window, selected or not."""
    return [v.entry for v in selection.verdicts if v.reason != "outside_window"]


def _group(
    config: Config, stories: Sequence[Story], week: Sequence[Entry] = ()
) -> tuple[Group, ...]:
    # Articles of several feeds about one event become one story, after de-duplication
    # (which merged the copies of each article) and the selection's caps; how rare a word
    # is is judged among all the week's entries.
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


def render_week(config: Config, *, week: str, write: bool = True) -> RenderResult:
    """Render ``<output_dir>/<week>/draft.yaml`` into the issue's outputs, and write them
    unless ``write`` is false (a sent issue's files are never rewritten)."""
    # Imported here: premailer and lxml cost a third of a second that fetch-only runs skip.
    from roundup.render import render_issue, write_issue
    from roundup.theme import make_environment

    draft = load_draft(draft_path(config, week))
    issue = render_issue(draft, config, env=make_environment(config))
    files = write_issue(issue_dir(config, week), issue) if write else []
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


def refuse_if_sent(record: IssueRecord | None, action: str, *, force: bool = False) -> None:
    """Raise :class:`IssueSent` when the week was sent and ``force`` is off.

    ``action`` says what was refused, e.g. "rewrite its draft".
    """
    if force or record is None or not record.sent or record.sent_at is None:
        return
    raise IssueSent(
        f"{record.week} was sent on {record.sent_at:%Y-%m-%d %H:%M} UTC: its draft and files"
        f" are frozen, so roundup will not {action} (new posts wait for the next issue;"
        " --force does it anyway)"
    )


def may_send(config: Config, record: IssueRecord | None, issue: RenderedIssue) -> bool:
    """The approval rule: approval is needed only when ``newsletter.require_approval`` is on."""
    return not config.newsletter.require_approval or is_approved(record, issue)


def approve_week(config: Config, store: Store, *, week: str, by: str, now: datetime) -> str:
    """Record that ``by`` approved the week's issue as it renders now; returns the digest."""
    refuse_if_sent(store.issue(week), "approve it again")
    rendered = render_week(config, week=week)
    digest = email_digest(rendered.issue)
    store.issue_number(week, first=config.newsletter.first_issue)
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
) -> SendReport:
    """Render the week's draft as it stands, write message.eml, and send it exactly once.

    ``rendered`` is the week's render when the caller has just made it (``run_once``);
    ``connect`` makes the mailer (default: the one feeds.yaml configures). The files of a
    sent issue are left as they are (unless ``force``): it is rendered in memory only.
    """
    from roundup.message import build_message, write_eml
    from roundup.send import send_issue

    frozen = is_sent(store.issue(week)) and not force
    rendered = rendered or render_week(config, week=week, write=not frozen)
    message = build_message(
        html=rendered.issue.email_html,
        text=rendered.issue.email_text,
        draft=rendered.draft,
        config=config,
        now=clock(),
    )
    if not frozen and test_to is None:
        write_eml(issue_dir(config, week) / "message.eml", message)
    return send_issue(
        message=message,
        draft=rendered.draft,
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
        approved=may_send(config, store.issue(week), rendered.issue),
    )


# --- publishing -----------------------------------------------------------------------------


def sent_issues(config: Config, store: Store) -> list[SentIssue]:
    """Every sent issue whose draft is still on disk, as publishers list them."""
    from roundup.issue_view import post_url

    issues = []
    for record in store.issues():
        path = draft_path(config, record.week)
        if not is_sent(record) or not path.exists():
            continue
        draft = load_draft(path)
        issues.append(
            SentIssue(
                week=draft.week,
                number=draft.number,
                subject=draft.subject,
                date=(draft.window_end - timedelta(days=1)).date(),
                post_url=post_url(draft, config),
                summary=draft.preheader,
            )
        )
    return issues


def update_archive(
    config: Config, store: Store, *, publisher: Publisher | None = None
) -> list[Path]:
    """Hand the sent issues to the publisher (default: the archive pages); returns its files."""
    from roundup.publisher import open_publisher

    return (publisher or open_publisher(config)).publish(sent_issues(config, store))


# --- the cron job ---------------------------------------------------------------------------

RunAction = Literal[
    "sent", "not_due", "already_sent", "missed", "empty", "awaiting_approval", "incomplete"
]


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one ``roundup run`` did."""

    fetch: FetchReport
    drafted: str  # the week whose draft was refreshed
    due: str | None  # the week that is due for sending, if any
    action: RunAction
    send: SendReport | None = None


def run_once(
    config: Config,
    store: Store,
    *,
    clock: Clock,
    secret: str,
    connect: Connect | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    publisher: Publisher | None = None,
) -> RunReport:
    """The cron job: fetch, refresh the draft, render, send the issue that is due, publish.

    Safe to run every hour: an issue is sent once (the ledger), never empty, and only when
    approved if approval is required. The caller holds the run lock.
    """
    from roundup.schedule import due_window, too_late

    now = clock()
    report = fetch_feeds(config, store, now=now, transport=transport, on_feed=on_feed)
    current = resolve_window(config, "current", now=now)
    latest = None if is_sent(store.issue(current.week)) else _prepare(config, store, current)
    due = due_window(config.newsletter, now=now)
    if due is None:
        return RunReport(report, current.week, None, "not_due")
    record = store.issue(due.week)
    if is_sent(record):
        return RunReport(report, current.week, due.week, "already_sent")
    if too_late(due, config.newsletter, now=now):
        return RunReport(report, current.week, due.week, "missed")
    # Usually the due week is the current one, prepared just above.
    rendered = latest if latest and due.week == current.week else _prepare(config, store, due)
    if not rendered.draft.items:
        return RunReport(report, current.week, due.week, "empty")
    if not may_send(config, record, rendered.issue):
        return RunReport(report, current.week, due.week, "awaiting_approval")
    sent = send_week(
        config,
        store,
        week=due.week,
        clock=clock,
        secret=secret,
        connect=connect,
        sleep=sleep,
        rendered=rendered,
    )
    if sent.finished:
        update_archive(config, store, publisher=publisher)
    action: RunAction = "sent" if sent.finished else "incomplete"
    return RunReport(report, current.week, due.week, action, sent)


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
    transport: httpx.AsyncBaseTransport | None = None,
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
    return render_week(config, week=window.week)


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
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> BuildReport:
    """``roundup build``: fetch, draft and render the week's issue in one go."""
    window = resolve_window(config, week, now=now)
    with open_state(config) as store:
        refuse_if_sent(store.issue(window.week), "rebuild it")
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
) -> SendReport:
    """``roundup send``: say what is about to happen (``before``), then send exactly once.

    ``before`` receives the plan in one paragraph and may raise to stop (the CLI's prompt
    for ``--force``). A finished send also publishes the archive.
    """
    from roundup.send import describe_send

    window = resolve_window(config, week, now=clock())
    with open_state(config) as store:
        if before is not None:
            plan = describe_send(
                draft=load_draft(draft_path(config, window.week)),
                config=config,
                store=store,
                force=force,
                dry_run=dry_run,
                test_to=test_to,
                retry_uncertain=retry_uncertain,
            )
            before(plan)
        report = send_week(
            config,
            store,
            week=window.week,
            clock=clock,
            secret=secret,
            force=force,
            dry_run=dry_run,
            test_to=test_to,
            connect=connect,
            retry_uncertain=retry_uncertain,
        )
        if report.finished and not dry_run and test_to is None:
            update_archive(config, store)
    return report


def run(
    config: Config,
    *,
    clock: Clock,
    secret: str,
    connect: Connect | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> RunReport:
    """``roundup run``: the cron job, under the run lock."""
    with open_state(config) as store:
        return run_once(
            config,
            store,
            clock=clock,
            secret=secret,
            connect=connect,
            transport=transport,
            on_feed=on_feed,
        )


def publish(config: Config) -> list[Path]:
    """``roundup archive``: rewrite the published archive from the issues sent so far."""
    with open_state(config) as store:
        return update_archive(config, store)


def explain(config: Config, *, url: str, week: str, now: datetime) -> str:
    """``roundup explain``: why the post at ``url`` is, or is not, in the week's issue."""
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
