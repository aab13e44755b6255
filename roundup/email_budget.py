"""The email's size budget: fitting a large issue under Gmail's clipping size.

Gmail clips an HTML part above about 102 KB (S1). The email is fitted to :data:`EMAIL_WARN`
by degrading in a documented order (see :func:`plan`): first the excerpts of the last
items go, then items move to "More this week" (at most :data:`MORE_LIMIT` links), then the
rest are left to the blog post. :meth:`Email.fitted` gives the result as a
:class:`FittedEmail`: the HTML to send, what its template was given (which the text part
reuses, so that it lists the same items) and notices of what was given up.

Sizes are those of the inlined HTML (:func:`roundup.email_css.inline`) and come from a
*probe*: one rendering with every piece the budget weighs bracketed by
``<!--@kind:n-->`` markers (``budget_mark()`` in the templates). Inlined sizes add up, so
the size of any layout is the probe's size minus the pieces it leaves out. The default
theme's CSS uses classes only (no sibling or pseudo-class selectors), so with it each
item's inlined bytes do not depend on the other items: the probe then covers only as many
items as could possibly fit, plus the links that could follow them, and the bytes between
pieces are counted for the rest. Sizes, and so every decision, are the same as with a probe
of the whole issue, at a fraction of premailer's work.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

from roundup.email_css import inline
from roundup.i18n import labels
from roundup.issue_view import IssueView, ItemView, SectionView

# Gmail clips an HTML part above about 102 KB (S1); ESP link rewriting adds bytes, so the
# email is trimmed to EMAIL_WARN, and a notice is raised only when it cannot be.
EMAIL_LIMIT = 102_000
EMAIL_WARN = 90_000
# "More this week" lists at most this many links; anything past it is only in the post.
MORE_LIMIT = 300
# A probe of the default theme first covers this many items (each takes 0.5-2 KB inlined).
_FIRST_PROBE = 160

_MARK = re.compile(rb"<!--@(/?)([a-z]+):(\d+)-->")


def size(html: str) -> int:
    """The size that Gmail's limit applies to: ``html``'s UTF-8 bytes."""
    return len(html.encode("utf-8"))


# --- layouts and their sizes -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """Which items the email shows, and how.

    Items ``[0, body)`` appear in full, those from ``excerpts`` on without their excerpt;
    items ``[body, body + more)`` are listed as links under "More this week"; any after
    that are only in the blog post.
    """

    excerpts: int
    body: int
    more: int


class Estimate:
    """Email sizes for any layout, measured once on a probe rendering.

    The probe shows items ``[0, items)`` in full and lists ``[0, links)`` under "More this
    week", in an issue of ``count`` items; every section keeps its heading (``starts``:
    the first item of each). The bytes between two items of a section (and between two
    links) are the same for all, so a probe that stops early still gives the sizes of a
    whole one. A layout showing more than ``items`` items is reported as not fitting: the
    caller makes sure that those items alone exceed the budget.
    """

    def __init__(
        self, probe: str, count: int, *, items: int, links: int, starts: frozenset[int]
    ) -> None:
        marks = _Marks(items, links, starts)
        marks.read(probe.encode("utf-8"))
        sizes = marks.sizes
        if count and (not all(sizes["item"]) or not all(sizes["more"])):
            raise ValueError("the email template has no (or incomplete) budget markers")
        self.count, self.known = count, items
        self.items = [0, *itertools.accumulate(sizes["item"])]
        self.excerpts = [0, *itertools.accumulate(sizes["excerpt"])]
        self.links = [0, *itertools.accumulate(sizes["more"])]
        # everything but the items and the "More this week" section, items' gaps included
        self.short_frame = marks.length - marks.more_section - self.items[-1]
        self.frame = self.short_frame + (count - items) * marks.gap("item", count - items)
        self.more_frame = marks.more_section - self.links[-1]
        self.more_frame += (count - links) * marks.gap("more", count - links)

    def size(self, layout: Layout) -> int:
        """The inlined size of the email for ``layout``."""
        size = self.frame + self.items[layout.body]
        size -= self.excerpts[layout.body] - self.excerpts[min(layout.excerpts, layout.body)]
        if layout.more:
            end = layout.body + layout.more
            size += self.more_frame + self.links[end] - self.links[layout.body]
        return size

    def fits(self, budget: int, layout: Layout) -> bool:
        """True when ``layout`` shows no item the probe did not see, within ``budget``."""
        return layout.body <= self.known and self.size(layout) <= budget

    def covers(self, target: int) -> bool:
        """True when the probe saw every item, or when its items without their excerpts
        already exceed ``target`` (so no layout showing more of them can fit)."""
        shortest = self.short_frame + self.items[-1] - self.excerpts[-1]
        return self.known == self.count or shortest > target


class _Marks:
    """What the ``<!--@kind:n-->`` markers of a probe say: the size of each piece, the bytes
    between neighbouring pieces, and the probe's length without the markers."""

    def __init__(self, items: int, links: int, starts: frozenset[int]) -> None:
        self.sizes = {"item": [0] * items, "excerpt": [0] * items, "more": [0] * links}
        self.gaps: dict[str, set[int]] = {"item": set(), "more": set()}
        self.starts = starts  # the first item of each section: no gap before it
        self.opened: dict[tuple[str, int], int] = {}
        self.closed: dict[str, tuple[int, int]] = {}  # kind -> (number, end) of the last one
        self.more_section = 0
        self.length = 0

    def read(self, data: bytes) -> None:
        marker_bytes = 0
        for match in _MARK.finditer(data):
            position = match.start() - marker_bytes
            marker_bytes += match.end() - match.start()
            kind, number = match[2].decode(), int(match[3])
            if match[1]:
                self.close(kind, number, position)
            else:
                self.open(kind, number, position)
        self.length = len(data) - marker_bytes

    def open(self, kind: str, number: int, position: int) -> None:
        self.opened[(kind, number)] = position
        last = self.closed.pop(kind, None)
        if kind in self.gaps and last and last[0] + 1 == number and number not in self.starts:
            self.gaps[kind].add(position - last[1])

    def close(self, kind: str, number: int, position: int) -> None:
        if kind == "moresection":
            self.more_section = position - self.opened.pop((kind, number))
        elif (
            kind in self.sizes and number < len(self.sizes[kind]) and (kind, number) in self.opened
        ):
            self.sizes[kind][number] = position - self.opened.pop((kind, number))
            self.closed[kind] = (number, position)

    def gap(self, kind: str, missing: int) -> int:
        """The one size seen between neighbouring pieces (needed only if some are ``missing``)."""
        if not missing:
            return 0
        if len(self.gaps[kind]) != 1:
            raise ValueError("the pieces of the probe are not evenly spaced")
        return next(iter(self.gaps[kind]))


def plan(count: int, fits: Callable[[Layout], bool]) -> Layout:
    """The richest layout that ``fits``, degrading in the documented order.

    First the excerpts of the last items go, one at a time from the end; if the items do not
    fit even without excerpts, the fewest items possible move, from the end, to "More this
    week", and then the items that stay get their excerpts back while they still fit.
    """
    full = Layout(count, count, 0)
    if fits(full):
        return full
    if fits(Layout(0, count, 0)):
        kept = _last_true(0, count, lambda a: fits(Layout(a, count, 0)))
        return Layout(kept, count, 0)

    def moved(m: int) -> Layout:
        return Layout(0, count - m, min(m, MORE_LIMIT))

    m = _first_true(1, count, lambda m: fits(moved(m)))
    body, more = count - m, min(m, MORE_LIMIT)
    kept = _last_true(0, body, lambda a: fits(Layout(a, body, more)))
    return Layout(kept, body, more)


def _first_true(low: int, high: int, predicate: Callable[[int], bool]) -> int:
    """The smallest value in [low, high] where the monotone ``predicate`` holds, else high."""
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _last_true(low: int, high: int, predicate: Callable[[int], bool]) -> int:
    """The largest value in [low, high] where ``predicate`` holds (it holds at low)."""
    while low < high:
        middle = (low + high + 1) // 2
        if predicate(middle):
            low = middle
        else:
            high = middle - 1
    return low


# --- the email ---------------------------------------------------------------------------------


def shown(issue: IssueView, layout: Layout) -> tuple[tuple[SectionView, ...], list[ItemView]]:
    """The sections the email shows for ``layout``, and its "More this week" items."""
    sections = []
    more = []
    for section in issue.sections:
        items = []
        for item in section.items:
            if item.index < layout.excerpts:
                items.append(item)
            elif item.index < layout.body:
                items.append(replace(item, excerpt=""))
            elif item.index < layout.body + layout.more:
                more.append(item)
        if items:
            sections.append(replace(section, items=tuple(items)))
    return tuple(sections), more


@dataclass(frozen=True, slots=True)
class FittedEmail:
    """The email as it is sent: fitted to the budget by :meth:`Email.fitted`."""

    layout: Layout
    # what the email template was given: the base values plus the sections it shows, the
    # "More this week" items and the count of items omitted (see Email.context)
    values: dict[str, Any]
    html: str  # CSS inlined
    notices: tuple[str, ...]  # what fitting gave up, and any problem with the size


def _notices(issue: IssueView, layout: Layout, email_size: int) -> Iterator[str]:
    """What the fitted email gave up, and what is wrong with its size."""
    words = labels(issue.lang)
    items = [item for section in issue.sections for item in section.items]
    dropped = sum(1 for item in items[layout.excerpts : layout.body] if item.excerpt)
    if dropped:
        yield f"email over budget: dropped the excerpts of the last {dropped} items"
    if layout.more:
        yield f"moved {layout.more} items to '{words['more_this_week']}'"
    omitted = len(items) - layout.body - layout.more
    if omitted:
        yield f"left the last {omitted} items out of the email; they are in the blog post"
    if email_size > EMAIL_LIMIT:
        yield (
            f"email is {email_size:,} bytes, over the {EMAIL_LIMIT:,}-byte limit: Gmail will clip"
            " it (shorten the intro or the notes)"
        )
    elif email_size > EMAIL_WARN:
        yield (
            f"email is {email_size:,} bytes, above the {EMAIL_WARN:,}-byte warning threshold: an"
            " ESP's link rewriting may push it past Gmail's clipping limit"
        )


class Email:
    """Renders the email for any layout, remembering each inlined result.

    ``render`` turns a template context into HTML; ``regular`` says that each item's
    inlined bytes do not depend on the other items (true of the default theme), which lets
    :meth:`fit` probe only the items that could fit.
    """

    def __init__(
        self,
        render: Callable[[dict[str, Any]], str],
        issue: IssueView,
        base: dict[str, Any],
        *,
        regular: bool = False,
    ) -> None:
        self.render = render
        self.issue = issue
        self.base = base
        self.regular = regular
        self.cache: dict[Layout, str] = {}

    def context(self, layout: Layout) -> dict[str, Any]:
        """What the email template gets for ``layout``."""
        sections, more = shown(self.issue, layout)
        omitted = self.issue.item_count - len(more) - sum(len(s.items) for s in sections)
        return self._context(sections, more, omitted, probe=False)

    def _context(
        self, sections: tuple[SectionView, ...], more: list[ItemView], omitted: int, probe: bool
    ) -> dict[str, Any]:
        def budget_mark(kind: str, number: int) -> Markup:
            return Markup(f"<!--@{kind}:{number}-->") if probe else Markup("")

        extra = {"sections": sections, "more": more, "omitted": omitted}
        return {**self.base, **extra, "budget_mark": budget_mark}

    def html(self, layout: Layout) -> str:
        """The inlined email for ``layout`` (each layout is rendered once)."""
        if layout not in self.cache:
            self.cache[layout] = inline(self.render(self.context(layout)))
        return self.cache[layout]

    def fitted(self, target: int = EMAIL_WARN) -> FittedEmail:
        """The email to send: the layout :meth:`fit` chooses, rendered, with its notices."""
        layout = self.fit(target)
        html = self.html(layout)
        notices = tuple(_notices(self.issue, layout, size(html)))
        return FittedEmail(layout, self.context(layout), html, notices)

    def estimate(self, items: int) -> Estimate:
        """Sizes from a probe of the first ``items`` items and the links that may follow.

        Every item is also listed under "More this week", as if the issue had twice as many
        (so ``omitted`` is minus the item count, as in a probe of the whole issue)."""
        count = self.issue.item_count
        links = min(count, items + MORE_LIMIT)
        sections = tuple(
            replace(section, items=tuple(i for i in section.items if i.index < items))
            for section in self.issue.sections
        )
        every = [item for section in self.issue.sections for item in section.items]
        starts = frozenset(section.items[0].index for section in self.issue.sections)
        context = self._context(sections, every[:links], -count, probe=True)
        probe = inline(self.render(context))
        return Estimate(probe, count, items=items, links=links, starts=starts)

    def fit(self, target: int) -> Layout:
        """The layout to send: :func:`plan` on estimated sizes, checked on the real email."""
        count = self.issue.item_count
        full = Layout(count, count, 0)
        if not count:
            return full
        estimate = self.partial_estimate(target) if self.regular else None
        if estimate is None:  # probe the whole issue, if the whole issue does not fit
            if size(self.html(full)) <= target:
                return full
            try:
                estimate = self.estimate(count)
            except ValueError:
                return self.search(target)  # a user template without markers
        budget = target
        for _attempt in range(4):
            layout = plan(count, functools.partial(estimate.fits, budget))
            overshoot = size(self.html(layout)) - target
            if overshoot <= 0:
                return layout
            budget -= overshoot  # the estimate was short by this much: aim lower
        return self.search(target)

    def partial_estimate(self, target: int) -> Estimate | None:
        """An estimate from the fewest items whose bare size exceeds ``target``, or None
        when the issue is small enough to be probed whole anyway."""
        count = self.issue.item_count
        items = _FIRST_PROBE
        while items < count:
            try:
                estimate = self.estimate(items)
            except ValueError:
                return None
            if estimate.covers(target):
                return estimate
            per_item = max(1, (estimate.items[-1] - estimate.excerpts[-1]) // items)
            short = target - estimate.short_frame - estimate.items[-1] + estimate.excerpts[-1]
            items = max(items * 5 // 4, items + short * 5 // (4 * per_item) + 16)
        return None

    def search(self, target: int) -> Layout:
        """:func:`plan` on real renders: about 3·log2(items) premailer runs."""
        return plan(self.issue.item_count, lambda layout: size(self.html(layout)) <= target)
