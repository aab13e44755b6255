"""The state file's migrations: a store written by an older roundup keeps working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from roundup.schema import MIGRATIONS, SCHEMA_VERSION
from roundup.store import Store

T0 = datetime(2015, 8, 10, 12, 0, tzinfo=UTC)


def test_version_2_entries_keep_their_summary(tmp_path: Path) -> None:
    """Entries stored sanitised (schema 2) read back with the same HTML and text."""
    path = tmp_path / "roundup.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        db.executescript(script)
    db.execute(
        "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "https://a.example/feed",
            "id-1",
            "Title",
            "https://a.example/1",
            "https://a.example/1",
            "Ann",
            "2015-08-10T12:00:00+00:00",
            1,
            '<p>Old <a href="https://a.example/x" rel="noopener noreferrer">link</a></p>',
            "Old link",
            None,
            '["policy"]',
            "A",
            "2015-08-10T12:00:00+00:00",
        ),
    )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()

    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
        (entry,) = store.entries_for("https://a.example/feed")
    assert entry.summary_html == (
        '<p>Old <a href="https://a.example/x" rel="noopener noreferrer">link</a></p>'
    )
    assert entry.summary_text == "Old link"
    assert (entry.title, entry.tags, entry.published) == ("Title", ("policy",), T0)


def test_issues_sent_before_publications_wait_to_be_published(tmp_path: Path) -> None:
    """A store from before the web copy lists its sent issues as pending, so the
    next run publishes them; drafted issues are left out."""
    path = tmp_path / "roundup.sqlite3"
    db = sqlite3.connect(path)
    before = next(n for n, step in enumerate(MIGRATIONS) if "TABLE publications" in step)
    for script in MIGRATIONS[:before]:  # every step before the publications table
        db.executescript(script)
    db.execute(
        "INSERT INTO issues (week, number, sent_at) VALUES ('2015-W32', 1, ?)", (T0.isoformat(),)
    )
    db.execute("INSERT INTO issues (week, number) VALUES ('2015-W33', 2)")
    db.execute(f"PRAGMA user_version = {before}")
    db.commit()
    db.close()

    with Store.open(path) as store:
        (publication,) = store.publications()
        assert (publication.week, publication.requested_at, publication.pending) == (
            "2015-W32",
            T0,
            True,
        )
        assert store.add_publication("2015-W33", at=T0) is True
        assert store.add_publication("2015-W33", at=T0) is False  # already on the web copy
        store.record_publication(["2015-W32", "2015-W33"], at=T0, error="upload failed")
        assert [(p.week, p.pending, p.error) for p in store.publications()] == [
            ("2015-W32", True, "upload failed"),
            ("2015-W33", True, "upload failed"),
        ]
        store.record_publication(["2015-W32", "2015-W33"], at=T0)
        assert [(p.published_at, p.error) for p in store.publications()] == [(T0, None)] * 2
