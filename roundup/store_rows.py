"""Rows of the state file: entries to and from SQLite rows, times as fixed-width UTC text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from roundup.models import Entry

_ENTRY_COLUMNS = (
    "feed, id, title, link, canonical_url, author, published, dated, summary_html,"
    " summary_text, image, tags, source, first_seen"
)
_INSERT_ENTRY = f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 14)})"


def _iso(moment: datetime) -> str:
    """UTC, second precision, fixed width: sorts as text in the same order as in time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _entry_row(entry: Entry) -> tuple[object, ...]:
    return (
        entry.feed,
        entry.id,
        entry.title,
        entry.link,
        entry.canonical_url,
        entry.author,
        _iso(entry.published),
        int(entry.dated),
        entry.summary_html,
        entry.summary_text,
        entry.image,
        json.dumps(list(entry.tags), ensure_ascii=False),
        entry.source,
        _iso(entry.first_seen),
    )


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
        summary_html=str(row[8]),
        summary_text=str(row[9]),
        image=None if row[10] is None else str(row[10]),
        tags=tuple(json.loads(str(row[11]))),
        source=str(row[12]),
        first_seen=datetime.fromisoformat(str(row[13])),
    )


def _replace_times(entry: Entry, *, published: str | None, first_seen: str) -> Entry:
    from dataclasses import replace

    seen = datetime.fromisoformat(first_seen)
    return replace(
        entry,
        first_seen=seen,
        published=datetime.fromisoformat(published) if published else entry.published,
    )
