"""Building an Entry: the caps on what one feed can bring in, and keeping the newest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roundup.entries import FeedContext, build_entry, keep_newest
from roundup.normalize import cap_text, clean_title
from roundup.testing import make_entry

NOW = datetime(2015, 8, 15, tzinfo=UTC)


def entry(**fields: object) -> object:
    context = FeedContext(key="k", url="https://example.org/feed", fetched_at=NOW, name=None)
    context.set_feed("Example", "https://example.org/")
    values: dict[str, object] = {
        "guid": "g",
        "link": "https://example.org/a",
        "raw_title": "A title",
        "author": "",
        "published": NOW - timedelta(days=1),
        "summary": "",
        "summary_base": "",
        "image": None,
        "tags": (),
    }
    values.update(fields)
    return build_entry(context, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("raw_title", "word " * 200, "title", 300),
        ("author", "name " * 100, "author", 120),
        ("link", "https://example.org/" + "a" * 5_000, "link", 0),
        ("image", "https://example.org/" + "i" * 5_000, "image", None),
        ("tags", tuple(f"tag{n}" for n in range(40)), "tags", 25),
        ("tags", ("t" * 500,), "tags", 1),
    ],
)
def test_caps(field: str, value: object, attribute: str, expected: int | None) -> None:
    """Each field is capped: cut at a word (title, author), dropped (URLs), counted (tags)."""
    got = getattr(entry(**{field: value}), attribute)
    if expected is None:
        assert got is None
    elif isinstance(got, tuple):
        assert len(got) == expected and all(len(tag) <= 60 for tag in got)
    else:
        assert len(got) <= expected and (expected == 0) == (got == "")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Pay \u202eyap\u202c now", "Pay yap now"),  # right-to-left override
        ("a\u2066b\u2069c", "abc"),  # isolates
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("soft\u00adhyphen", "softhyphen"),
        ("\u0645\u200c\u0627", "\u0645\u200c\u0627"),  # ZWNJ stays: Persian needs it
        ("\U0001f468\u200d\U0001f469", "\U0001f468\u200d\U0001f469"),  # ZWJ emoji stays
    ],
)
def test_invisible_characters_leave_titles(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("Sanctions, talks and the long road back", 20, "Sanctions, talks…"),
        ("x" * 30, 10, "x" * 9 + "…"),  # no space to cut at
    ],
)
def test_cap_text(text: str, limit: int, expected: str) -> None:
    assert cap_text(text, limit) == expected
    assert len(cap_text(text, limit)) <= limit


def test_keep_newest_keeps_the_feeds_order() -> None:
    entries = tuple(make_entry(id=str(n), published=NOW - timedelta(hours=n)) for n in (3, 1, 2))
    assert [e.id for e in keep_newest(entries, 2)] == ["1", "2"]
    assert keep_newest(entries, 5) == entries
