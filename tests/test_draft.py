"""Tests for roundup.draft: proposing a draft, and merging it with the editor's edits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from roundup.config import Newsletter
from roundup.draft import build_draft
from roundup.draft_file import dump_draft, load_draft, parse_draft, save_draft
from roundup.models import Coverage, Draft, DraftItem, DraftSection, Entry, Group, Story
from roundup.testing import make_entry
from roundup.week import window_for

NY = ZoneInfo("America/New_York")
EDT = timezone(timedelta(hours=-4))
WINDOW = window_for("2015-W33", week_ends=4, tz=NY, now=datetime(2015, 8, 20, tzinfo=UTC))
NEWSLETTER = Newsletter(
    title="The Elicitor Weekly Roundup",
    url="https://example.org/",
    timezone="America/New_York",
    week_ends=4,
    language="en",
    from_addr="Editor <editor@example.org>",
)
PATH = Path("out/2015-W33/draft.yaml")


def entry(n: int, **changes: Any) -> Entry:
    """Entry number ``n``: https://example.org/<n>, titled "Story <n>"."""
    fields: dict[str, Any] = {
        "id": f"urn:story:{n}",
        "title": f"Story {n}",
        "link": f"https://example.org/{n}?utm_source=rss",
        "canonical_url": f"https://example.org/{n}",
        "summary_html": f"<p>Summary {n}</p>",
        "summary_text": f"Summary {n}",
        "source": "Example Blog",
        "first_seen": datetime(2015, 8, 12, 14, 0, tzinfo=UTC),
    }
    return make_entry(**{**fields, **changes})


def group(name: str, *numbers: int, description: str = "") -> Group:
    return Group(name, description, tuple(Story(entry(n)) for n in numbers))


GROUPS = (group("Analysis", 1, 2, 3, description="Long reads"), group("News", 4, 5))


def draft_of(*groups: Group, previous: Draft | None = None, number: int = 12) -> Draft:
    return build_draft(
        groups, window=WINDOW, number=number, newsletter=NEWSLETTER, previous=previous
    )


def layout(draft: Draft) -> list[tuple[str, list[str]]]:
    """Sections and the last path segment of each item key: [("News", ["4", "5"])]."""
    return [(s.name, [i.key.rsplit("/", 1)[-1] for i in s.items]) for s in draft.sections]


def short(keys: tuple[str, ...]) -> list[str]:
    return [key.rsplit("/", 1)[-1] for key in keys]


def new_items(draft: Draft) -> list[str]:
    return short(tuple(item.key for item in draft.items if item.new))


def edit_section(draft: Draft, name: str, edit: Callable[[DraftSection], DraftSection]) -> Draft:
    sections = tuple(edit(s) if s.name == name else s for s in draft.sections)
    return replace(draft, sections=sections)


def drop_item(draft: Draft, number: int) -> Draft:
    """The editor deletes item ``number`` wherever it is."""
    key = f"https://example.org/{number}"
    return replace(
        draft,
        sections=tuple(
            replace(s, items=tuple(i for i in s.items if i.key != key)) for s in draft.sections
        ),
    )


def editor_item(link: str = "https://mine.example/essay") -> DraftItem:
    return DraftItem(
        key=f"editor:{link}", title="My essay", link=link, source="", published=None, excerpt=""
    )


# --- a fresh draft ---------------------------------------------------------------------------


def test_fresh_draft_defaults() -> None:
    """A fresh draft has the caller's number, a dated subject, no preheader and no intro."""
    draft = draft_of(*GROUPS)
    assert (draft.week, draft.number, draft.intro) == ("2015-W33", 12, "")
    assert draft.subject == "The Elicitor Weekly Roundup: August 14, 2015"
    assert draft.preheader == ""  # worked out at render time, never a list of titles
    assert (draft.window_start, draft.window_end) == (WINDOW.start, WINDOW.end)
    assert layout(draft) == [("Analysis", ["1", "2", "3"]), ("News", ["4", "5"])]
    assert short(draft.known) == ["1", "2", "3", "4", "5"]
    assert draft.sections[0].description == "Long reads"


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "The Elicitor Weekly Roundup: August 14, 2015"),
        ("fr", "The Elicitor Weekly Roundup: 14 août 2015"),
        ("de", "The Elicitor Weekly Roundup: 14. August 2015"),
    ],
)
def test_subject_date_follows_language(language: str, subject: str) -> None:
    """The subject's date is the window's last day, written in the newsletter's language."""
    newsletter = replace(NEWSLETTER, language=language)
    draft = build_draft(GROUPS, window=WINDOW, number=1, newsletter=newsletter)
    assert draft.subject == subject


@pytest.mark.parametrize(
    ("author", "source", "byline"),
    [
        ("Jane Doe", "Example Blog", "Jane Doe"),
        ("jane@example.org (Jane Doe)", "Example Blog", "Jane Doe"),
        ("admin", "Example Blog", ""),
        ("Example Blog", "Example Blog", ""),
        ("", "Example Blog", ""),
    ],
)
def test_item_carries_the_byline_author(author: str, source: str, byline: str) -> None:
    """The entry's author reaches the draft item, unless it names no person."""
    stories = (Story(entry(1, author=author, source=source)),)
    item = draft_of(Group("News", "", stories)).items[0]
    assert item.author == byline


@pytest.mark.parametrize(
    ("summary", "minutes"),
    [
        ("word " * 920, 4),  # the whole article: 920 words at 230 a minute
        ("word " * 920 + "Continue reading", 0),  # a long teaser is still a teaser
        ("word " * 100, 0),
    ],
)
def test_item_carries_the_read_time(summary: str, minutes: int) -> None:
    """A feed that carries the whole article gives its item a read time."""
    stories = (Story(entry(1, summary_text=summary)),)
    assert draft_of(Group("News", "", stories)).items[0].read_minutes == minutes


@pytest.mark.parametrize(
    ("text", "excerpt"),
    [
        ("", ""),
        ("Short summary.", "Short summary."),
        ("First paragraph.\n\n  Second\tparagraph.", "First paragraph.\n\nSecond paragraph."),
        ("word " * 60, ("word " * 60).strip()),  # 299 characters: not cut
        ("word " * 61, ("word " * 60).strip() + "…"),  # 299 characters + "…"
        ("abcd " * 59 + "abcdefgh", ("abcd " * 59).strip() + "…"),  # the last word would cross
        ("z" * 400, "z" * 299 + "…"),  # one endless word is cut inside it
        ("Sentence one, " * 30, ("Sentence one, " * 21).rstrip(" ,") + "…"),
    ],
)
def test_excerpt_cut_at_word_boundary(text: str, excerpt: str) -> None:
    """The excerpt keeps the summary's paragraphs, cut at a word to ≤ 300 characters with "…"
    when no sentence ends in reach (see tests/test_excerpt.py for sentence cuts)."""
    draft = draft_of(Group("News", "", (Story(entry(1, summary_text=text)),)))
    assert draft.items[0].excerpt == excerpt
    assert len(draft.items[0].excerpt) <= 300


@pytest.mark.parametrize(
    ("canonical", "link", "key"),
    [
        ("https://example.org/a", "https://example.org/a?utm_source=x", "https://example.org/a"),
        ("", "https://example.org/b", "https://example.org/b"),
        ("", "", "id:urn:story:1"),
    ],
)
def test_item_key(canonical: str, link: str, key: str) -> None:
    """The key is the canonical URL, else the link, else "id:" and the entry's id."""
    story = Story(entry(1, canonical_url=canonical, link=link))
    assert draft_of(Group("News", "", (story,))).items[0].key == key


def test_fresh_item_copies_the_story() -> None:
    """An item carries the entry's link (without the feed's tracking parameters), source,
    image, local date and the story's also_via."""
    story = Story(entry(1, image="https://example.org/1.png"), also_via=("Other", "Third"))
    item = draft_of(Group("News", "", (story,))).items[0]
    assert item == DraftItem(
        key="https://example.org/1",
        title="Story 1",
        link="https://example.org/1",
        source="Example Blog",
        published=datetime(2015, 8, 12, 13, 30, tzinfo=UTC),
        excerpt="Summary 1",
        image="https://example.org/1.png",
        also_via=("Other", "Third"),
    )
    assert item.published is not None
    assert item.published.isoformat() == "2015-08-12T09:30:00-04:00"


@pytest.mark.parametrize(
    ("title", "link", "expected"),
    [
        ("  Spaced\n out  ", "https://example.org/1", "Spaced out"),
        ("", "https://example.org/1", "https://example.org/1"),
        ("", "", "(untitled)"),
    ],
)
def test_fresh_item_always_has_a_title(title: str, link: str, expected: str) -> None:
    """A story without a title is shown by its link, so the draft stays loadable."""
    story = Story(entry(1, title=title, link=link, canonical_url=link))
    draft = draft_of(Group("News", "", (story,)))
    assert draft.items[0].title == expected
    assert parse_draft(dump_draft(draft), PATH) == draft


def test_fresh_draft_skips_empty_groups_and_repeated_stories() -> None:
    """Empty groups make no section; a story proposed twice appears once, where first seen."""
    draft = draft_of(group("Analysis", 1, 2), group("Empty"), group("News", 2, 3))
    assert layout(draft) == [("Analysis", ["1", "2"]), ("News", ["3"])]


def test_same_named_groups_share_a_section() -> None:
    """Two groups with the same name fill one section, so the file has no duplicate names."""
    draft = draft_of(group("News", 1), group("Analysis", 2), group("News", 3))
    assert layout(draft) == [("News", ["1", "3"]), ("Analysis", ["2"])]


# --- re-drafting keeps the editor's edits ------------------------------------------------------


def reorder(draft: Draft) -> Draft:
    return edit_section(draft, "Analysis", lambda s: replace(s, items=s.items[::-1]))


def move_to_news(draft: Draft) -> Draft:
    """The editor moves item 2 from Analysis to the top of News."""
    moved = draft.sections[0].items[1]
    draft = drop_item(draft, 2)
    return edit_section(draft, "News", lambda s: replace(s, items=(moved, *s.items)))


def retouch(draft: Draft) -> Draft:
    """The editor rewrites item 1's title, excerpt and note."""
    item = replace(draft.items[0], title="Better title", excerpt="Shorter.", note="**Read**")
    return edit_section(draft, "Analysis", lambda s: replace(s, items=(item, *s.items[1:])))


def add_own_item(draft: Draft) -> Draft:
    return edit_section(draft, "News", lambda s: replace(s, items=(*s.items, editor_item())))


def reorder_sections(draft: Draft) -> Draft:
    return replace(draft, sections=draft.sections[::-1])


def rename_section(draft: Draft) -> Draft:
    return edit_section(draft, "News", lambda s: replace(s, name="Headlines", description="!"))


EDITS: dict[str, Callable[[Draft], Draft]] = {
    "reorder items": reorder,
    "remove an item": lambda d: drop_item(d, 3),
    "move an item to another section": move_to_news,
    "edit title, excerpt and note": retouch,
    "write intro, subject, preheader": lambda d: replace(
        d, intro="Hello.\n", subject="Big week", preheader="Read on"
    ),
    "renumber": lambda d: replace(d, number=99),
    "add an item by hand": add_own_item,
    "reorder sections": reorder_sections,
    "rename a section": rename_section,
    "delete a section": lambda d: replace(d, sections=d.sections[:1]),
    "delete everything": lambda d: replace(d, sections=()),
    "describe a section": lambda d: edit_section(d, "News", lambda s: replace(s, description="x")),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_redraft_keeps_edits(edit: Callable[[Draft], Draft]) -> None:
    """With no new stories, re-drafting returns the editor's draft unchanged."""
    edited = edit(draft_of(*GROUPS))
    stored = parse_draft(dump_draft(edited), PATH)
    assert draft_of(*GROUPS, previous=stored, number=40) == stored


def test_new_stories_are_appended_and_marked_new() -> None:
    """A story never proposed before goes to the end of its section, marked new."""
    edited = reorder(drop_item(draft_of(*GROUPS), 2))
    redraft = draft_of(group("Analysis", 1, 2, 3, 6), group("News", 7, 4, 5), previous=edited)
    assert layout(redraft) == [("Analysis", ["3", "1", "6"]), ("News", ["4", "5", "7"])]
    assert new_items(redraft) == ["6", "7"]
    assert short(redraft.known) == ["1", "2", "3", "4", "5", "6", "7"]


def test_removed_items_stay_removed() -> None:
    """An item the editor deleted is not proposed again while its story is still selected."""
    edited = drop_item(drop_item(draft_of(*GROUPS), 1), 5)
    redraft = draft_of(*GROUPS, group("News", 8), previous=edited)
    assert layout(redraft) == [("Analysis", ["2", "3"]), ("News", ["4", "8"])]
    assert short(redraft.removed) == ["1", "5"]


def test_new_flag_stays_until_the_editor_clears_it() -> None:
    """Items stay marked new across re-drafts; once the editor clears the flag it stays clear."""
    second = draft_of(group("News", 1, 2), previous=draft_of(group("News", 1)))
    third = draft_of(group("News", 1, 2, 3), previous=second)
    assert new_items(third) == ["2", "3"]
    cleared = edit_section(
        third, "News", lambda s: replace(s, items=tuple(replace(i, new=False) for i in s.items))
    )
    assert new_items(draft_of(group("News", 1, 2, 3), previous=cleared)) == []


def test_items_the_feeds_dropped_are_kept() -> None:
    """An item whose story is no longer selected stays: the editor chose it."""
    previous = draft_of(*GROUPS)
    redraft = draft_of(group("Analysis", 1), previous=previous)
    assert redraft == previous


def test_moved_item_stays_where_the_editor_put_it() -> None:
    """An item moved to another section is not proposed again in its original section."""
    edited = move_to_news(draft_of(*GROUPS))
    redraft = draft_of(*GROUPS, group("Analysis", 9), previous=edited)
    assert layout(redraft) == [("Analysis", ["1", "3", "9"]), ("News", ["2", "4", "5"])]


def test_edits_kept_when_new_stories_arrive() -> None:
    """Edited fields, number and intro are kept while new stories are merged in."""
    edited = replace(retouch(draft_of(*GROUPS)), intro="Hi", subject="S", preheader="P")
    redraft = draft_of(*GROUPS, group("News", 6), previous=edited, number=40)
    assert redraft.items[0] == edited.items[0]
    assert (redraft.number, redraft.intro, redraft.subject, redraft.preheader) == (
        12,
        "Hi",
        "S",
        "P",
    )


@pytest.mark.parametrize(
    ("kept", "arrivals", "expected"),
    [
        (["A", "C"], [group("B", 9)], ["A", "B", "C"]),
        (["B", "C"], [group("A", 9)], ["A", "B", "C"]),
        (["A", "B"], [group("C", 9)], ["A", "B", "C"]),
        (["C", "A"], [group("B", 9)], ["C", "A", "B"]),  # after A, its configured predecessor
        (["C"], [group("A", 8), group("B", 9)], ["A", "B", "C"]),
        (["A", "C"], [], ["A", "C"]),  # nothing new for B: it stays deleted
    ],
)
def test_deleted_section_returns_only_with_new_items(
    kept: list[str], arrivals: list[Group], expected: list[str]
) -> None:
    """A section the editor deleted comes back, at its configured place, only for new items."""
    configured = (group("A", 1), group("B", 2), group("C", 3))
    by_name = {s.name: s for s in draft_of(*configured).sections}
    edited = replace(draft_of(*configured), sections=tuple(by_name[name] for name in kept))
    redraft = draft_of(*configured, *arrivals, previous=edited)
    assert [s.name for s in redraft.sections] == expected
    assert all(item.new for s in redraft.sections if s.name not in kept for item in s.items)


def test_hand_added_item_survives_and_blocks_its_story() -> None:
    """An item the editor typed in keeps its editor: key; the same story is not proposed again."""
    text = dump_draft(draft_of(group("News", 1))).replace(
        "known:",
        "      - title: Mine\n        link: HTTPS://Example.ORG/2?utm_source=rss#top\n"
        "        note: Why it matters\nknown:",
    )
    stored = parse_draft(text, PATH)
    assert stored.items[1].key == "editor:https://example.org/2"
    redraft = draft_of(group("News", 1, 2, 3), previous=stored)
    assert [i.title for i in redraft.items] == ["Story 1", "Mine", "Story 3"]
    assert redraft.items[1] == stored.items[1]


def test_editor_workflow_through_the_file(tmp_path: Path) -> None:
    """Edits made in draft.yaml by hand survive `roundup draft` run again on the saved file."""
    path = tmp_path / "draft.yaml"
    save_draft(path, draft_of(*GROUPS))
    text = path.read_text(encoding="utf-8")
    text = text.replace("intro: ''", "intro: |\n  Hello readers.\n")
    text = text.replace("title: Story 2", "title: Story two, retold")
    item_5 = text.index("      - title: Story 5")
    text = text[:item_5] + text[text.index("known:") :]  # the editor deletes item 5
    path.write_text(text, encoding="utf-8")
    save_draft(path, draft_of(*GROUPS, group("News", 6), previous=load_draft(path)))
    final = load_draft(path)
    assert final.intro == "Hello readers.\n"
    assert final.items[1].title == "Story two, retold"
    assert layout(final) == [("Analysis", ["1", "2", "3"]), ("News", ["4", "6"])]
    assert new_items(final) == ["6"]


def covers(n: int) -> Coverage:
    return Coverage("Other Paper", f"Story {n}", f"https://example.org/{n}")


def test_redraft_adds_coverage_that_arrived_and_keeps_the_editors_cuts() -> None:
    """An article about an item's event that arrived since joins its "also covered by";
    one the editor deleted from that list stays deleted; a new story's coverage that is
    already an item of the draft is not shown twice."""
    first = draft_of(Group("News", "", (Story(entry(1)), Story(entry(3)))))
    again = draft_of(
        Group("News", "", (Story(entry(1), covered_by=(covers(2),)), Story(entry(3)))),
        previous=first,
    )
    assert again.items[0].covered_by == (covers(2),)
    assert "https://example.org/2" in again.known and again.removed == ()
    trimmed = replace(
        again,
        sections=(replace(again.sections[0], items=(replace(again.items[0], covered_by=()),
                                                    again.items[1])),),
    )  # fmt: skip
    third = draft_of(
        Group("News", "", (Story(entry(1), covered_by=(covers(2),)), Story(entry(3)))),
        Group("News", "", (Story(entry(4), covered_by=(covers(3), covers(5))),)),
        previous=trimmed,
    )
    assert third.items[0].covered_by == ()
    assert [(item.key, item.covered_by) for item in third.items[2:]] == [
        ("https://example.org/4", (covers(5),))
    ]
