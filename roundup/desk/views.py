"""What the desk page shows, computed from draft.yaml, the store and the rendered issue.

Everything here reads; nothing writes. Renders and the week's proposals are cached by the
draft's version (its sha256), so the page and its three preview frames render once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import jinja2

from roundup import pipeline
from roundup.config import Config
from roundup.draft_file import EDITOR_PREFIX
from roundup.errors import DraftError, RenderError
from roundup.i18n import format_date, labels
from roundup.linkcheck import LinkResult
from roundup.models import Draft, DraftItem
from roundup.pipeline import draft_path, is_approved
from roundup.store import IssueRecord
from roundup.week import Window

if TYPE_CHECKING:
    from roundup.render import RenderedIssue

UI_LANGUAGE = "en"  # the desk speaks English; the issue keeps the newsletter's language
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MoveTo = Literal["up", "down", "top", "bottom"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """draft.yaml as read once: its version, and the draft or why it cannot be read."""

    version: str
    draft: Draft | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One item as the page lists it, with where its Up and Down buttons move it."""

    number: int  # 1-based, across the whole issue
    item: DraftItem
    section: str
    date: str
    up: tuple[str, int] | None  # (section, index) for move_item
    down: tuple[str, int] | None
    by_hand: bool  # added by the editor: removing it deletes it
    first: bool = False  # first of its section: "To top" has nothing to do
    last: bool = False
    check: LinkResult | None = None  # the last link check of its link, if any


@dataclass(frozen=True, slots=True)
class SectionRow:
    name: str
    description: str
    items: tuple[ItemRow, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story the week's selection proposes, as a draft item in its section."""

    item: DraftItem
    section: str
    description: str
    rank: int  # position among the proposals: restores go back near their old place


@dataclass(frozen=True, slots=True)
class RemovedRow:
    key: str
    title: str
    source: str
    section: str
    restorable: bool


@dataclass(frozen=True, slots=True)
class Approval:
    state: Literal["approved", "changed", "none"]
    by: str
    at: str
    required: bool


@dataclass(frozen=True, slots=True)
class FeedTrouble:
    name: str
    error: str
    failures: int
    gone: bool
    last_success: str


@dataclass(frozen=True, slots=True)
class Numbers:
    email_bytes: int
    limit: int
    percent: int
    items: int
    notices: tuple[str, ...]


class Views:
    """Builds the page's context; holds the per-version caches."""

    def __init__(self, config: Config, window: Window) -> None:
        self.config = config
        self.window = window
        self._lock = threading.Lock()
        self._renders: dict[str, RenderedIssue] = {}
        self._proposals: dict[str, dict[str, Candidate]] = {}

    # --- cached work ---------------------------------------------------------------------

    def rendered(self, version: str, draft: Draft) -> RenderedIssue:
        """The issue as it will be sent, rendered once per version."""
        # Imported here: premailer and lxml take a third of a second the server need not wait for.
        from roundup.render import render_issue
        from roundup.theme import make_environment

        with self._lock:
            if version not in self._renders:
                env = _environment(self.config, make_environment)
                self._renders = {version: render_issue(draft, self.config, env=env)}
            return self._renders[version]

    def candidates(self, version: str, draft: Draft) -> dict[str, Candidate]:
        """Every story the week proposes (and every removed one still stored), by key."""
        with self._lock:
            if version not in self._proposals:
                self._proposals = {version: self._candidates(draft)}
            return self._proposals[version]

    def proposals(self, draft: Draft) -> dict[str, Candidate]:
        """:meth:`candidates` from the store as it is now, uncached: for restoring."""
        return self._candidates(draft)

    def _candidates(self, draft: Draft) -> dict[str, Candidate]:
        fresh = pipeline.proposed_draft(
            self.config, self.window, number=draft.number, removed=draft.removed
        )
        ranked = ((s, item) for s in fresh.sections for item in s.items)
        return {
            item.key: Candidate(item, section.name, section.description, rank)
            for rank, (section, item) in enumerate(ranked)
        }

    # --- the page ------------------------------------------------------------------------

    def page(self, snapshot: Snapshot, *, approver: str) -> dict[str, Any]:
        """Everything desk.html and _status.html need; a draft that cannot be read leaves
        only the header and the reason."""
        draft = snapshot.draft
        rendered, render_error = self._try_render(snapshot.version, draft) if draft else (None, "")
        record = pipeline.issue_record(self.config, self.window.week)
        sent = self.sent_line(record)
        return {
            "sent": sent,
            "readonly": bool(sent),
            "newsletter": self.config.newsletter.title,
            "week": self.window.week,
            "dates": _dates(self.window),
            "number": draft.number if draft else None,
            "version": snapshot.version,
            "draft_error": snapshot.error,
            "draft_file": str(draft_path(self.config, self.window.week)),
            "approver": approver,
            "troubles": self.troubles(),
            "draft": draft,
            "sections": self.sections(draft) if draft else [],
            "section_names": [section.name for section in draft.sections] if draft else [],
            "default_section": labels(self.config.newsletter.language)["other"],
            "removed": self.removed(snapshot.version, draft) if draft else [],
            "render_error": render_error,
            "numbers": _numbers(rendered, draft) if rendered and draft else None,
            "email_text": rendered.email_text if rendered else "",
            "approval": self.approval(rendered, record) if draft else None,
        }

    def _try_render(self, version: str, draft: Draft) -> tuple[RenderedIssue | None, str]:
        try:
            return self.rendered(version, draft), ""
        except RenderError as exc:
            return None, str(exc)

    def sections(self, draft: Draft) -> list[SectionRow]:
        checks = pipeline.kept_link_checks(self.config, [item.link for item in draft.items])
        rows: list[SectionRow] = []
        number = 0
        for s, section in enumerate(draft.sections):
            items = []
            for i, item in enumerate(section.items):
                number += 1
                up, down = _targets(draft, s, i)
                items.append(
                    ItemRow(
                        number=number,
                        item=item,
                        section=section.name,
                        date=self._date(item.published),
                        up=up,
                        down=down,
                        by_hand=item.key.startswith(EDITOR_PREFIX),
                        first=i == 0,
                        last=i == len(section.items) - 1,
                        check=checks.get(item.link),
                    )
                )
            rows.append(SectionRow(section.name, section.description, tuple(items)))
        return rows

    def removed(self, version: str, draft: Draft) -> list[RemovedRow]:
        if not draft.removed:
            return []
        found = self.candidates(version, draft)
        rows = []
        for key in draft.removed:
            candidate = found.get(key)
            if candidate is None:
                rows.append(RemovedRow(key, key, "", "", restorable=False))
            else:
                item = candidate.item
                rows.append(RemovedRow(key, item.title, item.source, candidate.section, True))
        return rows

    def sent_line(self, record: IssueRecord | None) -> str:
        """ "Sent Fri 14 Aug 15:00 to 1,204 recipients" once the week went out, else ""."""
        if record is None or not record.sent or record.sent_at is None:
            return ""
        local = record.sent_at.astimezone(self.config.newsletter.tz)
        count = pipeline.delivered(self.config, self.window.week)
        when = f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local:%H:%M}"
        return f"Sent {when} to {count:,} recipient{'' if count == 1 else 's'}"

    def approval(self, rendered: RenderedIssue | None, record: IssueRecord | None) -> Approval:
        required = self.config.newsletter.require_approval
        if record is None or not record.approved_hash:
            return Approval("none", "", "", required)
        same = rendered is not None and is_approved(record, rendered)
        return Approval(
            "approved" if same else "changed",
            record.approved_by or "?",
            self._when(record),
            required,
        )

    def troubles(self) -> list[FeedTrouble]:
        """Configured feeds whose last fetch failed, in feeds.yaml order."""
        states = pipeline.feed_states(self.config)
        rows = []
        for feed in self.config.enabled_feeds:
            state = states.get(feed.key)
            if state is None or (state.failures == 0 and not state.gone):
                continue
            rows.append(
                FeedTrouble(
                    name=feed.name or state.title or feed.url,
                    error=state.last_error or ("gone" if state.gone else "failed"),
                    failures=state.failures,
                    gone=state.gone,
                    last_success=self._moment(state.last_success)
                    if state.last_success
                    else "never",
                )
            )
        return rows

    # --- formatting ----------------------------------------------------------------------

    def _date(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_date(
            moment.astimezone(self.config.newsletter.tz).date(), UI_LANGUAGE, "medium"
        )

    def _moment(self, moment: datetime) -> str:
        local = moment.astimezone(self.config.newsletter.tz)
        return f"{format_date(local.date(), UI_LANGUAGE, 'medium')} at {local:%H:%M}"

    def _when(self, record: IssueRecord) -> str:
        return self._moment(record.approved_at) if record.approved_at else ""


def restore_index(
    draft: Draft, candidate: Candidate, proposals: Mapping[str, Candidate]
) -> int | None:
    """Where a restored item goes in its section: before the first item proposed after it
    (items the editor added do not count); None, the end, when there is none."""
    for section in draft.sections:
        if section.name != candidate.section:
            continue
        for index, item in enumerate(section.items):
            other = proposals.get(item.key)
            if other is not None and other.rank > candidate.rank:
                return index
        return None
    return None


def move_target(draft: Draft, key: str, to: MoveTo) -> tuple[str, int | None]:
    """Where the buttons send the item ``key``: one place up or down (across sections), or
    the top or bottom of its own section, as ``(section, index)`` for ``move_item``."""
    for s, section in enumerate(draft.sections):
        for i, item in enumerate(section.items):
            if item.key != key:
                continue
            if to == "top":
                return section.name, 0
            if to == "bottom":
                return section.name, None
            up, down = _targets(draft, s, i)
            return (up if to == "up" else down) or (section.name, i)
    raise DraftError("that item is no longer in the draft: reload to see the latest")


def _targets(draft: Draft, s: int, i: int) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Up: one place earlier, or the end of the previous section; Down: the mirror."""
    sections = draft.sections
    count = len(sections[s].items)
    if i > 0:
        up: tuple[str, int] | None = (sections[s].name, i - 1)
    else:
        up = (sections[s - 1].name, len(sections[s - 1].items)) if s > 0 else None
    if i < count - 1:
        down: tuple[str, int] | None = (sections[s].name, i + 1)
    else:
        down = (sections[s + 1].name, 0) if s + 1 < len(sections) else None
    return up, down


_ENVIRONMENTS: dict[tuple[object, ...], jinja2.Environment] = {}


def _environment(
    config: Config, make: Callable[[Config], jinja2.Environment]
) -> jinja2.Environment:
    """One Jinja environment per theme and locale: it caches compiled templates, so a new
    desk in the same process (tests, a restarted server) does not compile them again."""
    nl = config.newsletter
    key = (config.templates, nl.language, nl.timezone)
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = make(config)
    return _ENVIRONMENTS[key]


def _numbers(rendered: RenderedIssue, draft: Draft) -> Numbers:
    from roundup.email_budget import EMAIL_LIMIT

    size = len(rendered.email_html.encode("utf-8"))
    return Numbers(
        size,
        EMAIL_LIMIT,
        min(100, round(100 * size / EMAIL_LIMIT)),
        len(draft.items),
        rendered.notices,
    )


def _dates(window: Window) -> str:
    first = format_date(window.start.date(), UI_LANGUAGE, "medium")
    last = format_date(window.last_day, UI_LANGUAGE, "medium")
    return f"{first} – {last}"


def mark_items(html: str, items: Sequence[DraftItem]) -> str:
    """The rendered ``html`` with an empty ``<span id="desk-item-N"></span>`` before the
    first link to each item, in order, so that the preview can scroll to the item being
    edited (``#desk-item-N``). A span, not an id on the link: a frame scrolled to a link
    takes the keyboard focus, and the editor would lose their place. Nothing else changes:
    the preview stays the email as it will be sent."""
    from markupsafe import escape

    from roundup.text import safe_url

    parts: list[str] = []
    cursor = 0
    for number, item in enumerate(items, start=1):
        url = safe_url(item.link)
        if not url:
            continue
        needle = f'<a href="{escape(url)}"'
        found = html.find(needle, cursor)
        if found < 0:
            continue  # dropped to fit the size budget, or linked in another form
        parts += [html[cursor:found], f'<span id="desk-item-{number}"></span>{needle}']
        cursor = found + len(needle)
    return "".join(parts) + html[cursor:]
