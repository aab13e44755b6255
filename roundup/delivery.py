"""Delivery: approve the week's issue, send it once, keep the archive, and the cron job.

    approve_week    record an editor's approval, bound to the rendered email
    send_week       render, write message.eml, send exactly once
    update_archive  index.html and feed.xml from the issues sent so far
    run_once        the hourly cron job: fetch, draft, render, send what is due

Time always comes in as an argument; only ``roundup.cli`` reads the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from roundup.config import Config
from roundup.draft import load_draft
from roundup.pipeline import (
    FeedReport,
    FetchReport,
    RenderResult,
    draft_path,
    fetch_feeds,
    issue_dir,
    make_draft,
    render_week,
    resolve_window,
)
from roundup.store import Store
from roundup.week import Window

if TYPE_CHECKING:
    from roundup.render import RenderedIssue
    from roundup.send import SendReport
    from roundup.smtp import SmtpFactory


def email_digest(issue: RenderedIssue) -> str:
    """What an approval is bound to: any change to the rendered email voids it."""
    return hashlib.sha256(issue.email_html.encode("utf-8")).hexdigest()


def approve_week(config: Config, store: Store, *, week: str, by: str, now: datetime) -> str:
    """Record that ``by`` approved the week's issue as it renders now; returns the digest."""
    rendered = render_week(config, week=week)
    digest = email_digest(rendered.issue)
    store.issue_number(week, first=config.newsletter.first_issue)
    store.set_approval(week, by=by, at=now, digest=digest)
    return digest


def is_approved(store: Store, week: str, issue: RenderedIssue) -> bool:
    record = store.issue(week)
    return bool(record and record.approved_hash and record.approved_hash == email_digest(issue))


def send_week(
    config: Config,
    store: Store,
    *,
    week: str,
    clock: Callable[[], datetime],
    secret: str,
    force: bool = False,
    dry_run: bool = False,
    test_to: str | None = None,
    smtp_factory: SmtpFactory | None = None,
    sleep: Callable[[float], None] | None = None,
    rendered: RenderResult | None = None,
) -> SendReport:
    """Render the week's draft as it stands, write message.eml, and send it exactly once.

    ``rendered`` is the week's render when the caller has just made it (``run_once``).
    """
    from roundup.message import build_message, write_eml
    from roundup.send import send_issue

    rendered = rendered or render_week(config, week=week)
    message = build_message(
        html=rendered.issue.email_html,
        text=rendered.issue.email_text,
        draft=rendered.draft,
        config=config,
        now=clock(),
    )
    write_eml(issue_dir(config, week) / "message.eml", message)
    extra = {"sleep": sleep} if sleep is not None else {}
    return send_issue(
        message=message,
        draft=rendered.draft,
        config=config,
        store=store,
        now=clock,
        secret=secret,
        force=force,
        dry_run=dry_run,
        test_to=test_to,
        smtp_factory=smtp_factory,
        approved=not config.newsletter.require_approval or is_approved(store, week, rendered.issue),
        **extra,  # type: ignore[arg-type]
    )


def update_archive(config: Config, store: Store) -> list[Path]:
    """Rewrite ``<output_dir>/index.html`` and ``feed.xml`` from the issues sent so far."""
    from roundup.archive import ArchiveIssue, write_archive
    from roundup.render import post_url

    issues = []
    for record in store.issues():
        path = draft_path(config, record.week)
        if record.sent_at is None or not path.exists():
            continue
        draft = load_draft(path)
        issues.append(
            ArchiveIssue(
                week=draft.week,
                number=draft.number,
                subject=draft.subject,
                date=(draft.window_end - timedelta(days=1)).date(),
                post_url=post_url(draft, config),
                summary=draft.preheader,
            )
        )
    return list(write_archive(config.output_dir, config, issues))


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
    clock: Callable[[], datetime],
    secret: str,
    smtp_factory: SmtpFactory | None = None,
    sleep: Callable[[float], None] | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> RunReport:
    """The cron job: fetch, refresh the draft, render, and send the issue that is due.

    Safe to run every hour: an issue is sent once (the ledger), never empty, and only when
    approved if approval is required. The caller holds the run lock.
    """
    from roundup.schedule import due_window, too_late

    now = clock()
    report = fetch_feeds(config, store, now=now, on_feed=on_feed)
    current = resolve_window(config, "current", now=now)
    latest = _prepare(config, store, current)
    due = due_window(config.newsletter, now=now)
    if due is None:
        return RunReport(report, current.week, None, "not_due")
    record = store.issue(due.week)
    if record is not None and record.sent_at is not None:
        return RunReport(report, current.week, due.week, "already_sent")
    if too_late(due, config.newsletter, now=now):
        return RunReport(report, current.week, due.week, "missed")
    # Usually the due week is the current one, prepared just above.
    rendered = latest if due.week == current.week else _prepare(config, store, due)
    if not rendered.draft.items:
        return RunReport(report, current.week, due.week, "empty")
    if config.newsletter.require_approval and not is_approved(store, due.week, rendered.issue):
        return RunReport(report, current.week, due.week, "awaiting_approval")
    sent = send_week(
        config,
        store,
        week=due.week,
        clock=clock,
        secret=secret,
        smtp_factory=smtp_factory,
        sleep=sleep,
        rendered=rendered,
    )
    if sent.finished:
        update_archive(config, store)
    return RunReport(
        report, current.week, due.week, "sent" if sent.finished else "incomplete", sent
    )


def _prepare(config: Config, store: Store, window: Window) -> RenderResult:
    """Refresh the window's draft with new entries, unless an approval froze it; render it.

    An approved issue is what goes out: posts that arrive after the approval wait for the
    next issue instead of voiding the approval. An edit in the desk lifts the freeze.
    """
    record = store.issue(window.week)
    if record is None or record.approved_hash is None:
        make_draft(config, store, window=window)
    return render_week(config, week=window.week)
