"""Tests for roundup.edit: the pure draft edits behind the editor's desk."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from roundup.draft_file import dump_draft, parse_draft
from roundup.edit import (
    add_item,
    editor_item,
    find_item,
    move_item,
    multi_line,
    one_line,
    remove_item,
    restore_item,
    set_meta,
    update_item,
)
from roundup.errors import DraftError
from roundup.models import Draft, DraftItem, DraftSection

EDT = timezone(timedelta(hours=-4))
PATH = Path("out/2015-W33/draft.yaml")


def item(n: int, **changes: object) -> DraftItem:
    """Item number ``n``: https://example.org/<n>, titled "Story <n>"."""
    base = DraftItem(
        key=f"https://example.org/{n}",
        title=f"Story {n}",
        link=f"https://example.org/{n}",
        source="Example Blog",
        published=datetime(2015, 8, 12, 9, 30, tzinfo=EDT),
        excerpt=f"Summary {n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def draft(*sections: tuple[str, tuple[int, ...]], removed: tuple[int, ...] = ()) -> Draft:
    """A draft with the given sections of numbered items; ``removed`` items are only known."""
    built = tuple(
        DraftSection(name, "", tuple(item(n) for n in numbers)) for name, numbers in sections
    )
    present = [it.key for s in built for it in s.items]
    return Draft(
        week="2015-W33",
        number=7,
        subject="Weekly: August 14, 2015",
        preheader="Story 1 · Story 2",
        intro="",
        sections=built,
        window_start=datetime(2015, 8, 8, tzinfo=EDT),
        window_end=datetime(2015, 8, 15, tzinfo=EDT),
        known=(*present, *(f"https://example.org/{n}" for n in removed)),
    )


def layout(d: Draft) -> list[tuple[str, list[str]]]:
    """Section names with their item titles, to compare orders at a glance."""
    return [(s.name, [i.title for i in s.items]) for s in d.sections]


def round_trip(d: Draft) -> Draft:
    return parse_draft(dump_draft(d), PATH)


BASE = draft(("Analysis", (1, 2, 3)), ("News", (4, 5)))


@pytest.mark.parametrize(
    ("key", "section", "index", "expected"),
    [
        (1, "Analysis", 1, [("Analysis", [2, 1, 3]), ("News", [4, 5])]),
        (3, "Analysis", 0, [("Analysis", [3, 1, 2]), ("News", [4, 5])]),
        (2, "News", 0, [("Analysis", [1, 3]), ("News", [2, 4, 5])]),
        (2, "News", None, [("Analysis", [1, 3]), ("News", [4, 5, 2])]),
        (4, "Analysis", 99, [("Analysis", [1, 2, 3, 4]), ("News", [5])]),
        (5, "News", -3, [("Analysis", [1, 2, 3]), ("News", [5, 4])]),
    ],
)
def test_move_item_places_it_exactly(
    key: int, section: str, index: int | None, expected: list[tuple[str, list[int]]]
) -> None:
    """An item moves to the given position (clamped) of the given section, others keep order."""
    moved = move_item(BASE, f"https://example.org/{key}", section=section, index=index)
    assert layout(moved) == [(name, [f"Story {n}" for n in ns]) for name, ns in expected]
    assert moved.known == BASE.known


def test_move_item_refuses_unknown_section_and_key() -> None:
    """Moving to a section that is not there, or an item that is not there, names the fault."""
    with pytest.raises(DraftError, match="no section named 'Sports'"):
        move_item(BASE, "https://example.org/1", section="Sports")
    with pytest.raises(DraftError, match=r"no item with key 'https://example.org/9'.*reload"):
        move_item(BASE, "https://example.org/9", section="News")


def test_removed_item_is_known_and_can_be_restored_in_place() -> None:
    """Removing keeps the key known (so it stays out on re-draft); restoring puts it back."""
    removed = remove_item(BASE, "https://example.org/2")
    assert layout(removed)[0] == ("Analysis", ["Story 1", "Story 3"])
    assert removed.removed == ("https://example.org/2",)
    restored = restore_item(removed, item(2), section="Analysis", index=1)
    assert restored == BASE


def test_restore_into_a_missing_section_recreates_it_at_the_end() -> None:
    """A removed item whose section is gone brings the section back with its description."""
    d = draft(("Analysis", (1,)), removed=(4,))
    restored = restore_item(d, item(4), section="News", description="Short news")
    assert layout(restored) == [("Analysis", ["Story 1"]), ("News", ["Story 4"])]
    assert restored.sections[1].description == "Short news"
    assert restored.removed == ()


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (item(1), "already in the issue"),
        (item(8), "was never proposed for 2015-W33"),
    ],
)
def test_restore_refuses_present_and_unknown_items(candidate: DraftItem, message: str) -> None:
    """Only an item the editor removed can be restored."""
    with pytest.raises(DraftError, match=message):
        restore_item(BASE, candidate, section="Analysis")


def test_removing_an_item_added_by_hand_deletes_it() -> None:
    """An editor's own item leaves no key behind: there is nothing to restore it from."""
    mine = editor_item("https://elsewhere.example/post", title="Mine")
    added = add_item(BASE, mine, section="News")
    gone = remove_item(added, mine.key)
    assert gone == BASE
    assert gone.removed == ()


def test_update_item_changes_only_given_fields() -> None:
    """Title, excerpt and note change; link, source, date and the others stay."""
    key = "https://example.org/2"
    updated = update_item(BASE, key, title="  A  better\ntitle ", note="Read *this*.\r\n\r\nTwice.")
    found = find_item(updated, key)
    assert found is not None
    section, position, new = found
    assert (section, position) == ("Analysis", 1)
    assert new == replace(item(2), title="A better title", note="Read *this*.\n\nTwice.")
    assert update_item(updated, key, excerpt="Shorter") == replace(
        updated,
        sections=(
            replace(updated.sections[0], items=(item(1), replace(new, excerpt="Shorter"), item(3))),
            updated.sections[1],
        ),
    )


def test_update_item_refuses_an_empty_title() -> None:
    """A title of only spaces would make draft.yaml unreadable, so it is refused."""
    with pytest.raises(DraftError, match="a title cannot be empty"):
        update_item(BASE, "https://example.org/1", title=" \n ")


def test_set_meta_cleans_text_and_keeps_what_is_not_given() -> None:
    """Subject and preheader are one line; the intro keeps its Markdown line breaks."""
    updated = set_meta(
        BASE, subject="  Big\nweek ", intro="\n\nHello *all*,\r\n\r\n- one\n- two  \n"
    )
    assert updated.subject == "Big week"
    assert updated.preheader == BASE.preheader
    assert updated.intro == "Hello *all*,\n\n- one\n- two"


def test_add_item_appends_to_section_or_creates_it() -> None:
    """An added item goes at the end of its section, or into a new last section."""
    mine = editor_item(
        "https://Elsewhere.example/post?utm_source=x",
        title="Mine",
        excerpt="An excerpt",
        image="https://elsewhere.example/a.png",
        source="Elsewhere",
    )
    assert mine.key == "editor:https://elsewhere.example/post"
    into_news = add_item(BASE, mine, section="News")
    assert layout(into_news)[1] == ("News", ["Story 4", "Story 5", "Mine"])
    new_section = add_item(BASE, mine, section="Picks", description="Our picks")
    assert layout(new_section)[2] == ("Picks", ["Mine"])
    assert new_section.sections[2].description == "Our picks"
    assert round_trip(into_news) == into_news


def test_add_item_refuses_a_link_already_in_the_issue() -> None:
    """The same story (same canonical link) cannot be in the issue twice."""
    twin = editor_item("https://example.org/3?utm_medium=email#top", title="Again")
    with pytest.raises(DraftError, match=r"'Story 3' .* is already in the issue, in 'Analysis'"):
        add_item(BASE, twin, section="News")


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "ftp://example.org/file", "example.org/no-scheme", "", "http://[::1"],
)
def test_editor_item_needs_a_web_address(link: str) -> None:
    """Only absolute http(s) links become items: draft.yaml accepts nothing else."""
    with pytest.raises(DraftError, match="is not a web address"):
        editor_item(link, title="Title")


def test_editor_item_drops_an_image_that_is_not_http() -> None:
    """An image URL from a page's metadata is kept only when it is http(s)."""
    assert (
        editor_item("https://a.example/", title="T", image="data:image/png;base64,AAA").image
        is None
    )


@pytest.mark.parametrize(
    "text",
    [
        "  indented first line\nsecond",
        "trailing spaces  \nhard break",
        "# heading\n\n> quote: with colon\n\n- 'quoted' \"double\"",
        "tab\there and unicode ✓ — “quotes”",
        "ends with blank lines\n\n\n",
        "control\x00chars\x1b[0m and \x85 NEL",
    ],
)
def test_every_edit_survives_saving_and_reading_back(text: str) -> None:
    """Whatever an editor types, the saved draft.yaml reads back as the same draft."""
    edited = set_meta(BASE, intro=text, subject=text)
    edited = update_item(edited, "https://example.org/1", note=text, excerpt=text, title=text)
    assert round_trip(edited) == edited


@pytest.mark.parametrize(
    ("raw", "line", "multi"),
    [
        ("a\r\nb", "a b", "a\nb"),
        ("\n\n  x  \n", "x", "  x"),
        ("a\x07b", "ab", "ab"),
        ("", "", ""),
    ],
)
def test_text_cleaning(raw: str, line: str, multi: str) -> None:
    """one_line flattens; multi_line keeps lines but drops control characters and blank edges."""
    assert one_line(raw) == line
    assert multi_line(raw) == multi


def test_edits_do_not_touch_the_input_draft() -> None:
    """Every edit returns a new draft and leaves the one it was given as it was."""
    before = dump_draft(BASE)
    remove_item(BASE, "https://example.org/1")
    move_item(BASE, "https://example.org/4", section="Analysis", index=0)
    set_meta(BASE, subject="Other")
    assert dump_draft(BASE) == before


def test_found_item_reports_none_when_absent() -> None:
    """find_item says where an item is, or None."""
    assert find_item(BASE, "https://example.org/5") == ("News", 1, item(5))
    assert find_item(BASE, "https://example.org/9") is None


def test_an_added_item_without_a_date_reads_back() -> None:
    """Items built by editor_item carry no date, which draft.yaml allows."""
    mine = editor_item("https://a.example/x", title="T")
    assert mine.published is None
    dumped = round_trip(add_item(BASE, mine, section="News"))
    assert find_item(dumped, mine.key) == ("News", 2, mine)
