"""The fast draft.yaml writer and reader agree with ruamel on random and awkward drafts.

The fast path exists for speed only (a 1,000-item draft: about 1.5 s with ruamel); these
tests hold it to ruamel's bytes when writing and to ruamel's result when reading.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from roundup import draft_file, draft_yaml
from roundup.errors import DraftError
from roundup.models import Draft, DraftItem, DraftSection

ATOMS = [
    "a", "b", "Z", " ", "  ", ":", ": ", " :", "#", " #", "-", "- ", "?", "? ", ",", "[", "]",
    "{", "}", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`", "\\", "\n", "\n\n", "\t",
    "\x85", "\xa0", "\u2028", "é", "…", "·", "—", "😀", "true", "True", "no", "yes", "null",
    "~", "1", "0", "12", "-1", "1.5", "1e3", "0x1F", ".inf", "2015-08-12",
    "2015-08-12T09:30:00-04:00", "=", "<<", "---", "...", "http://x.org/a?b=c#d", "{{", "{%",
    "1_000", "+1", "Null", "FALSE", " \n", "\n ", "x\n", "\u200b",
]  # fmt: skip
SEEDS = range(8)
PER_SEED = 150


def text(rnd: random.Random, most: int = 6) -> str:
    if rnd.random() < 0.1:
        return rnd.choice(ATOMS)
    return "".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, most)))


def item(rnd: random.Random, n: int) -> DraftItem:
    zone = timezone(timedelta(hours=rnd.randint(-12, 12)))
    return DraftItem(
        key=text(rnd) or f"k{n}",
        title=text(rnd),
        link=text(rnd),
        source=text(rnd),
        published=None if rnd.random() < 0.3 else datetime(2015, 8, 12, 9, 30, tzinfo=zone),
        excerpt=text(rnd),
        note=text(rnd, 10),
        image=rnd.choice([None, "", text(rnd)]),
        also_via=tuple(text(rnd) for _ in range(rnd.choice([0, 0, 1, 3]))),
        new=rnd.random() < 0.3,
    )


def draft(rnd: random.Random) -> Draft:
    zone = timezone(timedelta(hours=rnd.randint(-5, 5)))
    sections = tuple(
        DraftSection(text(rnd), text(rnd), tuple(item(rnd, i) for i in range(rnd.randint(0, 3))))
        for _ in range(rnd.randint(0, 3))
    )
    return Draft(
        week="2015-W33",
        number=rnd.choice([1, 7, 10**6]),
        subject=text(rnd),
        preheader=text(rnd),
        intro=text(rnd, 12),
        sections=sections,
        window_start=datetime(2015, 8, 8, tzinfo=zone),
        window_end=datetime(2015, 8, 15, tzinfo=zone),
        known=tuple(text(rnd) for _ in range(rnd.choice([0, 1, 3]))),
    )


def drafts(seed: int) -> list[Draft]:
    rnd = random.Random(seed)
    return [draft(rnd) for _ in range(PER_SEED)]


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_writer_writes_ruamels_bytes(seed: int) -> None:
    """Whenever the fast writer accepts a draft, its text equals ruamel's to the byte."""
    accepted = 0
    for case in drafts(seed):
        try:
            fast = draft_yaml.dump(case)
        except draft_yaml.Unsupported:
            continue
        accepted += 1
        assert fast == draft_file.dump_with_ruamel(case), case
    assert accepted > 10, "the fast writer handles a share even of these hostile drafts"


@pytest.mark.parametrize("seed", SEEDS)
def test_reading_gives_ruamels_result(seed: int) -> None:
    """parse_draft (fast reader first) equals ruamel's reading, error text included."""
    path = Path("d.yaml")
    for case in drafts(seed):
        written = draft_file.dump_with_ruamel(case)
        assert outcome(draft_file.parse_draft, written, path) == outcome(
            draft_file._parse_with_ruamel, written, path
        )


def outcome(read: object, written: str, path: Path) -> tuple[str, object]:
    try:
        return ("ok", read(written, path))  # type: ignore[operator]
    except DraftError as exc:
        return ("error", str(exc))


def test_real_drafts_take_the_fast_path_both_ways() -> None:
    """The bundled issue's draft is written and read without falling back to ruamel."""
    golden = Path(__file__).parent / "golden" / "bundled" / "draft.yaml"
    written = golden.read_text("utf-8")
    data = draft_yaml.load(written)  # raises Unsupported on a fallback
    parsed = draft_file.parse_draft(written, golden)
    assert data["week"] == parsed.week == "2015-W33"
    assert draft_yaml.dump(parsed) == written
