"""Pure edits to a draft, one per thing the editor's desk lets an editor do.

Each function takes a :class:`~roundup.models.Draft` and returns a new one; none reads or
writes a file. Faults raise :class:`~roundup.errors.DraftError` with a message for people.
The result always keeps draft.yaml's rules (non-empty titles, absolute http(s) links,
unique keys and section names), so saving it and reading it back gives the same draft.

Text from a browser is cleaned on the way in: line breaks become ``\\n``, control
characters go, and one-line fields (titles, excerpts, subject, preheader) are flattened.

Removing a proposed item keeps its key in ``known``, so a re-draft does not propose it
again and :func:`restore_item` can bring it back; an item the editor added by hand has no
such key and is deleted for good.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from roundup.draft_file import EDITOR_PREFIX
from roundup.errors import DraftError
from roundup.models import Draft, DraftItem, DraftSection
from roundup.normalize import canonical_url

# C0 and C1 controls other than TAB and LF: YAML cannot hold some of them, mail clients
# choke on others.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_RELOAD = "reload the page to see the latest draft"


def move_item(draft: Draft, key: str, *, section: str, index: int | None = None) -> Draft:
    """The item ``key`` moved to position ``index`` of ``section`` (``None``: its end).

    ``index`` counts the target section's items without the moved one, and is clamped to
    them; the section must exist.
    """
    item = _item(draft, key)
    target = _section_index(draft, section)
    without = _without(draft, key)
    return _insert(without, item, target, index)


def remove_item(draft: Draft, key: str) -> Draft:
    """``draft`` without the item ``key``; a proposed item stays restorable."""
    _item(draft, key)
    return _without(draft, key)


def restore_item(
    draft: Draft,
    item: DraftItem,
    *,
    section: str,
    description: str = "",
    index: int | None = None,
) -> Draft:
    """The removed ``item`` back in ``section`` (created at the end if missing).

    ``item`` is rebuilt by the caller from the week's stories; its key must be one the
    editor removed (in ``known`` but not in the draft).
    """
    if _find(draft, item.key) is not None:
        raise DraftError(f"'{item.title}' is already in the issue ({_RELOAD})")
    if item.key not in draft.known:
        raise DraftError(
            f"'{item.title}' was never proposed for {draft.week}, so it cannot be restored"
        )
    return _place(draft, _checked(item), section, description, index)


def update_item(
    draft: Draft,
    key: str,
    *,
    title: str | None = None,
    excerpt: str | None = None,
    note: str | None = None,
    new: bool | None = None,
) -> Draft:
    """The item ``key`` with the given fields replaced; ``None`` leaves a field as it is."""
    item = _item(draft, key)
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = _title(title)
    if excerpt is not None:
        changes["excerpt"] = one_line(excerpt)
    if note is not None:
        changes["note"] = multi_line(note)
    if new is not None:
        changes["new"] = new
    return _swap(draft, key, replace(item, **changes))  # type: ignore[arg-type]


def set_link(draft: Draft, key: str, link: str) -> Draft:
    """The item ``key`` pointing at ``link`` instead (a redirect's final address adopted);
    its key stays, so re-drafts still know it."""
    _check_link(link)
    return _swap(draft, key, replace(_item(draft, key), link=link))


def set_meta(
    draft: Draft,
    *,
    subject: str | None = None,
    preheader: str | None = None,
    intro: str | None = None,
) -> Draft:
    """``draft`` with a new subject, preheader or intro (Markdown); ``None`` keeps one."""
    changes: dict[str, str] = {}
    if subject is not None:
        changes["subject"] = one_line(subject)
    if preheader is not None:
        changes["preheader"] = one_line(preheader)
    if intro is not None:
        changes["intro"] = multi_line(intro)
    return replace(draft, **changes)  # type: ignore[arg-type]


def add_item(
    draft: Draft,
    item: DraftItem,
    *,
    section: str,
    description: str = "",
    index: int | None = None,
) -> Draft:
    """``draft`` with the editor's ``item`` in ``section`` (created at the end if missing).

    Refused when the issue already has an item with the same key or the same link.
    """
    item = _checked(item)
    link = canonical_url(item.link)
    for name, present in _located(draft):
        if present.key == item.key or canonical_url(present.link) == link:
            raise DraftError(
                f"'{present.title}' ({item.link}) is already in the issue, in '{name}'"
            )
    return _place(draft, item, section, description, index)


def editor_item(
    link: str,
    *,
    title: str,
    excerpt: str = "",
    image: str | None = None,
    source: str = "",
) -> DraftItem:
    """An item the editor adds by hand; its key is ``editor:<canonical link>``, as draft.py
    gives one read from draft.yaml."""
    link = link.strip()
    _check_link(link)
    return DraftItem(
        key=EDITOR_PREFIX + canonical_url(link),
        title=_title(title),
        link=link,
        source=one_line(source),
        published=None,
        excerpt=one_line(excerpt),
        image=image if image and _is_http(image) else None,
    )


def rename_source(draft: Draft, old: str, new: str) -> Draft:
    """Every mention of the source ``old`` (an item's source, its "also via" and "also
    covered by" names) renamed ``new``."""
    new = one_line(new)
    if not new:
        raise DraftError("a source needs a name")

    def renamed(item: DraftItem) -> DraftItem:
        return replace(
            item,
            source=new if item.source == old else item.source,
            also_via=tuple(new if via == old else via for via in item.also_via),
            covered_by=tuple(
                replace(other, source=new) if other.source == old else other
                for other in item.covered_by
            ),
        )

    return replace(
        draft,
        sections=tuple(
            replace(section, items=tuple(map(renamed, section.items))) for section in draft.sections
        ),
    )


def find_item(draft: Draft, key: str) -> tuple[str, int, DraftItem] | None:
    """The section name, position and item of ``key``, or None when it is not in the draft."""
    found = _find(draft, key)
    if found is None:
        return None
    section, position = found
    return draft.sections[section].name, position, draft.sections[section].items[position]


def one_line(text: str) -> str:
    """``text`` on one line: control characters removed, runs of whitespace made one space."""
    return " ".join(_CONTROL.sub("", text).split())


def multi_line(text: str) -> str:
    """Markdown from a text box: ``\\n`` line breaks, no control characters, no blank edges."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _CONTROL.sub("", text).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


# --- helpers --------------------------------------------------------------------------------


def _find(draft: Draft, key: str) -> tuple[int, int] | None:
    for s, section in enumerate(draft.sections):
        for i, item in enumerate(section.items):
            if item.key == key:
                return s, i
    return None


def _item(draft: Draft, key: str) -> DraftItem:
    found = _find(draft, key)
    if found is None:
        raise DraftError(f"no item with key '{key}' in the draft ({_RELOAD})")
    return draft.sections[found[0]].items[found[1]]


def _located(draft: Draft) -> list[tuple[str, DraftItem]]:
    return [(section.name, item) for section in draft.sections for item in section.items]


def _section_index(draft: Draft, name: str) -> int:
    for index, section in enumerate(draft.sections):
        if section.name == name:
            return index
    raise DraftError(f"no section named '{name}' in the draft ({_RELOAD})")


def _without(draft: Draft, key: str) -> Draft:
    sections = tuple(
        replace(section, items=tuple(item for item in section.items if item.key != key))
        for section in draft.sections
    )
    return replace(draft, sections=sections)


def _swap(draft: Draft, key: str, new: DraftItem) -> Draft:
    sections = tuple(
        replace(section, items=tuple(new if item.key == key else item for item in section.items))
        for section in draft.sections
    )
    return replace(draft, sections=sections)


def _insert(draft: Draft, item: DraftItem, section: int, index: int | None) -> Draft:
    items = list(draft.sections[section].items)
    at = len(items) if index is None else max(0, min(index, len(items)))
    items.insert(at, item)
    sections = list(draft.sections)
    sections[section] = replace(sections[section], items=tuple(items))
    return replace(draft, sections=tuple(sections))


def _place(
    draft: Draft, item: DraftItem, section: str, description: str, index: int | None
) -> Draft:
    name = one_line(section)
    if not name:
        raise DraftError("a section needs a name")
    for number, existing in enumerate(draft.sections):
        if existing.name == name:
            return _insert(draft, item, number, index)
    created = DraftSection(name, one_line(description), (item,))
    return replace(draft, sections=(*draft.sections, created))


def _checked(item: DraftItem) -> DraftItem:
    """``item`` as draft.yaml accepts it: a title, and an http(s) link unless it has none."""
    if item.link or not item.key.startswith("id:"):
        _check_link(item.link)
    return replace(item, title=_title(item.title))


def _title(text: str) -> str:
    title = one_line(text)
    if not title:
        raise DraftError("a title cannot be empty")
    return title


def _check_link(link: str) -> None:
    if not _is_http(link):
        raise DraftError(f"'{link}' is not a web address (it must start with http:// or https://)")


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
