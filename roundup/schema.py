"""The state file's schema, as numbered migration steps (``PRAGMA user_version``)."""

from __future__ import annotations

# Each step takes the schema from version N-1 to N; never edit a released step, add one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        gone INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt TEXT,
        last_success TEXT,
        moved_to TEXT
    );
    CREATE TABLE entries (
        feed TEXT NOT NULL,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        author TEXT NOT NULL,
        published TEXT NOT NULL,
        dated INTEGER NOT NULL,
        summary_html TEXT NOT NULL,
        summary_text TEXT NOT NULL,
        image TEXT,
        tags TEXT NOT NULL,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (feed, id)
    );
    CREATE INDEX entries_published ON entries (published);
    """,
    """
    CREATE TABLE issues (
        week TEXT PRIMARY KEY,
        number INTEGER NOT NULL UNIQUE,
        approved_by TEXT,
        approved_at TEXT,
        approved_hash TEXT,
        sent_at TEXT
    );
    CREATE TABLE sent_links (
        canonical_url TEXT PRIMARY KEY,
        week TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        week TEXT NOT NULL,
        recipient TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        PRIMARY KEY (week, recipient)
    );
    """,
    # Entries keep their summary as the feed sent it, with the base its relative URLs
    # resolve against, and are sanitised when read (see roundup.models.Entry). Rows from
    # before keep their sanitised HTML as their summary: sanitising it again changes
    # nothing, and its URLs are already absolute. SQLite before 3.35 cannot drop a column,
    # so the table is rebuilt.
    """
    CREATE TABLE entries_v3 (
        feed TEXT NOT NULL,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        author TEXT NOT NULL,
        published TEXT NOT NULL,
        dated INTEGER NOT NULL,
        summary TEXT NOT NULL,
        summary_base TEXT NOT NULL,
        image TEXT,
        tags TEXT NOT NULL,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (feed, id)
    );
    INSERT INTO entries_v3
        SELECT feed, id, title, link, canonical_url, author, published, dated, summary_html,
            '', image, tags, source, first_seen
        FROM entries;
    DROP TABLE entries;
    ALTER TABLE entries_v3 RENAME TO entries;
    CREATE INDEX entries_published ON entries (published);
    """,
    # The delivery ledger's four states (see roundup.send): a recipient is marked in_flight,
    # committed, right before their copy is handed over, and a row a dead process left in
    # flight becomes uncertain. The CHECK keeps any other value out; the new version keeps an
    # older roundup, which would send uncertain recipients a second copy, off this file.
    """
    CREATE TABLE deliveries_v4 (
        week TEXT NOT NULL,
        recipient TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('accepted', 'refused', 'in_flight', 'uncertain')),
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        PRIMARY KEY (week, recipient)
    );
    INSERT INTO deliveries_v4 SELECT week, recipient, status, detail, at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v4 RENAME TO deliveries;
    """,
    # The editor's week. An issue's number is given when its send starts, never at its first
    # draft, so trying out weeks burns no numbers: unsent issues lose the number their draft
    # reserved (NULL, which UNIQUE allows many times). ``briefed_at`` records the editors'
    # briefing, sent once per issue; ``outcome`` what a run decided at send time when it did
    # not simply send (a quiet week skipped or rolled over, an unapproved issue held,
    # skipped or sent anyway), so that later runs and the next briefing can say so.
    """
    CREATE TABLE issues_v5 (
        week TEXT PRIMARY KEY,
        number INTEGER UNIQUE,
        approved_by TEXT,
        approved_at TEXT,
        approved_hash TEXT,
        sent_at TEXT,
        briefed_at TEXT,
        outcome TEXT,
        outcome_at TEXT
    );
    INSERT INTO issues_v5 (week, number, approved_by, approved_at, approved_hash, sent_at)
        SELECT week,
            CASE WHEN sent_at IS NOT NULL OR week IN (SELECT week FROM deliveries)
                THEN number END,
            approved_by, approved_at, approved_hash, sent_at
        FROM issues;
    DROP TABLE issues;
    ALTER TABLE issues_v5 RENAME TO issues;
    """,
    # What the last link check found for each address (see roundup.linkcheck): results are
    # reused for a day, so checking an issue again, or opening the desk, asks no server.
    """
    CREATE TABLE link_checks (
        url TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('ok', 'broken', 'redirect', 'home_redirect')),
        code INTEGER,
        final_url TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        checked_at TEXT NOT NULL
    );
    """,
    # The issues on the web copy (roundup.archive): a week is added when it is sent or
    # published on purpose; published_at stays NULL until the site that holds it reached
    # publish.to, so a failed copy or upload is tried again by the next run (error says
    # why it failed). Issues sent before this step are added, to be published by the next
    # run.
    """
    CREATE TABLE publications (
        week TEXT PRIMARY KEY,
        requested_at TEXT NOT NULL,
        published_at TEXT,
        error TEXT
    );
    INSERT INTO publications (week, requested_at)
        SELECT week, sent_at FROM issues WHERE sent_at IS NOT NULL;
    """,
    # Speed for a store that grows for years. An index on the canonical URL, so that
    # `explain` and the desk's restore find a link's copies without reading every row.
    # `marks` holds the store's bookkeeping by name: "revision" counts the writes that
    # change what a draft is made of (entries, issues, sent links), "rendered:<week>" the
    # fingerprint of what the week's files were last made from, "pruned_at" when old
    # entries were last removed.
    """
    CREATE INDEX entries_canonical_url ON entries (canonical_url);
    CREATE TABLE marks (
        name TEXT PRIMARY KEY,
        value NOT NULL
    );
    INSERT INTO marks (name, value) VALUES ('revision', 0);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The SQL statements of one migration step, in order (the steps hold no literal ';')."""
    return [part.strip() for part in script.split(";") if part.strip()]
