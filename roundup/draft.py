"""The draft the editor reviews: ``<output_dir>/<week>/draft.yaml``.

``build_draft`` proposes one item per story; given the week's existing draft it merges instead,
and the editor's work always wins:

* every item already in the draft stays exactly as edited, in its section and order, even
  when the feeds no longer carry it; subject, preheader, intro and number stay as edited;
* a story proposed before (its key is in ``known``) but no longer in the draft was removed by
  the editor, and stays removed;
* a story never proposed before is appended to its section with ``new: true``; a section the
  editor deleted comes back, next to its configured neighbours, only when it gets such an item;
* ``new: true`` stays until the editor deletes it, so a second re-draft does not hide what
  arrived since the editor last looked.

An item the editor adds by hand needs only ``title`` and ``link``; its key becomes
``editor:<canonical link>``, and a story with that same link is then not proposed again.

``parse_draft`` validates the whole file and fails on the first fault with
``<path>:<line>: <key path>: <problem> (<what to do>)``; nothing is written on failure.
Dates are ISO 8601; one without a UTC offset is read in the offset of ``window.start``.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from roundup import i18n
from roundup._files import write_atomic
from roundup.config import Newsletter
from roundup.errors import DraftError
from roundup.models import Draft, DraftItem, DraftSection, Entry, Group, Story
from roundup.normalize import canonical_url
from roundup.week import Window

EXCERPT_CHARS = 300
PREHEADER_CHARS = 120
PREHEADER_TITLES = 3
EDITOR_PREFIX = "editor:"
ID_PREFIX = "id:"  # key of a story whose entry has no link at all

_HEADER = (
    "roundup draft for {week} — edit freely: reorder, delete or move items, fill in notes.\n"
    "Re-running `roundup draft` keeps your edits; removed items stay removed.\n"
    "To add an item of your own, give it at least a title and a link. Intro and notes are Markdown."
)
_KNOWN_COMMENT = "managed by roundup: every item ever proposed for this week"
_NO_FOLDING = 1 << 20  # long URLs and titles stay on one line

_TOP_KEYS = ("week", "number", "window", "subject", "preheader", "intro", "sections", "known")
_SECTION_KEYS = ("name", "description", "items")
_ITEM_KEYS = (
    "title", "link", "source", "date", "excerpt", "note", "image", "also_via", "new", "key",
)  # fmt: skip
_TOP_ADVICE = "fix it, or move draft.yaml away and re-run `roundup draft`"
_SECTION_ADVICE = "fix the section or delete it"
_ITEM_ADVICE = "fix the item or delete it"
_KNOWN_ADVICE = "known is managed by roundup; undo the change"
_ISO_WEEK = re.compile(r"^\d{4}-W\d{2}$")
_DATE_EXAMPLE = "'2015-08-12T09:30:00-04:00'"
_Node = TypeVar("_Node", CommentedMap, CommentedSeq)


# --- building and merging ------------------------------------------------------------------


def build_draft(
    groups: Sequence[Group],
    *,
    window: Window,
    number: int,
    newsletter: Newsletter,
    previous: Draft | None = None,
) -> Draft:
    """The draft for ``window``: fresh, or ``previous`` (the same week's draft) plus new stories.

    A fresh draft has one section per non-empty group, the subject
    ``"<title>: <last day of the window, long form>"`` ("The Elicitor Weekly Roundup:
    August 14, 2015"), a preheader made of the first titles, and an empty intro.
    """
    proposed = _proposals(groups, window.start.tzinfo)
    if previous is None:
        return _fresh(proposed, window=window, number=number, newsletter=newsletter)
    return _merge(previous, proposed, window)


def default_subject(newsletter: Newsletter, window: Window) -> str:
    """``"The Elicitor Weekly Roundup: August 14, 2015"``, the date in the newsletter's language."""
    return f"{newsletter.title}: {i18n.format_date(window.last_day, newsletter.language)}"


def default_preheader(items: Sequence[DraftItem]) -> str:
    """The first three titles joined by " · ", cut to 120 characters."""
    titles = [item.title for item in items[:PREHEADER_TITLES]]
    return _shorten(" · ".join(titles), PREHEADER_CHARS)


def _shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters + "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]  # leave room for the ellipsis
    if flat[limit - 1] != " " and " " in head:  # the cut falls inside a word: drop that word
        head = head.rsplit(" ", 1)[0]
    return (head.rstrip(" ,;:·.-–—") or head) + "…"


def _proposals(groups: Sequence[Group], tz: tzinfo | None) -> tuple[DraftSection, ...]:
    """One section per non-empty group; same-named groups merge; each key is proposed once."""
    descriptions: dict[str, str] = {}
    items: dict[str, list[DraftItem]] = {}
    seen: set[str] = set()
    for group in groups:
        descriptions.setdefault(group.name, group.description)
        bucket = items.setdefault(group.name, [])
        for story in group.stories:
            item = _proposal(story, tz)
            if item.key not in seen:  # a duplicate key would make the file unreadable
                seen.add(item.key)
                bucket.append(item)
    return tuple(
        DraftSection(name, description, tuple(items[name]))
        for name, description in descriptions.items()
        if items[name]
    )


def _proposal(story: Story, tz: tzinfo | None) -> DraftItem:
    entry = story.entry
    link = entry.link or entry.canonical_url
    return DraftItem(
        key=_entry_key(entry),
        title=" ".join(entry.title.split()) or link or "(untitled)",  # a title is required
        link=link,
        source=entry.source,
        published=entry.published.astimezone(tz),  # the editor reads local times
        excerpt=_shorten(entry.summary_text, EXCERPT_CHARS),
        image=entry.image or None,
        also_via=story.also_via,
    )


def _entry_key(entry: Entry) -> str:
    return entry.canonical_url or entry.link or ID_PREFIX + entry.id


def _editor_key(link: str) -> str:
    return EDITOR_PREFIX + canonical_url(link)


def _fresh(
    sections: tuple[DraftSection, ...], *, window: Window, number: int, newsletter: Newsletter
) -> Draft:
    items = [item for section in sections for item in section.items]
    return Draft(
        week=window.week,
        number=number,
        subject=default_subject(newsletter, window),
        preheader=default_preheader(items),
        intro="",
        sections=sections,
        window_start=window.start,
        window_end=window.end,
        known=tuple(item.key for item in items),
    )


def _merge(previous: Draft, proposed: tuple[DraftSection, ...], window: Window) -> Draft:
    taken = set(previous.known) | {item.key for item in previous.items}
    taken |= {canonical_url(item.link) for item in previous.items if item.link}
    additions = {
        section.name: tuple(
            replace(item, new=True) for item in section.items if item.key not in taken
        )
        for section in proposed
    }
    sections = [
        replace(section, items=section.items + additions.pop(section.name, ()))
        for section in previous.sections
    ]
    _recreate(sections, proposed, additions)
    candidates = (item.key for section in proposed for item in section.items)
    return replace(
        previous,
        week=window.week,
        sections=tuple(sections),
        window_start=window.start,
        window_end=window.end,
        known=tuple(dict.fromkeys([*previous.known, *candidates])),
    )


def _recreate(
    sections: list[DraftSection],
    proposed: tuple[DraftSection, ...],
    additions: Mapping[str, tuple[DraftItem, ...]],
) -> None:
    """Insert the sections missing from ``sections`` that have new items, after the nearest
    section that precedes them in the configured order (else first)."""
    for index, group in enumerate(proposed):
        items = additions.get(group.name, ())
        if not items:
            continue
        earlier = {section.name for section in proposed[:index]}
        at = max((n + 1 for n, s in enumerate(sections) if s.name in earlier), default=0)
        sections.insert(at, DraftSection(group.name, group.description, items))


# --- writing --------------------------------------------------------------------------------


def dump_draft(draft: Draft) -> str:
    """``draft`` as YAML: fixed key order, block style, multi-line text as ``|`` blocks."""
    top = CommentedMap()
    top["week"] = draft.week
    top["number"] = draft.number
    window = {"start": draft.window_start.isoformat(), "end": draft.window_end.isoformat()}
    top["window"] = _flow(CommentedMap(window))
    top["subject"] = _text_node(draft.subject)
    top["preheader"] = _text_node(draft.preheader)
    top["intro"] = _text_node(draft.intro)
    top["sections"] = CommentedSeq(_section_node(section) for section in draft.sections)
    top["known"] = CommentedSeq(draft.known)
    top.yaml_set_start_comment(_HEADER.format(week=draft.week))
    top.yaml_add_eol_comment(_KNOWN_COMMENT, "known")
    out = io.StringIO()
    _yaml_writer().dump(top, out)
    return out.getvalue()


def save_draft(path: Path, draft: Draft) -> None:
    """Write ``draft`` to ``path`` atomically: a failed write leaves the old file as it was."""
    text = dump_draft(draft)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise DraftError(f"{path}: cannot write it ({exc})") from exc


def _yaml_writer() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = _NO_FOLDING
    return yaml


def _section_node(section: DraftSection) -> CommentedMap:
    node = CommentedMap()
    node["name"] = _text_node(section.name)
    node["description"] = _text_node(section.description)
    node["items"] = CommentedSeq(_item_node(item) for item in section.items)
    return node


def _item_node(item: DraftItem) -> CommentedMap:
    node = CommentedMap()
    node["title"] = _text_node(item.title)
    node["link"] = item.link
    node["source"] = _text_node(item.source)
    if item.published is not None:
        node["date"] = item.published.isoformat()
    node["excerpt"] = _text_node(item.excerpt)
    node["note"] = _text_node(item.note)
    if item.image:
        node["image"] = item.image
    if item.also_via:
        node["also_via"] = _flow(CommentedSeq(item.also_via))
    if item.new:
        node["new"] = True
    node["key"] = item.key
    return node


def _text_node(text: str) -> str:
    # ruamel falls back to a quoted scalar when a block cannot hold the text exactly
    return LiteralScalarString(text) if "\n" in text else text


def _flow(node: _Node) -> _Node:
    node.fa.set_flow_style()  # short values read best on one line: {start: …, end: …}, [a, b]
    return node


# --- reading --------------------------------------------------------------------------------


def load_draft(path: Path) -> Draft:
    """Read and validate the draft at ``path``. Raises :class:`DraftError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(f"{path}: no such file (run `roundup draft` first)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftError(f"{path}: cannot read it ({exc})") from None
    return parse_draft(text, path)


def parse_draft(text: str, path: Path) -> Draft:
    """Validate the YAML ``text`` of the draft at ``path`` (named in messages)."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DraftError(f"{path}{where}: not valid YAML: {problem}") from None
    if data is None:
        raise DraftError(f"{path}: the draft is empty ({_TOP_ADVICE})")
    return _Reader().draft(data, _At(path, "", 1, _TOP_ADVICE))


class _Constructor(RoundTripConstructor):
    """Keeps unquoted timestamps as text, so every date goes through one parser."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


@dataclass(frozen=True, slots=True)
class _At:
    """Where a value sits: the file, its key path, its 1-based line, and the advice to give."""

    file: Path
    path: str
    line: int
    advice: str

    def key(self, node: Any, key: str) -> _At:
        try:
            line = node.lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):  # absent key: point at the mapping
            line = self.line
        return replace(self, path=f"{self.path}.{key}" if self.path else key, line=line)

    def item(self, node: Any, index: int, advice: str) -> _At:
        try:
            line = node.lc.item(index)[0] + 1
        except (AttributeError, KeyError, TypeError):
            line = self.line
        return replace(self, path=f"{self.path}[{index}]", line=line, advice=advice)

    def fail(self, problem: str, advice: str | None = None) -> DraftError:
        where = self.path or "top level"
        return DraftError(f"{self.file}:{self.line}: {where}: {problem} ({advice or self.advice})")


class _Reader:
    """Walks the parsed YAML top-down, so the first fault in the file is the one reported."""

    def __init__(self) -> None:
        self.tz: tzinfo | None = None  # for dates written without an offset
        self.names: set[str] = set()
        self.keys: dict[str, str] = {}  # item key -> key path of the item that has it

    def draft(self, data: Any, at: _At) -> Draft:
        top = _mapping(data, at, _TOP_KEYS, ("week", "number", "window"))
        week = _week(*_get(top, at, "week"))
        number = _number(*_get(top, at, "number"))
        start, end = _window(*_get(top, at, "window"))
        self.tz = start.tzinfo
        subject = _text(*_get(top, at, "subject"))
        preheader = _text(*_get(top, at, "preheader"))
        intro = _text(*_get(top, at, "intro"))
        sections = self.sections(*_get(top, at, "sections"))
        known_node, known_at = _get(top, at, "known")
        known = _texts(known_node, replace(known_at, advice=_KNOWN_ADVICE))
        return Draft(
            week=week,
            number=number,
            subject=subject,
            preheader=preheader,
            intro=intro,
            sections=sections,
            window_start=start,
            window_end=end,
            known=tuple(dict.fromkeys(known)),
        )

    def sections(self, node: Any, at: _At) -> tuple[DraftSection, ...]:
        items = _list(node, at)
        return tuple(
            self.section(raw, at.item(items, index, _SECTION_ADVICE))
            for index, raw in enumerate(items)
        )

    def section(self, raw: Any, at: _At) -> DraftSection:
        node = _mapping(raw, at, _SECTION_KEYS, ("name",))
        name_node, name_at = _get(node, at, "name")
        name = _title(name_node, name_at)
        if name in self.names:
            raise name_at.fail(f"'{name}' is listed twice", "merge the two sections")
        self.names.add(name)
        description = _text(*_get(node, at, "description"))
        items_node, items_at = _get(node, at, "items")
        items = _list(items_node, items_at)
        return DraftSection(
            name,
            description,
            tuple(
                self.item(raw_item, items_at.item(items, index, _ITEM_ADVICE))
                for index, raw_item in enumerate(items)
            ),
        )

    def item(self, raw: Any, at: _At) -> DraftItem:
        node = _mapping(raw, at, _ITEM_KEYS, ("title", "link"))
        title = _title(*_get(node, at, "title"))
        given_key = _text(*_get(node, at, "key"))
        link = _url(*_get(node, at, "link"), empty_ok=given_key.startswith(ID_PREFIX))
        key = given_key or _editor_key(link)
        self.claim(key, at)
        return DraftItem(
            key=key,
            title=title,
            link=link,
            source=_text(*_get(node, at, "source")),
            published=_when(*_get(node, at, "date"), tz=self.tz),
            excerpt=_text(*_get(node, at, "excerpt")),
            note=_text(*_get(node, at, "note")),
            image=_text(*_get(node, at, "image")) or None,
            also_via=_texts(*_get(node, at, "also_via")),
            new=_flag(*_get(node, at, "new")),
        )

    def claim(self, key: str, at: _At) -> None:
        first = self.keys.setdefault(key, at.path)
        if first != at.path:
            raise at.fail(f"duplicate of {first}, key '{key}'", "delete one of the two")


# --- value checks: each takes the value and where it sits ------------------------------------


def _get(node: Mapping[str, Any], at: _At, key: str) -> tuple[Any, _At]:
    return node.get(key), at.key(node, key)


def _mapping(
    node: Any, at: _At, allowed: tuple[str, ...], required: tuple[str, ...]
) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise at.fail(f"expected a mapping of keys, got {_kind(node)}")
    for key in node:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            advice = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
            raise at.key(node, str(key)).fail("unknown key", advice)
    for key in required:
        if node.get(key) is None:
            raise at.key(node, key).fail("missing")
    return node


def _list(node: Any, at: _At) -> list[Any]:
    if node is None:
        return []
    if not isinstance(node, list):
        raise at.fail(f"expected a list, got {_kind(node)}")
    return node


def _text(node: Any, at: _At) -> str:
    if node is None:
        return ""
    if not isinstance(node, str):
        raise at.fail(f"expected text, got {_kind(node)}", "put it in quotes")
    return str(node)  # a plain str, not ruamel's ScalarString


def _title(node: Any, at: _At) -> str:
    text = _text(node, at)
    if not text.strip():
        raise at.fail("is empty")
    return text


def _texts(node: Any, at: _At) -> tuple[str, ...]:
    items = _list(node, at)
    return tuple(_text(item, at.item(items, index, at.advice)) for index, item in enumerate(items))


def _flag(node: Any, at: _At) -> bool:
    if node is None:
        return False
    if not isinstance(node, bool):
        raise at.fail(f"expected true or false, got {_kind(node)}")
    return node


def _url(node: Any, at: _At, *, empty_ok: bool) -> str:
    text = _text(node, at)
    if empty_ok and not text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise at.fail(f"expected an absolute http(s) URL, got {_kind(node)}")
    return text


def _when(node: Any, at: _At, *, tz: tzinfo | None) -> datetime | None:
    """An ISO 8601 date or date-time; without an offset it is read in ``tz`` (required if None)."""
    if node is None:
        return None
    try:
        value = datetime.fromisoformat(node.strip()) if isinstance(node, str) else None
    except ValueError:
        value = None
    if value is None or (value.tzinfo is None and tz is None):
        raise at.fail(f"expected an ISO 8601 date-time like {_DATE_EXAMPLE}, got {_kind(node)}")
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _week(node: Any, at: _At) -> str:
    if not isinstance(node, str) or not _ISO_WEEK.match(node):
        raise at.fail(f"expected an ISO week like 2015-W33, got {_kind(node)}")
    return str(node)


def _number(node: Any, at: _At) -> int:
    if isinstance(node, bool) or not isinstance(node, int) or node < 0:
        raise at.fail(f"expected a whole number, got {_kind(node)}")
    return int(node)


def _window(node: Any, at: _At) -> tuple[datetime, datetime]:
    window = _mapping(node, at, ("start", "end"), ("start", "end"))
    start = _moment(*_get(window, at, "start"))
    end = _moment(*_get(window, at, "end"))
    if end <= start:
        raise at.key(window, "end").fail("must be after window.start")
    return start, end


def _moment(node: Any, at: _At) -> datetime:
    value = _when(node, at, tz=None)
    if value is None:
        raise at.fail("missing")
    return value


def _kind(node: Any) -> str:
    """A value as messages show it: 'text', the number 3, a list, ..."""
    if node is None:
        return "nothing"
    if isinstance(node, bool):
        return str(node).lower()
    if isinstance(node, str):
        return f"'{_shorten(node, 60)}'"
    if isinstance(node, int | float):
        return f"the number {node}"
    if isinstance(node, Mapping):
        return "a mapping"
    return "a list" if isinstance(node, list) else type(node).__name__
