"""``roundup explain URL``: why a post is in the week's issue, or why it is not."""

from __future__ import annotations

from pathlib import Path

from roundup.config import Config
from roundup.draft import load_draft
from roundup.models import Draft
from roundup.normalize import canonical_url
from roundup.select import select_stories
from roundup.store import Store
from roundup.week import Window


def explain(config: Config, store: Store, *, window: Window, url: str, draft_file: Path) -> str:
    """Lines saying what became of every stored copy of ``url`` for ``window``'s issue."""
    key = canonical_url(url)
    copies = store.entries_with_url(key)
    if not copies:
        return (
            f"{url}: no fetched entry has this link. Is its feed in feeds.yaml, "
            "and has `roundup fetch` run since it was published?\n"
        )
    in_window = store.entries_between(window.start, window.end)
    known = {(e.feed, e.id) for e in in_window}
    entries = in_window + [e for e in copies if (e.feed, e.id) not in known]
    selection = select_stories(
        entries,
        window=window,
        feeds=config.feeds,
        max_items=config.newsletter.max_items,
        sent_urls=store.sent_urls(excluding=window.week),
    )
    draft = load_draft(draft_file) if draft_file.exists() else None
    lines = [f"{url} in {window.week}:"]
    for verdict in selection.verdicts_for(key):
        entry = verdict.entry
        head = f"  {entry.title!r} from {entry.source}"
        if verdict.reason != "selected":
            lines.append(f"{head}: out: {verdict.reason.replace('_', ' ')}: {verdict.detail}")
        else:
            lines.append(f"{head}: selected; {_draft_fate(draft, key, window)}")
    return "".join(line + "\n" for line in lines)


def _draft_fate(draft: Draft | None, key: str, window: Window) -> str:
    if draft is None:
        return f"no draft yet (run `roundup draft --week {window.week}`)"
    for section in draft.sections:
        for position, item in enumerate(section.items, start=1):
            if item.key == key:
                return f"in the draft: section '{section.name}', item {position}"
    if key in draft.removed:
        return "removed by the editor from draft.yaml (it stays removed)"
    return f"not in the draft yet (run `roundup draft --week {window.week}` to add it)"
