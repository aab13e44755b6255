"""``roundup explain URL``: why a post is in the week's issue, or why it is not."""

from __future__ import annotations

from roundup.models import Draft
from roundup.normalize import canonical_url
from roundup.select import Selection
from roundup.week import Window


def explain_selection(
    url: str, key: str, window: Window, selection: Selection | None, draft: Draft | None
) -> str:
    """Lines saying what became of every stored copy of ``url`` (canonical ``key``).

    ``selection`` is the window's selection with every stored copy of ``key`` judged (None
    when no fetched entry has the link); ``draft`` is the week's draft, if written.
    """
    if selection is None:
        return (
            f"{url}: no fetched entry has this link. Is its feed in feeds.yaml, "
            "and has `roundup fetch` run since it was published?\n"
        )
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
            if any(canonical_url(other.link) == key for other in item.covered_by):
                return (
                    f"in the draft under \"also covered by\" of section '{section.name}',"
                    f" item {position} ({item.title!r}), the same event"
                )
    if key in draft.removed:
        return "removed by the editor from draft.yaml (it stays removed)"
    return f"not in the draft yet (run `roundup draft --week {window.week}` to add it)"
