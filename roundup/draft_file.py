"""draft.yaml on disk: writing it, reading it, and validating what the editor wrote.

The layout is fixed: a comment header, then ``week``, ``number``, ``window``, ``subject``,
``preheader``, ``intro``, the ``sections`` with their items, and ``known`` (every key ever
proposed for the week). libyaml decides how each text is written (plain, quoted, or a ``|``
block for text with line breaks); see :mod:`roundup.yamlfile`.

Reading validates the whole file top-down and fails on the first fault with
``<path>:<line>: <key path>: <problem> (<what to do>)``; nothing is written on failure.
Dates are ISO 8601; one without a UTC offset is read in the offset of ``window.start``.
Comments the editor adds are allowed and ignored: the file is rewritten from the draft's
data, so only the header and the note on ``known`` come back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from roundup.atomic import write_atomic
from roundup.errors import DraftError
from roundup.models import Coverage, Draft, DraftItem, DraftSection
from roundup.normalize import canonical_url
from roundup.yamlfile import (
    BLOCK,
    FLOW,
    TEXT,
    Place,
    YamlError,
    YamlList,
    YamlMapping,
    indented,
    write_scalars,
)
from roundup.yamlfile import load as load_yaml

EDITOR_PREFIX = "editor:"
ID_PREFIX = "id:"  # key of a story whose entry has no link at all
HEADER = (
    "roundup draft for {week} — edit freely: reorder, delete or move items, fill in notes.\n"
    "Re-running `roundup draft` keeps your edits; removed items stay removed.\n"
    "To add an item of your own, give it at least a title and a link. Intro and notes are Markdown."
)
KNOWN_COMMENT = "managed by roundup: every item ever proposed for this week"


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters + "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]  # leave room for the ellipsis
    if flat[limit - 1] != " " and " " in head:  # the cut falls inside a word: drop that word
        head = head.rsplit(" ", 1)[0]
    return (head.rstrip(" ,;:·.-–—") or head) + "…"


def editor_key(link: str) -> str:
    """The key of an item the editor added: ``editor:`` + its canonical link."""
    return EDITOR_PREFIX + canonical_url(link)


# --- writing ---------------------------------------------------------------------------------


def save_draft(path: Path, draft: Draft) -> None:
    """Write ``draft`` to ``path`` atomically: a failed write leaves the old file as it was."""
    text = dump_draft(draft)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise DraftError(f"{path}: cannot write it ({exc})") from exc


def dump_draft(draft: Draft) -> str:
    """``draft`` as YAML: fixed key order, block style, multi-line text as ``|`` blocks."""
    out = _Layout()
    add, field = out.parts.append, out.field
    add("".join(f"# {line}\n" for line in HEADER.format(week=draft.week).split("\n")))
    field("week: ", draft.week, BLOCK, 0)
    add(f"number: {draft.number}\nwindow: {{start: ")
    out.scalar(draft.window_start.isoformat(), FLOW, 0)
    add(", end: ")
    out.scalar(draft.window_end.isoformat(), FLOW, 0)
    add("}\n")
    field("subject: ", draft.subject, TEXT, 0)
    field("preheader: ", draft.preheader, TEXT, 0)
    field("intro: ", draft.intro, TEXT, 0)
    add("sections:\n" if draft.sections else "sections: []\n")
    for section in draft.sections:
        field("  - name: ", section.name, TEXT, 4)
        field("    description: ", section.description, TEXT, 4)
        add("    items:\n" if section.items else "    items: []\n")
        for item in section.items:
            _write_item(out, item)
    if draft.known:
        add(f"known:  # {KNOWN_COMMENT}\n")
        for key in draft.known:
            field("  - ", key, BLOCK, 2)
    else:
        add(f"known: []  # {KNOWN_COMMENT}\n")
    return out.render()


def _write_item(out: _Layout, item: DraftItem) -> None:
    add, field = out.parts.append, out.field
    field("      - title: ", item.title, TEXT, 8)
    field("        link: ", item.link, BLOCK, 8)
    field("        source: ", item.source, TEXT, 8)
    if item.author:
        field("        author: ", item.author, TEXT, 8)
    if item.published is not None:
        field("        date: ", item.published.isoformat(), BLOCK, 8)
    field("        excerpt: ", item.excerpt, TEXT, 8)
    field("        note: ", item.note, TEXT, 8)
    if item.read_minutes:
        add(f"        read_minutes: {item.read_minutes}\n")
    if item.image:
        field("        image: ", item.image, BLOCK, 8)
    if item.also_via:
        add("        also_via: [")
        for index, name in enumerate(item.also_via):
            if index:
                add(", ")
            out.scalar(name, FLOW, 8)
        add("]\n")
    if item.covered_by:
        add("        covered_by:\n")
        for coverage in item.covered_by:
            field("          - source: ", coverage.source, TEXT, 12)
            field("            title: ", coverage.title, TEXT, 12)
            field("            link: ", coverage.link, BLOCK, 12)
    if item.new:
        add("        new: true\n")
    field("        key: ", item.key, BLOCK, 8)


class _Layout:
    """The file as fixed text with holes for the strings, which libyaml writes in one go."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.holes: list[tuple[int, int, int]] = []  # (index in parts, request, indentation)
        self.requests: dict[tuple[str, Place], int] = {}  # each distinct string once
        parts, holes, requests = self.parts, self.holes, self.requests

        def field(prefix: str, value: str, place: Place, indent: int) -> None:
            """A line: ``prefix`` (``  key: ``), the value, the end of the line."""
            request = requests.setdefault((value, place), len(requests))
            holes.append((len(parts) + 1, request, indent))
            parts.extend((prefix, "", "\n"))

        self.field = field

    def scalar(self, value: str, place: Place, indent: int) -> None:
        """A hole for ``value``, whose parent (key or ``-``) is at column ``indent``."""
        request = self.requests.setdefault((value, place), len(self.requests))
        self.holes.append((len(self.parts), request, indent))
        self.parts.append("")

    def render(self) -> str:
        pieces = write_scalars(list(self.requests))
        parts = self.parts
        for at, request, indent in self.holes:
            piece = pieces[request]
            parts[at] = indented(piece, indent) if "\n" in piece else piece
        return "".join(parts)


# --- reading ---------------------------------------------------------------------------------


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
    try:
        data = load_yaml(text)
    except YamlError as exc:
        raise DraftError(exc.message(path)) from None
    if data is None:
        raise DraftError(f"{path}: the draft is empty ({_TOP_ADVICE})")
    return _Reader().draft(data, _At(path, "", 1, _TOP_ADVICE))


# --- validating ------------------------------------------------------------------------------

_TOP_KEYS = ("week", "number", "window", "subject", "preheader", "intro", "sections", "known")
_SECTION_KEYS = ("name", "description", "items")
_ITEM_KEYS = (
    "title", "link", "source", "author", "date", "excerpt", "note", "read_minutes", "image",
    "also_via", "covered_by", "new", "key",
)  # fmt: skip
_COVERAGE_KEYS = ("source", "title", "link")
_TOP_ADVICE = "fix it, or move draft.yaml away and re-run `roundup draft`"
_SECTION_ADVICE = "fix the section or delete it"
_ITEM_ADVICE = "fix the item or delete it"
_KNOWN_ADVICE = "known is managed by roundup; undo the change"
_ISO_WEEK = re.compile(r"^\d{4}-W\d{2}$")
_DATE_EXAMPLE = "'2015-08-12T09:30:00-04:00'"


@dataclass(frozen=True, slots=True)
class _At:
    """Where a value sits: the file, its key path, its 1-based line, and the advice to give."""

    file: Path
    path: str
    line: int
    advice: str

    def key(self, node: Any, key: Any) -> _At:
        """The place of ``node[key]`` (the key's line; the mapping's when the key is absent)."""
        line = node.key_line(key) if isinstance(node, YamlMapping) else self.line
        return _At(self.file, f"{self.path}.{key}" if self.path else key, line, self.advice)

    def item(self, node: Any, index: int, advice: str) -> _At:
        line = node.item_line(index) if isinstance(node, YamlList) else self.line
        return _At(self.file, f"{self.path}[{index}]", line, advice)

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
        key = given_key or editor_key(link)
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
            covered_by=_coverages(*_get(node, at, "covered_by")),
            new=_flag(*_get(node, at, "new")),
            author=_text(*_get(node, at, "author")),
            read_minutes=_minutes(*_get(node, at, "read_minutes")),
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
            raise at.key(node, key).fail("unknown key", advice)
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
    return node


def _title(node: Any, at: _At) -> str:
    text = _text(node, at)
    if not text.strip():
        raise at.fail("is empty")
    return text


def _texts(node: Any, at: _At) -> tuple[str, ...]:
    items = _list(node, at)
    return tuple(_text(item, at.item(items, index, at.advice)) for index, item in enumerate(items))


def _coverages(node: Any, at: _At) -> tuple[Coverage, ...]:
    """An item's ``covered_by``: other articles about the same event, each with a source,
    a title and an absolute http(s) link."""
    items = _list(node, at)
    found = []
    for index, raw in enumerate(items):
        where = at.item(items, index, "fix the entry or delete it")
        entry = _mapping(raw, where, _COVERAGE_KEYS, ("source", "link"))
        found.append(
            Coverage(
                source=_title(*_get(entry, where, "source")),
                title=_text(*_get(entry, where, "title")),
                link=_url(*_get(entry, where, "link"), empty_ok=False),
            )
        )
    return tuple(found)


def _flag(node: Any, at: _At) -> bool:
    if node is None:
        return False
    if not isinstance(node, bool):
        raise at.fail(f"expected true or false, got {_kind(node)}")
    return node


def _minutes(node: Any, at: _At) -> int:
    """A read time in whole minutes; absent means none."""
    if node is None:
        return 0
    if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node <= 600:
        raise at.fail(f"expected whole minutes from 0 to 600, got {_kind(node)}")
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
    return node


def _number(node: Any, at: _At) -> int:
    if isinstance(node, bool) or not isinstance(node, int) or node < 0:
        raise at.fail(f"expected a whole number, got {_kind(node)}")
    return node


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
        return f"'{shorten(node, 60)}'"
    if isinstance(node, int | float):
        return f"the number {node}"
    if isinstance(node, Mapping):
        return "a mapping"
    return "a list" if isinstance(node, list) else type(node).__name__
