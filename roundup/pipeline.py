"""The orchestrator: each public function here is one user-visible job, read top to bottom.

    fetch_feeds   feeds.yaml → fetch → parse → store
    make_draft    store → select → de-duplicate → group → draft.yaml (keeping the editor's edits)
    render_week   draft.yaml → email.html, email.txt, post.md, post.html
    (`roundup build` runs these three in turn)

Approval, sending, the archive and the cron job live in ``roundup.delivery``.

Time always comes in as an argument; only ``roundup.cli`` reads the clock.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx

from roundup._parallel import parse_executor, parse_job
from roundup.config import Config, FeedConfig
from roundup.draft import build_draft, load_draft, save_draft
from roundup.fetch import FetchRequest, FetchResult, fetch_many
from roundup.group import group_stories
from roundup.i18n import labels
from roundup.models import Draft, ParsedFeed
from roundup.select import Selection, select_stories
from roundup.store import FeedState, FeedUpdate, Store
from roundup.week import Window, window_for

if TYPE_CHECKING:
    from roundup.render import RenderedIssue

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


@contextmanager
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
            entries=parsed.entries,
        ),
        now=now,
    )
    return FeedReport(
        feed.key,
        feed.name or parsed.meta.title or name,
        "fetched",
        new_entries=new,
        moved_to=result.moved_to,
        warnings=parsed.meta.warnings,
        recovered_after=before,
    )


def _name(feed: FeedConfig, state: FeedState | None) -> str:
    return feed.name or (state.title if state and state.title else feed.url)


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


def select_week(config: Config, store: Store, window: Window) -> Selection:
    """What the pipeline would put in ``window``'s issue, with a verdict for every entry."""
    entries = store.entries_between(window.start, window.end)
    return select_stories(
        entries,
        window=window,
        feeds=config.feeds,
        max_items=config.newsletter.max_items,
        sent_urls=store.sent_urls(excluding=window.week),
    )


def make_draft(config: Config, store: Store, *, window: Window) -> DraftResult:
    """Write (or refresh) ``<output_dir>/<week>/draft.yaml``, keeping the editor's edits."""
    path = draft_path(config, window.week)
    previous = load_draft(path) if path.exists() else None
    selection = select_week(config, store, window)
    groups = group_stories(
        selection.stories,
        sections=config.sections,
        feeds=config.feeds,
        default_name=labels(config.newsletter.language)["other"],
    )
    number = store.issue_number(window.week, first=config.newsletter.first_issue)
    draft = build_draft(
        groups, window=window, number=number, newsletter=config.newsletter, previous=previous
    )
    save_draft(path, draft)
    before = {item.key for item in previous.items} if previous else set()
    new_items = sum(1 for item in draft.items if item.key not in before)
    return DraftResult(draft, path, selection, previous is None, new_items)


@dataclass(frozen=True, slots=True)
class RenderResult:
    draft: Draft
    issue: RenderedIssue
    files: tuple[Path, ...] = field(default=())


def render_week(config: Config, *, week: str) -> RenderResult:
    """Render ``<output_dir>/<week>/draft.yaml`` into the issue's four files."""
    # Imported here: premailer and lxml cost a third of a second that fetch-only runs skip.
    from roundup.render import make_environment, render_issue, write_issue

    draft = load_draft(draft_path(config, week))
    issue = render_issue(draft, config, env=make_environment(config))
    files = write_issue(issue_dir(config, week), issue)
    return RenderResult(draft, issue, tuple(files))
