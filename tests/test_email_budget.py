"""The email's size budget: the order in which a large issue is degraded to fit."""

from __future__ import annotations

import pytest

from roundup.email_budget import MORE_LIMIT, Layout, plan, shown, size
from roundup.issue_view import issue_view
from tests.test_render import big_draft, sample_config


def _cost(layout: Layout) -> int:
    """A made-up size: 6 per item shown, 4 more with its excerpt, 1 per link."""
    return 6 * layout.body + 4 * min(layout.excerpts, layout.body) + layout.more


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (100, Layout(10, 10, 0)),  # everything fits
        (70, Layout(2, 10, 0)),  # excerpts go from the end first
        (40, Layout(0, 6, 4)),  # then the fewest items move to "More this week"
        (42, Layout(0, 6, 4)),  # ...and the rest only get excerpts back that fit
        (44, Layout(1, 6, 4)),
    ],
)
def test_plan_degrades_in_the_documented_order(budget: int, expected: Layout) -> None:
    """Excerpts first, then items to links; what stays gets back what fits."""
    assert plan(10, lambda layout: _cost(layout) <= budget) == expected


def test_plan_caps_more_this_week() -> None:
    """At most MORE_LIMIT links: items past them are left to the blog post."""
    count = MORE_LIMIT + 100
    layout = plan(count, lambda layout: layout.body <= 10)
    assert layout == Layout(10, 10, MORE_LIMIT)


def test_shown_splits_the_issue_by_layout() -> None:
    """Items in full, then without excerpt, then as links; empty sections disappear."""
    issue = issue_view(big_draft(9), sample_config())  # three sections of three
    sections, more = shown(issue, Layout(excerpts=2, body=4, more=3))
    items = [item for section in sections for item in section.items]
    assert [item.index for item in items] == [0, 1, 2, 3]
    assert [bool(item.excerpt) for item in items] == [True, True, False, False]
    assert len(sections) == 2
    assert [item.index for item in more] == [4, 5, 6]


def test_size_counts_utf8_bytes() -> None:
    """Gmail's limit is on bytes, so a non-ASCII character counts for its encoding."""
    assert size("août") == 5
