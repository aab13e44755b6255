"""draft.yaml on disk: the layout written, reading it back, and every fault explained."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from roundup.draft_file import dump_draft, load_draft, parse_draft, save_draft
from roundup.errors import DraftError
from roundup.models import Coverage, Draft, DraftItem, DraftSection, Group, Story
from tests.test_draft import EDT, GROUPS, PATH, draft_of, editor_item, entry

GOLDEN = Path(__file__).parent / "golden" / "bundled" / "draft.yaml"

# --- the YAML file ---------------------------------------------------------------------------

EXPECTED_YAML = """\
# roundup draft for 2015-W33 — edit freely: reorder, delete or move items, fill in notes.
# Re-running `roundup draft` keeps your edits; removed items stay removed.
# To add an item of your own, give it at least a title and a link. Intro and notes are Markdown.
week: 2015-W33
number: 12
window: {start: '2015-08-08T00:00:00-04:00', end: '2015-08-15T00:00:00-04:00'}
subject: 'The Elicitor Weekly Roundup: August 14, 2015'
preheader: Story 1 · My essay
intro: |
  Welcome to *this* week.

  Two paragraphs.
sections:
  - name: Analysis
    description: Long reads
    items:
      - title: Story 1
        link: https://example.org/1
        source: Example Blog
        author: Jane Doe
        date: '2015-08-12T09:30:00-04:00'
        excerpt: Summary 1
        note: |-
          Worth it.
          Really.
        read_minutes: 4
        image: https://example.org/1.png
        also_via: [Other, 'Third: the blog']
        new: true
        key: https://example.org/1
      - title: My essay
        link: https://mine.example/essay
        source: ''
        excerpt: ''
        note: ''
        key: editor:https://mine.example/essay
known:  # managed by roundup: every item ever proposed for this week
  - https://example.org/1
  - https://example.org/9
"""


def sample_draft() -> Draft:
    story = Story(entry(1, image="https://example.org/1.png"), ("Other", "Third: the blog"))
    fresh = draft_of(Group("Analysis", "Long reads", (story,)))
    first = replace(
        fresh.items[0], note="Worth it.\nReally.", new=True, author="Jane Doe", read_minutes=4
    )
    return replace(
        fresh,
        preheader="Story 1 · My essay",
        intro="Welcome to *this* week.\n\nTwo paragraphs.\n",
        sections=(replace(fresh.sections[0], items=(first, editor_item())),),
        known=(*fresh.known, "https://example.org/9"),
    )


def test_dump_layout() -> None:
    """The file has a comment header, a fixed key order and literal blocks for multi-line text."""
    assert dump_draft(sample_draft()) == EXPECTED_YAML


def test_parse_reads_the_layout_back() -> None:
    """Parsing the dumped layout gives back the very same draft."""
    assert parse_draft(EXPECTED_YAML, PATH) == sample_draft()


TRICKY_TEXTS = [
    "yes",
    "null",
    "1.0",
    "2015-08-12",
    "# not a comment",
    "key: value",
    "- dash",
    "'single' and \"double\" quotes",
    " leading and trailing spaces ",
    "tab\there",
    "emoji 🎉 and — dashes",
    "one\ntwo",
    "ends with a newline\n",
    "two newlines\n\n",
    "\nstarts with a newline",
    "  indented\nblock",
    "trailing space \nline",
    "bell \x07 character",
    "",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_round_trip_keeps_any_text(text: str) -> None:
    """Any text in any field survives dump and parse, and the dump is then byte-stable."""
    item = replace(
        editor_item(),
        title=text or "x",
        source=text,
        author=text,
        excerpt=text,
        note=text,
        also_via=(text or "x", "b"),
        covered_by=(Coverage(text or "x", text, "https://example.org/c?a=1&b=2"),),
        published=datetime(2015, 8, 12, 9, 30, 15, 250, tzinfo=timezone(timedelta(hours=5.5))),
    )
    draft = replace(
        sample_draft(),
        subject=text,
        preheader=text,
        intro=text,
        sections=(DraftSection(text or "x", text, (item,)),),
    )
    dumped = dump_draft(draft)
    assert parse_draft(dumped, PATH) == draft
    assert dump_draft(parse_draft(dumped, PATH)) == dumped


def test_round_trip_keeps_offsets() -> None:
    """Dates come back as the same instants with the same UTC offsets."""
    parsed = parse_draft(dump_draft(draft_of(*GROUPS)), PATH)
    assert parsed.window_start.isoformat() == "2015-08-08T00:00:00-04:00"
    assert [i.published.isoformat() for i in parsed.items if i.published] == [
        "2015-08-12T09:30:00-04:00"
    ] * 5


def test_dump_is_deterministic() -> None:
    """Dumping the same draft twice, or a parsed dump, gives identical bytes."""
    draft = draft_of(*GROUPS)
    assert dump_draft(draft) == dump_draft(draft)
    assert dump_draft(parse_draft(dump_draft(draft), PATH)) == dump_draft(draft)


def test_empty_draft_round_trips() -> None:
    """A draft with no sections and nothing known is written and read back."""
    draft = draft_of()
    assert "sections: []\nknown: []  # managed by roundup" in dump_draft(draft)
    assert parse_draft(dump_draft(draft), PATH) == draft


def test_long_urls_are_not_folded() -> None:
    """A long link stays on one line, so the editor can copy it."""
    link = "https://example.org/" + "segment-" * 40
    draft = draft_of(Group("News", "", (Story(entry(1, link=link, canonical_url=link)),)))
    assert f"        link: {link}\n" in dump_draft(draft)


def test_save_then_load(tmp_path: Path) -> None:
    """save_draft creates the week's folder; load_draft reads the draft back."""
    path = tmp_path / "out" / "2015-W33" / "draft.yaml"
    save_draft(path, sample_draft())
    assert path.read_text(encoding="utf-8") == EXPECTED_YAML
    assert load_draft(path) == sample_draft()


def test_save_draft_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write leaves the old draft intact and no temporary file behind."""
    path = tmp_path / "draft.yaml"
    save_draft(path, sample_draft())

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DraftError, match=r"draft\.yaml: cannot write it \(disk full\)"):
        save_draft(path, draft_of(*GROUPS))
    assert path.read_text(encoding="utf-8") == EXPECTED_YAML
    assert [p.name for p in tmp_path.iterdir()] == ["draft.yaml"]


# --- malformed drafts --------------------------------------------------------------------------

TOP = """\
week: 2015-W33
number: 12
window: {start: '2015-08-08T00:00:00-04:00', end: '2015-08-15T00:00:00-04:00'}
"""
ONE_ITEM = (
    TOP
    + """\
sections:
  - name: Analysis
    items:
      - title: First
        link: https://example.org/1
"""
)
ADVICE = "(fix it, or move draft.yaml away and re-run `roundup draft`)"
ITEM_ADVICE = "(fix the item or delete it)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            ONE_ITEM + "      - title: Second\n        link: foo\n",
            f"10: sections[0].items[1].link: expected an absolute http(s) URL, got 'foo' "
            f"{ITEM_ADVICE}",
            id="relative link",
        ),
        pytest.param(
            ONE_ITEM + "      - title: Second\n        link: ftp://example.org/2\n",
            "10: sections[0].items[1].link: expected an absolute http(s) URL, "
            f"got 'ftp://example.org/2' {ITEM_ADVICE}",
            id="ftp link",
        ),
        pytest.param(
            ONE_ITEM + "      - title: Second\n        link: 'http://[::1'\n",
            "10: sections[0].items[1].link: expected an absolute http(s) URL, "
            f"got 'http://[::1' {ITEM_ADVICE}",
            id="unparsable link",
        ),
        pytest.param(
            ONE_ITEM + "      - title: Second\n        link: ''\n",
            f"10: sections[0].items[1].link: expected an absolute http(s) URL, got '' "
            f"{ITEM_ADVICE}",
            id="empty link",
        ),
        pytest.param(
            ONE_ITEM + "      - title: Second\n",
            f"9: sections[0].items[1].link: missing {ITEM_ADVICE}",
            id="missing link",
        ),
        pytest.param(
            ONE_ITEM + "      - link: https://example.org/2\n",
            f"9: sections[0].items[1].title: missing {ITEM_ADVICE}",
            id="missing title",
        ),
        pytest.param(
            ONE_ITEM + "      - title:\n        link: https://example.org/2\n",
            f"9: sections[0].items[1].title: missing {ITEM_ADVICE}",
            id="null title",
        ),
        pytest.param(
            ONE_ITEM + "      - title: ' '\n        link: https://example.org/2\n",
            f"9: sections[0].items[1].title: is empty {ITEM_ADVICE}",
            id="blank title",
        ),
        pytest.param(
            ONE_ITEM + "      - title: 42\n        link: https://example.org/2\n",
            "9: sections[0].items[1].title: expected text, got the number 42 (put it in quotes)",
            id="numeric title",
        ),
        pytest.param(
            ONE_ITEM + "        covered_by:\n          - source: B\n            link: nope\n",
            "11: sections[0].items[0].covered_by[0].link: expected an absolute http(s) URL,"
            " got 'nope' (fix the entry or delete it)",
            id="covered_by bad link",
        ),
        pytest.param(
            ONE_ITEM
            + "        covered_by:\n          - title: B\n            link: https://b.example/\n",
            "10: sections[0].items[0].covered_by[0].source: missing (fix the entry or delete it)",
            id="covered_by without source",
        ),
        pytest.param(
            ONE_ITEM + "      - titel: Second\n        link: https://example.org/2\n",
            "9: sections[0].items[1].titel: unknown key (did you mean 'title'?)",
            id="misspelt key",
        ),
        pytest.param(
            ONE_ITEM + "        read_minutes: four\n",
            "9: sections[0].items[0].read_minutes: expected whole minutes from 0 to 600, "
            "got 'four' (fix the item or delete it)",
            id="read time in words",
        ),
        pytest.param(
            ONE_ITEM + "        colour: red\n",
            "9: sections[0].items[0].colour: unknown key (allowed: title, link, source, "
            "author, date, excerpt, note, read_minutes, image, also_via, covered_by, new, key)",
            id="unknown key",
        ),
        pytest.param(
            ONE_ITEM + "        date: yesterday\n",
            "9: sections[0].items[0].date: expected an ISO 8601 date-time like "
            f"'2015-08-12T09:30:00-04:00', got 'yesterday' {ITEM_ADVICE}",
            id="bad date",
        ),
        pytest.param(
            ONE_ITEM + "        date: 2015-02-30\n",
            "9: sections[0].items[0].date: expected an ISO 8601 date-time like "
            f"'2015-08-12T09:30:00-04:00', got '2015-02-30' {ITEM_ADVICE}",
            id="impossible date",
        ),
        pytest.param(
            ONE_ITEM + "        new: yes\n",
            f"9: sections[0].items[0].new: expected true or false, got 'yes' {ITEM_ADVICE}",
            id="new not a boolean",
        ),
        pytest.param(
            ONE_ITEM + "        also_via: Other\n",
            f"9: sections[0].items[0].also_via: expected a list, got 'Other' {ITEM_ADVICE}",
            id="also_via not a list",
        ),
        pytest.param(
            ONE_ITEM + "        also_via: [Other, 3]\n",
            "9: sections[0].items[0].also_via[1]: expected text, got the number 3 "
            "(put it in quotes)",
            id="also_via number",
        ),
        pytest.param(
            ONE_ITEM + "      - https://example.org/2\n",
            "9: sections[0].items[1]: expected a mapping of keys, got 'https://example.org/2' "
            f"{ITEM_ADVICE}",
            id="item not a mapping",
        ),
        pytest.param(
            ONE_ITEM + "      - title: Again\n        link: https://EXAMPLE.org/1\n",
            "9: sections[0].items[1]: duplicate of sections[0].items[0], "
            "key 'editor:https://example.org/1' (delete one of the two)",
            id="same link twice",
        ),
        pytest.param(
            ONE_ITEM.replace("1\n", "1\n        key: k\n")
            + "  - name: News\n    items:\n      - title: Copy\n        link: https://e.org/\n"
            "        key: k\n",
            "12: sections[1].items[0]: duplicate of sections[0].items[0], key 'k' "
            "(delete one of the two)",
            id="same key twice",
        ),
        pytest.param(
            ONE_ITEM + "  - description: Orphan\n",
            "9: sections[1].name: missing (fix the section or delete it)",
            id="section without name",
        ),
        pytest.param(
            ONE_ITEM + "  - name: Analysis\n",
            "9: sections[1].name: 'Analysis' is listed twice (merge the two sections)",
            id="section twice",
        ),
        pytest.param(
            ONE_ITEM + "  - name: News\n    item: []\n",
            "10: sections[1].item: unknown key (did you mean 'items'?)",
            id="section misspelt key",
        ),
        pytest.param(
            ONE_ITEM + "  - name: News\n    items: {title: x}\n",
            "10: sections[1].items: expected a list, got a mapping (fix the section or delete it)",
            id="items not a list",
        ),
        pytest.param(
            TOP + "sections:\n  name: Analysis\n",
            f"4: sections: expected a list, got a mapping {ADVICE}",
            id="sections not a list",
        ),
        pytest.param(
            TOP + "sections: Analysis\n",
            f"4: sections: expected a list, got 'Analysis' {ADVICE}",
            id="sections is text",
        ),
        pytest.param(
            "- week\n- number\n",
            f"1: top level: expected a mapping of keys, got a list {ADVICE}",
            id="not a mapping",
        ),
        pytest.param(
            "just text\n",
            f"1: top level: expected a mapping of keys, got 'just text' {ADVICE}",
            id="plain text",
        ),
        pytest.param(
            TOP + "subjet: Hello\n",
            "4: subjet: unknown key (did you mean 'subject'?)",
            id="misspelt top key",
        ),
        pytest.param(
            TOP.replace("week: 2015-W33\n", ""),
            f"1: week: missing {ADVICE}",
            id="missing week",
        ),
        pytest.param(
            TOP.replace("2015-W33", "33"),
            f"1: week: expected an ISO week like 2015-W33, got the number 33 {ADVICE}",
            id="bad week",
        ),
        pytest.param(
            TOP.replace("12", "twelve"),
            f"2: number: expected a whole number, got 'twelve' {ADVICE}",
            id="bad number",
        ),
        pytest.param(
            TOP.replace("number: 12", "number: -1"),
            f"2: number: expected a whole number, got the number -1 {ADVICE}",
            id="negative number",
        ),
        pytest.param(
            TOP.replace("-04:00'}", "-04:00', ending: x}"),
            "3: window.ending: unknown key (did you mean 'end'?)",
            id="window unknown key",
        ),
        pytest.param(
            TOP.replace(", end: '2015-08-15T00:00:00-04:00'", ""),
            f"3: window.end: missing {ADVICE}",
            id="window without end",
        ),
        pytest.param(
            TOP.replace("2015-08-08T00:00:00-04:00", "2015-08-08T00:00:00"),
            "3: window.start: expected an ISO 8601 date-time like '2015-08-12T09:30:00-04:00', "
            f"got '2015-08-08T00:00:00' {ADVICE}",
            id="window without offset",
        ),
        pytest.param(
            TOP.replace("2015-08-15", "2015-08-01"),
            f"3: window.end: must be after window.start {ADVICE}",
            id="window backwards",
        ),
        pytest.param(
            TOP + "intro: [a, b]\n",
            "4: intro: expected text, got a list (put it in quotes)",
            id="intro a list",
        ),
        pytest.param(
            TOP + "known: x\n",
            "4: known: expected a list, got 'x' (known is managed by roundup; undo the change)",
            id="known not a list",
        ),
        pytest.param(
            TOP + "known:\n  - a\n  - 3\n",
            "6: known[1]: expected text, got the number 3 (put it in quotes)",
            id="known with a number",
        ),
        pytest.param(
            ONE_ITEM.replace("title: First", "title: [First"),
            "8: not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
            "started on line 7)",
            id="unclosed bracket",
        ),
        pytest.param(
            ONE_ITEM + "        title: Again\n",
            "9: title: given twice in one mapping (keep one; the other is on line 7)",
            id="duplicate YAML key",
        ),
        pytest.param(
            ONE_ITEM + "\t- x\n",
            "9: not valid YAML: found a tab character that violates indentation (while scanning "
            "a plain scalar started on line 8)",
            id="tab",
        ),
    ],
)
def test_malformed_draft_rejected(text: str, message: str) -> None:
    """A malformed draft raises DraftError naming the file, the line and the fault."""
    with pytest.raises(DraftError) as caught:
        parse_draft(text, PATH)
    assert str(caught.value) == f"{PATH}:{message}"


def test_valid_base_of_the_table_parses() -> None:
    """The snippet the malformed cases extend is itself a valid draft."""
    draft = parse_draft(ONE_ITEM, PATH)
    assert draft.items == (
        DraftItem(
            key="editor:https://example.org/1",
            title="First",
            link="https://example.org/1",
            source="",
            published=None,
            excerpt="",
        ),
    )
    assert (draft.subject, draft.preheader, draft.intro, draft.known) == ("", "", "", ())


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("'2015-08-12T09:30:00-04:00'", datetime(2015, 8, 12, 9, 30, tzinfo=EDT)),
        ("2015-08-12T09:30:00-04:00", datetime(2015, 8, 12, 9, 30, tzinfo=EDT)),
        ("2015-08-12T13:30:00Z", datetime(2015, 8, 12, 13, 30, tzinfo=UTC)),
        ("2015-08-12 09:30", datetime(2015, 8, 12, 9, 30, tzinfo=EDT)),
        ("2015-08-12", datetime(2015, 8, 12, tzinfo=EDT)),
        ("", None),
    ],
)
def test_hand_written_dates(written: str, published: datetime | None) -> None:
    """Quoted or not, dates parse; without an offset they are read in the window's offset."""
    got = parse_draft(ONE_ITEM + f"        date: {written}\n", PATH).items[0].published
    # isoformat compares the offset as well as the instant
    assert (got and got.isoformat()) == (published and published.isoformat())


def test_id_keyed_item_may_have_no_link() -> None:
    """An item roundup proposed for an entry without any link is readable without a link."""
    story = Story(entry(1, link="", canonical_url=""))
    draft = draft_of(Group("News", "", (story,)))
    assert parse_draft(dump_draft(draft), PATH) == draft


def test_empty_file_rejected() -> None:
    """An empty draft is an error that says what to do."""
    with pytest.raises(DraftError) as caught:
        parse_draft("# nothing\n", PATH)
    assert str(caught.value) == f"{PATH}: the draft is empty {ADVICE}"


def test_missing_file_rejected(tmp_path: Path) -> None:
    """Loading a draft that does not exist names the path."""
    path = tmp_path / "2015-W33" / "draft.yaml"
    with pytest.raises(DraftError) as caught:
        load_draft(path)
    assert str(caught.value) == f"{path}: no such file (run `roundup draft` first)"


def test_unreadable_file_rejected(tmp_path: Path) -> None:
    """A draft that is not UTF-8 is an error naming the path."""
    path = tmp_path / "draft.yaml"
    path.write_bytes(b"title: \xff\n")
    with pytest.raises(DraftError, match=r"draft\.yaml: cannot read it \("):
        load_draft(path)


# --- what libyaml writes: real drafts unchanged, any text read back ----------------------------


def test_the_bundled_draft_is_rewritten_byte_for_byte() -> None:
    """The golden draft.yaml, read and written again, is the same file."""
    written = GOLDEN.read_text(encoding="utf-8")
    assert dump_draft(parse_draft(written, GOLDEN)) == written


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("yes", "    description: 'yes'"),  # text in YAML 1.2, but a boolean in YAML 1.1
        ("0o17", "    description: '0o17'"),
        ("1_000", "    description: '1_000'"),
        ("2015-08-12", "    description: '2015-08-12'"),
        ("Ending 🎉 well", "    description: Ending 🎉 well"),
        ("It's: here", '    description: "It\'s: here"'),
        ("Markdown  \nbreak", '    description: "Markdown  \\nbreak"'),
        ("Line one\nline two", "    description: |-\n      Line one\n      line two"),
    ],
)
def test_how_text_is_written(text: str, line: str) -> None:
    """Quotes where any YAML reader would see something other than this text; emoji as
    they are; a | block for lines, unless a line ends in spaces (an editor would lose them)."""
    draft = draft_of(Group("News", text, (Story(entry(1)),)))
    dumped = dump_draft(draft)
    assert f"\n{line}\n" in dumped
    assert parse_draft(dumped, PATH) == draft


ATOMS = [
    "a", "b", "Z", " ", "  ", ":", ": ", " :", "#", " #", "-", "- ", "?", "? ", ",", "[", "]",
    "{", "}", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`", "\\", "\n", "\n\n", "\t",
    "\x85", "\xa0", "\u2028", "é", "…", "·", "—", "😀", "true", "True", "no", "yes", "null",
    "~", "1", "0", "12", "-1", "1.5", "1e3", "0x1F", ".inf", "2015-08-12",
    "2015-08-12T09:30:00-04:00", "=", "<<", "---", "...", "http://x.org/a?b=c#d", "{{", "{%",
    "1_000", "+1", "Null", "FALSE", " \n", "\n ", "x\n", "\u200b",
]  # fmt: skip


def hostile_text(rnd: random.Random, most: int = 6) -> str:
    if rnd.random() < 0.1:
        return rnd.choice(ATOMS)
    return "".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, most)))


def hostile_draft(rnd: random.Random) -> Draft:
    """A draft whose every text is random YAML-looking noise (titles are never blank)."""

    def item(n: int) -> DraftItem:
        return DraftItem(
            key=f"k{n}:{hostile_text(rnd)}",
            title=hostile_text(rnd) + "t",
            link="https://example.org/" + hostile_text(rnd).replace("\n", ""),
            source=hostile_text(rnd),
            published=None if rnd.random() < 0.3 else datetime(2015, 8, 12, 9, 30, tzinfo=EDT),
            excerpt=hostile_text(rnd),
            note=hostile_text(rnd, 10),
            image=rnd.choice([None, hostile_text(rnd) + "i"]),
            also_via=tuple(hostile_text(rnd) for _ in range(rnd.choice([0, 0, 1, 3]))),
            new=rnd.random() < 0.3,
        )

    sections = tuple(
        DraftSection(
            f"s{s}{hostile_text(rnd)}",
            hostile_text(rnd),
            tuple(item(s * 10 + i) for i in range(rnd.randint(0, 3))),
        )
        for s in range(rnd.randint(0, 3))
    )
    return Draft(
        week="2015-W33",
        number=rnd.choice([0, 7, 10**6]),
        subject=hostile_text(rnd),
        preheader=hostile_text(rnd),
        intro=hostile_text(rnd, 12),
        sections=sections,
        window_start=datetime(2015, 8, 8, tzinfo=EDT),
        window_end=datetime(2015, 8, 15, tzinfo=EDT),
        known=tuple(dict.fromkeys(hostile_text(rnd) for _ in range(rnd.choice([0, 1, 3])))),
    )


@pytest.mark.parametrize("seed", range(4))
def test_hostile_drafts_round_trip(seed: int) -> None:
    """Whatever the text, the draft written is read back the same, and writes the same bytes."""
    rnd = random.Random(seed)
    for _ in range(100):
        draft = hostile_draft(rnd)
        dumped = dump_draft(draft)
        assert parse_draft(dumped, PATH) == draft, dumped
        assert dump_draft(parse_draft(dumped, PATH)) == dumped


def test_editors_comments_are_read_and_not_kept(tmp_path: Path) -> None:
    """Comments the editor adds are allowed; rewriting the draft keeps only roundup's own."""
    path = tmp_path / "draft.yaml"
    save_draft(path, sample_draft())
    commented = (
        EXPECTED_YAML.replace("sections:\n", "# my plan for this week\nsections:  # three\n")
        .replace("        note: ''\n", "        note: ''  # write one?\n")
        .replace("known:  # managed", "# do not touch\nknown:  # managed")
    )
    path.write_text(commented, encoding="utf-8")
    assert load_draft(path) == sample_draft()
    save_draft(path, load_draft(path))
    assert path.read_text(encoding="utf-8") == EXPECTED_YAML


# --- what draft.yaml never holds: anchors, aliases, tags, keys that are not names ---------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            TOP + "intro: &words Hello\nsubject: *words\n",
            "4: anchor &words: roundup's files have no anchors or aliases (remove it, and "
            "write out in full every value that refers to it)",
            id="anchor",
        ),
        pytest.param(
            ONE_ITEM + "        also_via: *others\n",
            "9: alias *others: roundup's files have no anchors or aliases (write the value "
            "out in full)",
            id="alias",
        ),
        pytest.param(
            ONE_ITEM + "        note: !!binary aGk=\n",
            "9: tag !!binary: roundup's files have no tags (remove it; quotes make a value text)",
            id="tag",
        ),
        pytest.param(
            ONE_ITEM + "        [a, b]: c\n",
            "9: a list or mapping as a key: roundup's keys are names (write the key as text)",
            id="list as a key",
        ),
    ],
)
def test_refused_in_the_draft(text: str, message: str) -> None:
    with pytest.raises(DraftError) as caught:
        parse_draft(text, PATH)
    assert str(caught.value) == f"{PATH}:{message}"


def test_an_alias_bomb_is_refused_quickly() -> None:
    """A few lines that would expand to 9**9 titles are refused at the first anchor."""
    bomb = ["      - title: &t0 [x, x, x, x, x, x, x, x, x]", "        link: https://e.org/"]
    for level in range(1, 9):
        refs = ", ".join([f"*t{level - 1}"] * 9)
        bomb += [f"      - title: &t{level} [{refs}]", f"        link: https://e.org/{level}"]
    with pytest.raises(DraftError) as caught:
        parse_draft(ONE_ITEM + "\n".join(bomb) + "\n", PATH)
    assert str(caught.value) == (
        f"{PATH}:9: anchor &t0: roundup's files have no anchors or aliases (remove it, and "
        "write out in full every value that refers to it)"
    )


@pytest.mark.parametrize("value", ["no", "off", "1:20", "1_000", "2015-08-12", "0b11"])
def test_yaml_1_1_values_are_text(value: str) -> None:
    """What YAML 1.1 would read as a boolean, a number or a date is text in the draft."""
    text = ONE_ITEM.replace("title: First", f"title: {value}\n        note: {value}")
    item = parse_draft(text, PATH).items[0]
    assert (item.title, item.note) == (value, value)


def test_octal_numbers_are_yaml_1_2() -> None:
    assert parse_draft(TOP.replace("number: 12", "number: 0o17"), PATH).number == 15
