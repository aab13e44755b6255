"""The SQLite state file: feeds and their health, entries, issues, sent links, deliveries,
and the issues on the web copy (publications).

This is the only module that runs SQL. Fetch results are written whole feeds per
transaction (a few dozen at once in a large fetch), so an interrupted run leaves the store
as it was or with whole feeds only.
Overlapping runs (cron) are kept apart by an advisory lock file next to the database
(:func:`roundup.lock.locked`, held by the orchestrator): the second run waits briefly, then raises
:class:`StoreLocked`.

Every write that changes what a draft is made of (entries, issues, sent links) also bumps
:meth:`Store.revision`, which is how the orchestrator knows that an idle hour has nothing to
re-draft: a new method that writes those tables must call ``_changed`` in its transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING

from roundup.errors import StoreError
from roundup.models import Entry
from roundup.schema import MIGRATIONS, SCHEMA_VERSION, statements

# Imported where link checks are read: the parse workers import this module for
# entry_rows, and need neither the link checker nor its HTTP client.
if TYPE_CHECKING:
    from roundup.linkcheck import LinkResult


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about one configured feed between runs."""

    key: str
    url: str  # where to fetch next: the configured URL, or where a permanent redirect led
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    gone: bool = False
    failures: int = 0  # consecutive
    last_error: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    moved_to: str | None = None


Row = tuple[object, ...]  # one entry as the values of the entries table's columns


@dataclass(frozen=True, slots=True)
class EntryRows:
    """Entries as the store writes them (see :func:`entry_rows`), made in the process that
    parsed them: the one that runs the network and the store then only looks up known ids
    and writes the rows."""

    rows: tuple[Row, ...]


def entry_rows(entries: Iterable[Entry]) -> EntryRows:
    """``entries`` in the form :meth:`Store.record_feeds` writes them, their times as text."""
    stamps: dict[datetime, str] = {}  # a feed's entries share their first-seen time
    rows = [
        _entry_row(
            entry,
            published=_stamp(entry.published, stamps),
            first_seen=_stamp(entry.first_seen, stamps),
        )
        for entry in entries
    ]
    return EntryRows(tuple(rows))


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """The outcome of one feed's fetch and parse, as the store records it."""

    key: str
    url: str
    ok: bool
    gone: bool = False
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    moved_to: str | None = None
    # None: nothing parsed (304, unchanged, failed)
    entries: Sequence[Entry] | EntryRows | None = None


SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """One address's status as the store records it (``roundup subscribers``)."""

    address: str  # lower-cased bare address
    status: str  # SUBSCRIBED or UNSUBSCRIBED
    at: datetime  # when it got this status
    how: str = ""  # one-click, page, import, command


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """What the store knows of one week's issue."""

    week: str
    number: int | None  # given when the send starts; None before (drafts show a provisional one)
    approved_by: str | None = None
    approved_at: datetime | None = None
    approved_hash: str | None = None  # the sha256 of the email as approved
    sent_at: datetime | None = None
    briefed_at: datetime | None = None  # when the editors' briefing went out
    outcome: str | None = None  # what a run decided at send time, when it did not just send
    outcome_at: datetime | None = None

    @property
    def sent(self) -> bool:
        """The "was it sent" rule: every recipient was accepted or refused."""
        return self.sent_at is not None

    def approves(self, digest: str) -> bool:
        """The approval rule: approved, and for exactly the email whose sha256 is ``digest``."""
        return self.approved_hash is not None and self.approved_hash == digest


@dataclass(frozen=True, slots=True)
class Publication:
    """One issue on the web copy: when it was added, and when the site holding it last
    reached its readers (None: not yet, ``error`` says why)."""

    week: str
    requested_at: datetime
    published_at: datetime | None = None
    error: str | None = None

    @property
    def pending(self) -> bool:
        """True until a site holding this issue was published."""
        return self.published_at is None


class Store:
    """A connection to the state file. Open with :meth:`open`; use as a context manager."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and migrating as needed) the state file at ``path``."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL still never corrupts the file; a power cut may only lose the
            # last commits, which the next run fetches again. FULL costs one fsync per feed.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(state_failure(path, exc, "cannot open the state file")) from None
        store = cls(db, path)
        try:
            store.migrate()
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(state_failure(path, exc, "cannot update the state file")) from None
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        """Close; an SQLite failure inside the block becomes one :class:`StoreError` line
        (each write was a transaction, so the file holds whole feeds, or nothing new)."""
        self.close()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(state_failure(self.path, exc, "a write failed")) from None

    # --- schema ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        row = self.db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def migrate(self) -> None:
        """Bring the schema up to :data:`SCHEMA_VERSION`, one transaction per step."""
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer roundup (schema {current}, this one knows "
                f"{SCHEMA_VERSION}); upgrade roundup"
            )
        for number in range(current, SCHEMA_VERSION):
            with self.transaction():
                for statement in statements(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of writes: all of it lands, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- feeds -------------------------------------------------------------------------

    def feed_states(self) -> dict[str, FeedState]:
        rows = self.db.execute(
            "SELECT key, url, title, etag, last_modified, body_hash, gone, failures, last_error,"
            " last_attempt, last_success, moved_to FROM feeds"
        )
        return {row[0]: _feed_state(row) for row in rows}

    def feed_state(self, key: str) -> FeedState | None:
        return self.feed_states().get(key)

    def record_feed(self, update: FeedUpdate, *, now: datetime) -> int:
        """Record one feed's outcome and upsert its entries; returns how many are new."""
        return self.record_feeds([update], now=now)[0]

    def record_feeds(self, updates: Sequence[FeedUpdate], *, now: datetime) -> list[int]:
        """Record several feeds' outcomes in one transaction, each as :meth:`record_feed`
        does; returns how many entries are new for each. A commit writes every page the
        feed's entries touched in three indexes: one commit per feed cost as much CPU as
        all the inserts, so a large fetch writes its feeds a few dozen at a time."""
        stamp = _iso(now)
        with self.transaction():
            return [self._record(update, stamp) for update in updates]

    def _record(self, update: FeedUpdate, stamp: str) -> int:
        """One feed's part of :meth:`record_feeds` (inside its transaction)."""
        self._ensure_feed(update.key, update.url)
        if update.ok:
            self.db.execute(
                "UPDATE feeds SET url = ?, title = COALESCE(?, title),"
                " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
                " body_hash = COALESCE(?, body_hash), gone = 0, failures = 0,"
                " last_error = NULL, last_attempt = ?, last_success = ?,"
                " moved_to = COALESCE(?, moved_to) WHERE key = ?",
                (
                    update.moved_to or update.url,
                    update.title,
                    update.etag,
                    update.last_modified,
                    update.body_hash,
                    stamp,
                    stamp,
                    update.moved_to,
                    update.key,
                ),
            )
        else:
            self.db.execute(
                "UPDATE feeds SET failures = failures + 1, last_error = ?, last_attempt = ?,"
                " gone = ? WHERE key = ?",
                (update.error, stamp, int(update.gone), update.key),
            )
        return self._upsert_entries(update.entries or ())

    def _changed(self) -> None:
        """Count one more change to what drafts are made of (inside a transaction)."""
        self.db.execute("UPDATE marks SET value = value + 1 WHERE name = 'revision'")

    @property
    def revision(self) -> int:
        """A number that grows with every write to entries, issues or sent links."""
        return int(self.mark("revision") or 0)

    def mark(self, name: str) -> str | None:
        """The bookkeeping value called ``name``, as text; None when never set."""
        row = self.db.execute("SELECT value FROM marks WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_mark(self, name: str, value: str) -> None:
        """Set a bookkeeping value (never "revision", which only :meth:`_changed` moves)."""
        if name == "revision":
            raise ValueError("the revision is counted by the store itself")
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO marks (name, value) VALUES (?, ?)", (name, value)
            )

    def prune(self, *, before: datetime) -> int:
        """Delete the entries published and first seen before ``before`` whose link no
        issue used; returns how many. Entries of sent issues stay, for ``explain`` and for
        the "already sent" rule."""
        stamp = _iso(before)
        with self.transaction():
            deleted = self.db.execute(
                "DELETE FROM entries WHERE published < ? AND first_seen < ?"
                " AND canonical_url NOT IN (SELECT canonical_url FROM sent_links)",
                (stamp, stamp),
            ).rowcount
            if deleted:
                self._changed()
        return int(deleted)

    def compact(self) -> bool:
        """Give the space of deleted rows back to the file system (``VACUUM``); False when
        another connection is reading, in which case the space is reused by later writes."""
        try:
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            return False
        return True

    def free_pages(self) -> tuple[int, int]:
        """(unused pages, all pages) of the file: what :meth:`compact` would give back."""
        free = int(self.db.execute("PRAGMA freelist_count").fetchone()[0])
        return free, int(self.db.execute("PRAGMA page_count").fetchone()[0])

    def reset_feed(self, key: str, url: str) -> None:
        """Forget a feed's validators and redirect, e.g. after its URL changed in feeds.yaml."""
        with self.transaction():
            self.db.execute(
                "UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, body_hash = NULL,"
                " moved_to = NULL, gone = 0 WHERE key = ?",
                (url, key),
            )

    def _ensure_feed(self, key: str, url: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO feeds (key, url) VALUES (?, ?)", (key, url))

    # --- entries -----------------------------------------------------------------------

    def _upsert_entries(self, entries: Sequence[Entry] | EntryRows | None) -> int:
        """Insert new entries and replace known ones; returns how many were new.

        An undated entry keeps the time it was first seen, or it would drift into every
        later week's window; every known entry keeps its first-seen time. What the store
        holds is read in one query per chunk of ids, and the rows written in one
        executemany: two statements per entry cost more than parsing the entry did.
        """
        rows = entries.rows if isinstance(entries, EntryRows) else entry_rows(entries or ()).rows
        if not rows:
            return 0
        held = self._held_times(rows)
        if not held and len({(row[0], row[1]) for row in rows}) == len(rows):
            # every entry new and none repeated (a feed's first fetch): written as they are
            self.db.executemany(_UPSERT_ENTRY, rows)
            self._changed()
            return len(rows)
        kept: list[Row] = []
        new = 0
        for row in rows:
            key = (str(row[0]), str(row[1]))
            known = held.get(key)
            if known is None:
                new += 1
            else:
                # Times are written back as this store writes them (older rows' too).
                published = row[6]
                if not row[7] and not known[2] and known[1]:
                    published = _reiso(known[1])
                row = (*row[:6], published, *row[7:13], _reiso(known[0]))
            # A feed that repeats an id within one fetch: the later copy replaces the earlier,
            # which is by then a known entry, as when rows were written one at a time.
            held[key] = (str(row[13]), str(row[6]), bool(row[7]))
            kept.append(row)
        self.db.executemany(_UPSERT_ENTRY, kept)
        self._changed()
        return new

    def _held_times(self, rows: Sequence[Row]) -> dict[tuple[str, str], _HeldTimes]:
        """(feed, id) → (first_seen, published, dated) of the stored ones among ``rows``."""
        held: dict[tuple[str, str], _HeldTimes] = {}
        ids_by_feed: dict[str, list[str]] = {}
        for row in rows:
            ids_by_feed.setdefault(str(row[0]), []).append(str(row[1]))
        for feed, ids in ids_by_feed.items():
            if self.db.execute(_ANY_ENTRY, (feed,)).fetchone() is None:
                continue  # a feed's first fetch: nothing to look up
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start : start + _IDS_PER_QUERY]
                # Padded to a multiple of 16, repeating the last id: the connection then
                # reuses a few prepared statements instead of compiling one per size.
                size = -(-len(chunk) // 16) * 16
                found = self.db.execute(
                    _select_held(size), (feed, *chunk, *chunk[-1:] * (size - len(chunk)))
                )
                for entry_id, first_seen, published, dated in found:
                    held[(feed, entry_id)] = (first_seen, published, bool(dated))
        return held

    def entries_between(self, start: datetime, end: datetime) -> list[Entry]:
        """Entries published in ``[start, end)``, oldest first."""
        rows = self.db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE published >= ? AND published < ?"
            " ORDER BY published, feed, id",
            (_iso(start), _iso(end)),
        )
        return [_entry(row) for row in rows]

    def entries_for(self, feed: str) -> list[Entry]:
        rows = self.db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE feed = ? ORDER BY published, id", (feed,)
        )
        return [_entry(row) for row in rows]

    def entries_with_url(self, canonical_url: str) -> list[Entry]:
        """Every stored entry whose canonical URL is ``canonical_url``, oldest first."""
        rows = self.db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE canonical_url = ?"
            " ORDER BY published, feed",
            (canonical_url,),
        )
        return [_entry(row) for row in rows]

    def count_entries(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    # --- issues, sent links and deliveries -----------------------------------------------

    def issue(self, week: str) -> IssueRecord | None:
        row = self.db.execute(
            "SELECT week, number, approved_by, approved_at, approved_hash, sent_at, briefed_at,"
            " outcome, outcome_at FROM issues WHERE week = ?",
            (week,),
        ).fetchone()
        if row is None:
            return None
        return IssueRecord(
            row[0],
            row[1],
            row[2],
            _dt(row[3]),
            row[4],
            _dt(row[5]),
            _dt(row[6]),
            row[7],
            _dt(row[8]),
        )

    def issues(self) -> list[IssueRecord]:
        """Every issue the store knows: numbered ones in number order, then the others by week."""
        weeks = [
            row[0]
            for row in self.db.execute(
                "SELECT week FROM issues ORDER BY number IS NULL, number, week"
            )
        ]
        return [record for week in weeks if (record := self.issue(week)) is not None]

    def ensure_issue(self, week: str) -> None:
        """Make ``week``'s row (without a number) if there is none, to record things on it."""
        with self.transaction():
            if self.db.execute("INSERT OR IGNORE INTO issues (week) VALUES (?)", (week,)).rowcount:
                self._changed()

    def next_number(self, *, first: int) -> int:
        """The number the next issue to be sent gets: one more than the highest given."""
        top = self.db.execute("SELECT MAX(number) FROM issues").fetchone()[0]
        return first if top is None else max(int(top) + 1, first)

    def issue_number(self, week: str, *, first: int) -> int:
        """The number of ``week``'s issue, giving it the next one if it has none yet.

        Called when the issue's send starts: numbers are never given to drafts.
        """
        with self.transaction():
            row = self.db.execute("SELECT number FROM issues WHERE week = ?", (week,)).fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
            number = self.next_number(first=first)
            self.db.execute(
                "INSERT INTO issues (week, number) VALUES (?, ?)"
                " ON CONFLICT (week) DO UPDATE SET number = excluded.number",
                (week, number),
            )
            self._changed()
            return number

    def set_outcome(self, week: str, outcome: str | None, *, at: datetime) -> None:
        """Record what a run decided for ``week`` at send time (None: forget it)."""
        self.ensure_issue(week)
        with self.transaction():
            self.db.execute(
                "UPDATE issues SET outcome = ?, outcome_at = ? WHERE week = ?",
                (outcome, _iso(at) if outcome else None, week),
            )
            self._changed()

    def mark_briefed(self, week: str, *, at: datetime) -> None:
        """Record that the editors' briefing for ``week`` went out."""
        self.ensure_issue(week)
        with self.transaction():
            self.db.execute("UPDATE issues SET briefed_at = ? WHERE week = ?", (_iso(at), week))

    def feeds_first_seen(self) -> dict[str, datetime]:
        """Feed key → when its first stored entry was seen: how long roundup has read it."""
        rows = self.db.execute("SELECT feed, MIN(first_seen) FROM entries GROUP BY feed")
        return {str(feed): datetime.fromisoformat(seen) for feed, seen in rows}

    def set_approval(
        self, week: str, *, by: str | None, at: datetime | None, digest: str | None
    ) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE issues SET approved_by = ?, approved_at = ?, approved_hash = ?"
                " WHERE week = ?",
                (by, _iso(at) if at else None, digest, week),
            )
            self._changed()

    def mark_sent(self, week: str, urls: Iterable[str], *, at: datetime) -> None:
        """Record the issue as sent and its links as used, so later issues skip them.

        An issue that has no number yet (sent by a caller that did not give it one) gets
        the next one: every sent issue has a number.
        """
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO issues (week) VALUES (?)", (week,))
            self.db.execute(
                "UPDATE issues SET sent_at = ?, number = COALESCE(number,"
                " (SELECT COALESCE(MAX(number), 0) + 1 FROM issues)) WHERE week = ?",
                (_iso(at), week),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO sent_links (canonical_url, week) VALUES (?, ?)",
                [(url, week) for url in urls if url],
            )
            self._changed()

    def sent_urls(self, *, excluding: str | None = None) -> dict[str, str]:
        """Canonical URLs sent in other issues, mapped to "issue N (week)"."""
        rows = self.db.execute(
            "SELECT s.canonical_url, s.week, i.number FROM sent_links s"
            " LEFT JOIN issues i ON i.week = s.week"
        )
        return {
            url: f"issue {number} ({week})" if number is not None else week
            for url, week, number in rows
            if week != excluding
        }

    # --- the web copy ----------------------------------------------------------------------

    def add_publication(self, week: str, *, at: datetime) -> bool:
        """Put ``week``'s issue on the web copy (pending until published); False if it is
        already there."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO publications (week, requested_at) VALUES (?, ?)",
                (week, _iso(at)),
            )
        return cursor.rowcount > 0

    def publications(self) -> list[Publication]:
        """Every issue on the web copy, oldest request first."""
        rows = self.db.execute(
            "SELECT week, requested_at, published_at, error FROM publications"
            " ORDER BY requested_at, week"
        )
        return [
            Publication(week, _dt(requested) or datetime.min.replace(tzinfo=UTC), _dt(done), error)
            for week, requested, done, error in rows
        ]

    def record_publication(
        self, weeks: Iterable[str], *, at: datetime, error: str | None = None
    ) -> None:
        """Record an attempt to publish ``weeks``: published at ``at``, or failed with
        ``error`` (a week published before stays published)."""
        with self.transaction():
            if error is None:
                self.db.executemany(
                    "UPDATE publications SET published_at = ?, error = NULL WHERE week = ?",
                    [(_iso(at), week) for week in weeks],
                )
            else:
                self.db.executemany(
                    "UPDATE publications SET error = ? WHERE week = ?",
                    [(error, week) for week in weeks],
                )

    def deliveries(self, week: str) -> dict[str, tuple[str, str]]:
        """Recipient → (status, detail) for ``week``: ``accepted``, ``refused``,
        ``in_flight`` or ``uncertain`` (the ledger's states, see :mod:`roundup.send`)."""
        rows = self.db.execute(
            "SELECT recipient, status, detail FROM deliveries WHERE week = ?", (week,)
        )
        return {recipient: (status, detail) for recipient, status, detail in rows}

    def record_delivery(
        self, week: str, recipients: Iterable[str], *, status: str, detail: str, at: datetime
    ) -> None:
        """Set the recipients' ledger rows, committed before this returns."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO deliveries (week, recipient, status, detail, at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(week, r, status, detail, _iso(at)) for r in recipients],
            )

    def forget_deliveries(self, week: str, recipients: Iterable[str]) -> None:
        """Remove the recipients' ledger rows: nobody has their copy, so it is due again."""
        with self.transaction():
            self.db.executemany(
                "DELETE FROM deliveries WHERE week = ? AND recipient = ?",
                [(week, r) for r in recipients],
            )

    def change_deliveries(self, week: str, *, status: str, to: str, detail: str) -> list[str]:
        """Move every row of ``week`` in ``status`` to ``to`` (keeping the time each was
        written); returns their recipients."""
        with self.transaction():
            rows = self.db.execute(
                "SELECT recipient FROM deliveries WHERE week = ? AND status = ? ORDER BY at",
                (week, status),
            ).fetchall()
            self.db.execute(
                "UPDATE deliveries SET status = ?, detail = ? WHERE week = ? AND status = ?",
                (to, detail, week, status),
            )
        return [str(row[0]) for row in rows]

    def clear_deliveries(self, week: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM deliveries WHERE week = ?", (week,))

    # --- link checks -----------------------------------------------------------------------

    def link_checks(self, urls: Iterable[str]) -> dict[str, LinkResult]:
        """The last check kept for each of ``urls`` that has one, by URL."""
        from roundup.linkcheck import LinkResult

        found: dict[str, LinkResult] = {}
        wanted = list(dict.fromkeys(urls))
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            rows = self.db.execute(
                "SELECT url, status, code, final_url, reason, checked_at FROM link_checks"
                f" WHERE url IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            for url, status, code, final_url, reason, checked_at in rows:
                found[url] = LinkResult(url, status, code, final_url, reason, _dt(checked_at))
        return found

    def keep_link_checks(self, results: Iterable[LinkResult]) -> None:
        """Remember each result (replacing the last one kept for its URL)."""
        rows = [
            (r.url, r.status, r.code, r.final_url, r.reason, _iso(r.checked_at))
            for r in results
            if r.checked_at is not None
        ]
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO link_checks"
                " (url, status, code, final_url, reason, checked_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    # --- subscribers' status: the suppression list ---------------------------------------

    def subscriber_statuses(self) -> dict[str, StatusRecord]:
        """Lower-cased address → its recorded status, for every address that has one."""
        rows = self.db.execute(
            "SELECT address, status, at, how FROM subscriber_status ORDER BY address"
        )
        return {row[0]: StatusRecord(row[0], row[1], _dt_required(row[2]), row[3]) for row in rows}

    def subscriber_status(self, address: str) -> StatusRecord | None:
        """The recorded status of ``address`` (any case), or None."""
        row = self.db.execute(
            "SELECT address, status, at, how FROM subscriber_status WHERE address = ?",
            (address.strip().lower(),),
        ).fetchone()
        return None if row is None else StatusRecord(row[0], row[1], _dt_required(row[2]), row[3])

    def unsubscribed(self) -> set[str]:
        """The suppression list: every lower-cased address that unsubscribed."""
        rows = self.db.execute(
            "SELECT address FROM subscriber_status WHERE status = ?", (UNSUBSCRIBED,)
        )
        return {str(row[0]) for row in rows}

    def is_unsubscribed(self, address: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM subscriber_status WHERE address = ? AND status = ?",
            (address.strip().lower(), UNSUBSCRIBED),
        ).fetchone()
        return row is not None

    def set_statuses(self, records: Iterable[StatusRecord], *, keep_earlier: bool = True) -> int:
        """Record each status in one transaction; returns how many rows changed.

        With ``keep_earlier``, an address already in the same status keeps its row (and so
        the time it first got there): unsubscribing twice is one unsubscribe.
        """
        changed = 0
        with self.transaction():
            for record in records:
                address = record.address.strip().lower()
                row = self.db.execute(
                    "SELECT status FROM subscriber_status WHERE address = ?", (address,)
                ).fetchone()
                if keep_earlier and row is not None and row[0] == record.status:
                    continue
                self.db.execute(
                    "INSERT OR REPLACE INTO subscriber_status (address, status, at, how)"
                    " VALUES (?, ?, ?, ?)",
                    (address, record.status, _iso(record.at), record.how),
                )
                changed += 1
        return changed


# --- rows -----------------------------------------------------------------------------


def _feed_state(row: Sequence[object]) -> FeedState:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return FeedState(
        key=str(row[0]),
        url=str(row[1]),
        title=str(row[2]),
        etag=text(row[3]),
        last_modified=text(row[4]),
        body_hash=text(row[5]),
        gone=bool(row[6]),
        failures=int(str(row[7])),
        last_error=text(row[8]),
        last_attempt=_dt(text(row[9])),
        last_success=_dt(text(row[10])),
        moved_to=text(row[11]),
    )


def state_failure(path: Path, exc: BaseException, what: str) -> str:
    """One line for a state file that cannot be used: what happened and what to do."""
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    errno = getattr(exc, "errno", None)
    folder = path.parent
    try:
        free = shutil.disk_usage(folder if folder.exists() else Path.cwd()).free
    except OSError:
        free = None
    if errno == 28 or "full" in reason or (free is not None and free < 1024 * 1024):
        space = "" if free is None else f" ({free // 1024:,} KB free)"
        return (
            f"{path}: {what}: the disk is full{space}; free some space and run roundup again"
            " (the state file is as the last complete run left it)"
        )
    if errno in (13, 30) or "readonly" in reason or "read-only" in reason.lower():
        return (
            f"{path}: {what}: {folder} is not writable ({reason}); make it writable by the"
            " user running roundup, or point state: in feeds.yaml elsewhere"
        )
    return f"{path}: {what} ({reason})"


# --- rows: entries to and from SQLite rows, times as fixed-width UTC text -------------

_ENTRY_COLUMNS = (
    "feed, id, title, link, canonical_url, author, published, dated, summary,"
    " summary_base, image, tags, source, first_seen"
)
# New rows and known ones alike: a known row is replaced whole, its times chosen beforehand.
_UPSERT_ENTRY = f"INSERT OR REPLACE INTO entries ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_IDS_PER_QUERY = 512  # bound parameters per query: far below SQLite's limit (32,766)
_ANY_ENTRY = "SELECT 1 FROM entries WHERE feed = ? LIMIT 1"


@functools.lru_cache(maxsize=_IDS_PER_QUERY // 16)
def _select_held(size: int) -> str:
    ids = ", ".join("?" * size)
    return f"SELECT id, first_seen, published, dated FROM entries WHERE feed = ? AND id IN ({ids})"


_HeldTimes = tuple[str, str, bool]  # first_seen and published as stored, and dated


def _iso(moment: datetime) -> str:
    """UTC, second precision, fixed width: sorts as text in the same order as in time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")  # "2015-08-10T14:00:00+00:00"


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _dt_required(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _entry_row(entry: Entry, *, published: str, first_seen: str) -> tuple[object, ...]:
    """An entry as the values of _ENTRY_COLUMNS, with its two times as they are written."""
    return (
        entry.feed,
        entry.id,
        entry.title,
        entry.link,
        entry.canonical_url,
        entry.author,
        published,
        int(entry.dated),
        entry.summary,
        entry.summary_base,
        entry.image,
        _tags_json(entry.tags),
        entry.source,
        first_seen,
    )


def _tags_json(tags: tuple[str, ...]) -> str:
    """``json.dumps(list(tags), ensure_ascii=False)``, without building an encoder per row."""
    return f"[{', '.join(map(encode_basestring, tags))}]"


def _stamp(moment: datetime, stamps: dict[datetime, str]) -> str:
    """``_iso(moment)``, remembered in ``stamps``: one fetch's entries share many times."""
    text = stamps.get(moment)
    if text is None:
        text = stamps[moment] = _iso(moment)
    return text


def _reiso(text: str) -> str:
    return _iso(datetime.fromisoformat(text))


def _entry(row: Sequence[object]) -> Entry:
    return Entry(
        feed=str(row[0]),
        id=str(row[1]),
        title=str(row[2]),
        link=str(row[3]),
        canonical_url=str(row[4]),
        author=str(row[5]),
        published=datetime.fromisoformat(str(row[6])),
        dated=bool(row[7]),
        summary=str(row[8]),
        summary_base=str(row[9]),
        image=None if row[10] is None else str(row[10]),
        tags=tuple(json.loads(str(row[11]))),
        source=str(row[12]),
        first_seen=datetime.fromisoformat(str(row[13])),
    )
