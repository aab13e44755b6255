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
)
SCHEMA_VERSION = len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
