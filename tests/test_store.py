"""The SQLite state file: round trip, upsert, migrations, interrupted runs, the run lock."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roundup.errors import ExitCode, StoreError, StoreLocked
from roundup.lock import locked
from roundup.models import Entry
from roundup.schema import MIGRATIONS, SCHEMA_VERSION
from roundup.store import FeedUpdate, Store
from roundup.testing import make_entry

T0 = datetime(2015, 8, 10, 12, 0, tzinfo=UTC)


def entry(n: int, *, feed: str = "https://a.example/feed", **changes: object) -> Entry:
    return make_entry(
        **{
            "feed": feed,
            "id": f"id-{n}",
            "title": f"Title {n}",
            "link": f"https://a.example/{n}",
            "canonical_url": f"https://a.example/{n}",
            "author": "Ann",
            "published": T0 + timedelta(hours=n),
            "summary_html": f"<p>Summary {n}</p>",
            "summary_text": f"Summary {n}",
            "tags": ("policy", "é"),
            "source": "A",
            "first_seen": T0,
            **changes,
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "state" / "roundup.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def ok(key: str, entries: list[Entry], **kw: object) -> FeedUpdate:
    return FeedUpdate(key=key, url=key, ok=True, entries=entries, **kw)  # type: ignore[arg-type]


def test_entries_round_trip(store: Store) -> None:
    """What goes in comes back equal, with aware UTC datetimes."""
    items = [entry(1), entry(2, image="https://a.example/i.png", dated=False)]
    assert store.record_feed(ok(items[0].feed, items), now=T0) == 2
    assert store.entries_between(T0, T0 + timedelta(days=1)) == items


def test_window_query_is_half_open(store: Store) -> None:
    """entries_between includes the start and excludes the end."""
    store.record_feed(ok("f", [entry(0, feed="f"), entry(5, feed="f")]), now=T0)
    got = store.entries_between(T0, T0 + timedelta(hours=5))
    assert [e.id for e in got] == ["id-0"]


def test_upsert_keeps_first_seen_and_replaces_content(store: Store) -> None:
    """A re-fetched entry updates its content but keeps when it was first seen."""
    store.record_feed(ok("f", [entry(1, feed="f")]), now=T0)
    later = T0 + timedelta(days=2)
    edited = entry(1, feed="f", title="Corrected title", first_seen=later)
    assert store.record_feed(ok("f", [edited]), now=later) == 0
    (got,) = store.entries_for("f")
    assert got.title == "Corrected title"
    assert got.first_seen == T0


def test_undated_entry_keeps_its_first_seen_time(store: Store) -> None:
    """An entry without a date does not drift forward to each fetch time."""
    store.record_feed(ok("f", [entry(1, feed="f", dated=False, published=T0)]), now=T0)
    later = T0 + timedelta(days=9)
    store.record_feed(
        ok("f", [entry(1, feed="f", dated=False, published=later, first_seen=later)]), now=later
    )
    (got,) = store.entries_for("f")
    assert got.published == T0 and got.first_seen == T0


def test_feed_health_is_tracked(store: Store) -> None:
    """Consecutive failures count up, the last error is kept, a success resets both."""
    fail = FeedUpdate(key="f", url="f", ok=False, error="HTTP 500")
    store.record_feed(fail, now=T0)
    store.record_feed(fail, now=T0 + timedelta(hours=1))
    state = store.feed_state("f")
    assert state is not None
    assert (state.failures, state.last_error, state.last_success) == (2, "HTTP 500", None)
    store.record_feed(ok("f", [], etag='"v1"', body_hash="abc"), now=T0 + timedelta(hours=2))
    state = store.feed_state("f")
    assert state is not None
    assert (state.failures, state.last_error, state.etag, state.body_hash) == (
        0,
        None,
        '"v1"',
        "abc",
    )
    assert state.last_success == T0 + timedelta(hours=2)


def test_gone_and_moved_are_recorded(store: Store) -> None:
    """410 marks a feed gone; a permanent redirect changes where it is fetched next."""
    store.record_feed(ok("a", [], moved_to="https://new.example/feed"), now=T0)
    store.record_feed(FeedUpdate(key="b", url="b", ok=False, gone=True, error="HTTP 410"), now=T0)
    states = store.feed_states()
    assert states["a"].url == "https://new.example/feed"
    assert states["b"].gone


def test_interrupted_feed_write_leaves_store_as_before(store: Store) -> None:
    """A failure half-way through one feed's entries rolls back that whole feed."""
    store.record_feed(ok("f", [entry(1, feed="f")]), now=T0)
    poisoned = [entry(2, feed="f"), replace(entry(3, feed="f"), published=datetime(2015, 1, 1))]
    with pytest.raises(ValueError, match="naive datetime"):
        store.record_feed(ok("f", poisoned), now=T0)
    assert [e.id for e in store.entries_for("f")] == ["id-1"]
    state = store.feed_state("f")
    assert state is not None and state.last_success == T0


def test_several_feeds_are_recorded_in_one_write(store: Store) -> None:
    """record_feeds counts each feed's new entries as record_feed would, failures included."""
    store.record_feed(ok("a", [entry(1, feed="a")]), now=T0)
    counts = store.record_feeds(
        [
            ok("a", [entry(1, feed="a"), entry(2, feed="a")], etag='"a2"'),
            FeedUpdate(key="b", url="b", ok=False, error="HTTP 500"),
            ok("c", [entry(n, feed="c") for n in range(3)]),
            ok("a", [entry(2, feed="a"), entry(3, feed="a")]),  # the same feed again: 2 known
        ],
        now=T0 + timedelta(hours=1),
    )
    assert counts == [1, 0, 3, 1]
    assert [e.id for e in store.entries_for("a")] == ["id-1", "id-2", "id-3"]
    states = store.feed_states()
    assert (states["a"].etag, states["b"].failures, states["b"].last_error) == (
        '"a2"',
        1,
        "HTTP 500",
    )
    assert store.record_feeds([], now=T0) == []


@pytest.mark.parametrize("stored_before", [False, True])
def test_an_id_repeated_in_one_fetch_is_one_entry(store: Store, stored_before: bool) -> None:
    """A feed that lists an id twice: one entry, counted new once (or not at all when it
    was stored before), the later copy's fields kept, its first-seen time the first's."""
    if stored_before:
        store.record_feed(ok("f", [entry(1, feed="f")]), now=T0)
    later = T0 + timedelta(days=1)
    copies = [entry(1, feed="f", first_seen=later), entry(1, feed="f", title="Edited")]
    assert store.record_feed(ok("f", copies), now=later) == (0 if stored_before else 1)
    [stored] = store.entries_for("f")
    assert (stored.title, stored.first_seen) == ("Edited", T0 if stored_before else later)


def test_a_failed_write_of_several_feeds_leaves_none_of_them(store: Store) -> None:
    """One transaction: a failure in the last feed rolls back the feeds before it too."""
    poisoned = replace(entry(3, feed="b"), published=datetime(2015, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"):
        store.record_feeds([ok("a", [entry(1, feed="a")]), ok("b", [poisoned])], now=T0)
    assert (store.feed_states(), store.count_entries()) == ({}, 0)


def test_migrates_from_the_first_schema(tmp_path: Path) -> None:
    """A state file written by schema 1 is brought up to date and keeps its rows."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO feeds (key, url) VALUES ('f', 'https://a.example/feed')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
        assert store.feed_state("f") is not None
        assert store.issue_number("2015-W33", first=1) == 1


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    """A state file from a newer roundup is not touched."""
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="written by a newer roundup"):
        Store.open(path)


def test_issue_numbers_are_assigned_once(store: Store) -> None:
    """Each week gets the next number on first use, and keeps it."""
    assert store.issue_number("2015-W33", first=12) == 12
    assert store.issue_number("2015-W34", first=12) == 13
    assert store.issue_number("2015-W33", first=12) == 12


def test_sent_links_and_ledger(store: Store) -> None:
    """Sent links are remembered per week; deliveries per recipient."""
    store.issue_number("2015-W33", first=1)
    store.mark_sent("2015-W33", ["https://a.example/1", ""], at=T0)
    assert store.sent_urls() == {"https://a.example/1": "issue 1 (2015-W33)"}
    assert store.sent_urls(excluding="2015-W33") == {}
    store.record_delivery("2015-W33", ["a@example.org"], status="accepted", detail="250", at=T0)
    assert store.deliveries("2015-W33") == {"a@example.org": ("accepted", "250")}
    record = store.issue("2015-W33")
    assert record is not None and record.sent_at == T0


def test_second_run_waits_then_reports_the_lock(tmp_path: Path) -> None:
    """While one run holds the lock, another gives up with StoreLocked and its exit code."""
    state = tmp_path / "state.sqlite3"
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with locked(state):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    waits: list[float] = []
    try:
        with pytest.raises(StoreLocked) as caught, locked(state, wait=0.3, sleep=waits.append):
            pass
    finally:
        release.set()
        thread.join()
    assert "another roundup run is in progress" in str(caught.value)
    assert caught.value.exit_code == ExitCode.LOCKED
    assert waits, "it waited before giving up"
    with locked(state, wait=0):
        pass  # free again once the first run is done


def test_canonical_url_lookups_use_the_index(store: Store) -> None:
    """A link's copies are found through the index, not by reading every row."""
    store.record_feed(ok("https://a.example/feed", [entry(1), entry(2)]), now=T0)
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM entries WHERE canonical_url = ?", ("x",)
    ).fetchall()
    assert any("entries_canonical_url" in str(row[-1]) for row in plan)
    assert [e.id for e in store.entries_with_url("https://a.example/2")] == ["id-2"]


def test_revision_counts_the_writes_drafts_depend_on(store: Store) -> None:
    """Entries, issue numbers, approvals and sends move the revision; feed health does not."""
    seen = [store.revision]
    store.record_feed(FeedUpdate("k", "k", ok=True), now=T0)  # a 304: nothing parsed
    seen.append(store.revision)
    store.record_feed(ok("k", [entry(1, feed="k")]), now=T0)
    seen.append(store.revision)
    store.issue_number("2015-W33", first=1)
    store.issue_number("2015-W33", first=1)  # already assigned: nothing written
    seen.append(store.revision)
    store.set_approval("2015-W33", by="ed", at=T0, digest="d")
    seen.append(store.revision)
    store.mark_sent("2015-W33", ["https://a.example/1"], at=T0)
    seen.append(store.revision)
    assert seen == [0, 0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="counted by the store"):
        store.set_mark("revision", "9")
    store.set_mark("rendered:2015-W33", "abc")
    assert (store.mark("rendered:2015-W33"), store.mark("nothing"), store.revision) == (
        "abc",
        None,
        4,
    )


def test_prune_keeps_recent_entries_and_those_an_issue_used(tmp_path: Path) -> None:
    """Old entries no issue used are deleted; the file shrinks once compacted."""
    path = tmp_path / "state.sqlite3"
    with Store.open(path) as store:
        old = [entry(n, summary_text="x" * 2000, first_seen=T0) for n in range(400)]
        store.record_feed(ok(old[0].feed, old), now=T0)
        recent = entry(9999, feed="b", published=T0 + timedelta(days=400), first_seen=T0)
        store.record_feed(ok("b", [recent]), now=T0)
        store.issue_number("2015-W33", first=1)
        store.mark_sent("2015-W33", ["https://a.example/7"], at=T0)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = path.stat().st_size
        revision = store.revision
        assert store.prune(before=T0 + timedelta(days=30)) == 399
        assert store.revision == revision + 1
        assert store.prune(before=T0 + timedelta(days=30)) == 0
        assert store.revision == revision + 1  # nothing deleted, nothing changed
        kept = {(e.feed, e.id) for e in store.entries_between(T0, T0 + timedelta(days=999))}
        assert kept == {(old[7].feed, "id-7"), ("b", "id-9999")}
        free, pages = store.free_pages()
        assert free > pages // 2
        assert store.compact()
        assert store.free_pages()[0] == 0
    assert path.stat().st_size < before / 4
