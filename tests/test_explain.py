"""`roundup explain URL`: every reason a post is in or out, on the bundled sample feeds."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.config import Config, load_config
from roundup.draft_file import load_draft, save_draft
from roundup.models import DraftSection
from roundup.pipeline import draft_path, explain, fetch_feeds, make_draft, resolve_window
from roundup.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)
SUEZ = "https://elicitor.example.org/2015/08/05/what-the-suez-expansion-changes/"
FON = "https://elicitor.example.org/2015/08/12/freedom-of-navigation-is-not-a-press-release/"
YUAN = "https://strait-talk.example.net/2015/08/11/yuan-move-region/"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    text = (ROOT / "feeds.yaml").read_text()
    text = text.replace("    max_items: 5\n", "    max_items: 2\n    exclude: [yuan]\n")
    (tmp_path / "feeds.yaml").write_text(text)
    loaded = load_config(tmp_path / "feeds.yaml")
    with Store.open(loaded.state) as store:
        fetch_feeds(loaded, store, now=NOW)
    return loaded


def why(config: Config, url: str) -> str:
    return explain(config, url=url, week="2015-W33", now=NOW)


def test_outside_the_window(config: Config) -> None:
    """A post from the week before says when it was published and what the window is."""
    assert why(config, SUEZ) == (
        f"{SUEZ} in 2015-W33:\n"
        "  'What the Suez expansion does and does not change' from The Elicitor: out: "
        "outside window: published 2015-08-05 14:00 EDT, before the window "
        "Sat 2015-08-08 00:00 – Sat 2015-08-15 00:00 EDT\n"
    )


def test_duplicate_names_the_copy_that_was_kept(config: Config) -> None:
    """The syndicated copy is out as a duplicate of the newsletter's own post."""
    text = why(config, FON + "?utm_source=rss")
    assert "from Harbor & Helm: out: duplicate: duplicate of " in text
    assert "'Freedom of Navigation Is Not a Press Release' (The Elicitor)" in text
    assert "from The Elicitor: selected; no draft yet" in text


def test_filtered_names_the_keyword(config: Config) -> None:
    """An excluded post names the keyword that excluded it."""
    assert "out: excluded: matched exclude keyword 'yuan'" in why(config, YUAN)


def test_over_the_feed_cap(config: Config) -> None:
    """Strait Talk's older in-window posts are over its max_items of 2."""
    window = resolve_window(config, "2015-W33", now=NOW)
    from roundup.pipeline import select_week

    with Store.open(config.state) as store:
        verdicts = select_week(config, store, window).verdicts
    capped = [v for v in verdicts if v.reason == "feed_cap"]
    assert len(capped) >= 2, "the test config caps Strait Talk"
    assert "out: feed cap: over the feed's max_items (2)" in why(config, capped[0].entry.link)


def test_already_sent_names_the_issue(config: Config) -> None:
    """A link sent in an earlier issue says which one."""
    with Store.open(config.state) as store:
        store.issue_number("2015-W32", first=1)
        store.mark_sent("2015-W32", [FON], at=NOW)
    assert "out: already sent: " in why(config, FON)
    assert "issue 1 (2015-W32)" in why(config, FON)


def test_draft_position_and_editor_removal(config: Config) -> None:
    """A selected post says where it sits in the draft, or that the editor removed it."""
    window = resolve_window(config, "2015-W33", now=NOW)
    with Store.open(config.state) as store:
        draft = make_draft(config, store, window=window).draft
    assert "in the draft: section 'From The Elicitor', item 3" in why(config, FON)
    first = draft.sections[0]
    kept = tuple(item for item in first.items if item.key != FON)
    trimmed = replace(draft, sections=(DraftSection(first.name, first.description, kept),
                                       *draft.sections[1:]))  # fmt: skip
    save_draft(draft_path(config, "2015-W33"), trimmed)
    assert load_draft(draft_path(config, "2015-W33")).removed == (FON,)
    assert "selected; removed by the editor from draft.yaml (it stays removed)" in why(config, FON)


def test_unknown_link(config: Config) -> None:
    """A link no feed carried says what to check."""
    assert why(config, "https://nowhere.example/x") == (
        "https://nowhere.example/x: no fetched entry has this link. Is its feed in "
        "feeds.yaml, and has `roundup fetch` run since it was published?\n"
    )


def test_an_article_shown_as_coverage_says_under_which_item(config: Config) -> None:
    """An article grouped under another feed's story says where it is shown."""
    window = resolve_window(config, "2015-W33", now=NOW)
    with Store.open(config.state) as store:
        make_draft(config, store, window=window)
    minsk = "https://steppe-review.example.com/2015/08/10/minsk-six-months/"
    assert why(config, minsk) == (
        f"{minsk} in 2015-W33:\n"
        "  'Minsk II at six months: counting what the monitors count' from Steppe Review:"
        " selected; in the draft under \"also covered by\" of section 'From The Elicitor',"
        " item 2 ('Deterrence & Its Discontents: Reading the Minsk Ledger'), the same event\n"
    )
