"""YAML as roundup reads and writes it, in feeds.yaml and draft.yaml.

Both files go through libyaml, the C implementation of YAML, by way of PyYAML's public API
(the events of its C loader, and ``yaml.emit`` with its C dumper); what the values mean is
decided here.

Reading (:func:`load`) builds dicts, lists and scalars from libyaml's events, with the
meanings of the YAML 1.2 core schema: ``yes``, ``no``, ``on`` and ``off`` are text, ``0o17``
is octal, ``1:20`` and ``1_000`` are text, and there are no dates (a date is text, for
roundup's own date parser). Every mapping and list remembers the line of each key, value
and item, so a fault found later can point at its line. Anchors, aliases, tags and keys
that are lists or mappings are refused at the event where they appear, before anything is
built: roundup's files have no use for them, and a few kilobytes of aliases can stand for
gigabytes of data.

Writing (:func:`write_scalars`) has libyaml's emitter choose how each string is written:
plain, in quotes, or as a ``|`` block. The caller lays out the keys; that layout is fixed.

Editing in place (:func:`set_feed_name`) changes one value of feeds.yaml where libyaml's
events say it is, and nothing else: the editor's comments, spacing and key order stay.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.reader import ReaderError

__all__ = [
    "BLOCK",
    "FLOW",
    "TEXT",
    "Place",
    "YamlError",
    "YamlList",
    "YamlMapping",
    "indented",
    "load",
    "plain_value",
    "reads_back_as_text",
    "set_feed_name",
    "write_scalars",
]


# --- errors ----------------------------------------------------------------------------------


class YamlError(Exception):
    """Text that roundup cannot read: its 1-based line (None when unknown) and the problem."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(line, problem)
        self.line = line
        self.problem = problem

    def message(self, file: Path) -> str:
        """``<file>:<line>: <problem>``, the form of every message about roundup's files."""
        where = f":{self.line}" if self.line is not None else ""
        return f"{file}{where}: {self.problem}"

    def __str__(self) -> str:
        return self.message(Path("<text>"))


# --- the values read --------------------------------------------------------------------------


class YamlMapping(dict[Any, Any]):
    """A mapping as read, with the line it starts on and the lines of its keys and values."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, tuple[int, int]] = {}  # key -> (its line, its value's line)

    def key_line(self, key: Any) -> int:
        """The line of ``key``; the mapping's own line when the key is absent."""
        return self.lines[key][0] if key in self.lines else self.line

    def value_line(self, key: Any) -> int:
        """The line where the value of ``key`` starts; the mapping's line when absent."""
        return self.lines[key][1] if key in self.lines else self.line


class YamlList(list[Any]):
    """A list as read, with the line it starts on and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def item_line(self, index: int) -> int:
        """The line where item ``index`` starts; the list's line when there is no such item."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


# --- YAML 1.2 core schema: what a plain (unquoted) scalar means --------------------------------

_WORDS: dict[str, Any] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_NUMBER_START = frozenset("0123456789+-.")
_NOT_TEXT_STARTS = frozenset("0123456789+-.~nNtTfF")  # how a plain scalar that is not text starts
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INFINITY = re.compile(r"([-+]?)\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")


def plain_value(text: str) -> Any:
    """What the plain scalar ``text`` means in the YAML 1.2 core schema: None, a bool, an
    int, a float, or the text itself."""
    if text in _WORDS:
        return _WORDS[text]
    if text[0] not in _NUMBER_START:
        return text
    if _DECIMAL.fullmatch(text):
        return int(text)
    if _OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if infinity := _INFINITY.fullmatch(text):
        return float(f"{infinity[1]}inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return text


# --- reading -----------------------------------------------------------------------------------

_NO_KEY: Any = object()  # a mapping waiting for its next key, not for a value
_IN_LIST: Any = object()  # the frame of a list, which takes items, not keys
_ADVICE_ALIASES = "roundup's files have no anchors or aliases"


def load(text: str) -> Any:
    """The single document of ``text``: YamlMapping, YamlList, or a scalar (None when the
    text holds no document). Raises :class:`YamlError`."""
    try:
        return _build(yaml.CBaseLoader(text).get_event)
    except yaml.MarkedYAMLError as exc:
        raise YamlError(_line_of(exc.problem_mark), f"not valid YAML: {_problem(exc)}") from None
    except ReaderError as exc:  # a character YAML does not allow, at a byte offset
        line = text.encode("utf-8", "replace")[: exc.position].count(b"\n") + 1
        raise YamlError(line, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    except yaml.YAMLError as exc:
        raise YamlError(None, f"not valid YAML: {str(exc).splitlines()[0]}") from None


def _build(next_event: Callable[[], Any]) -> Any:
    """Builds the document from libyaml's events, refusing what roundup does not read.

    ``stack`` holds one ``[container, pending key, line of that key]`` per open mapping or
    list; a scalar, or a new mapping or list, goes into the innermost one. (Events are
    typed Any: ``type(event) is ...`` is the fast test, and mypy does not narrow on it.)
    """
    scalar, mapping, sequence = ScalarEvent, MappingStartEvent, SequenceStartEvent
    ends = (MappingEndEvent, SequenceEndEvent)
    not_text = _NOT_TEXT_STARTS
    stack: list[list[Any]] = []
    root: Any = None
    started = False
    while (event := next_event()) is not None:
        kind = type(event)
        if kind is scalar:
            if event.anchor is not None or event.tag is not None:
                raise _refusal(event)
            value: Any = event.value
            if event.implicit[0] and (not value or value[0] in not_text):
                value = plain_value(value)
            line = event.start_mark.line + 1
        elif kind in ends:
            stack.pop()
            continue
        elif kind is mapping or kind is sequence:
            if event.anchor is not None or event.tag is not None:
                raise _refusal(event)
            line = event.start_mark.line + 1
            value = YamlMapping(line) if kind is mapping else YamlList(line)
        elif kind is AliasEvent:
            raise _refusal(event)
        elif kind is DocumentStartEvent:
            _check_document(event, started)
            started = True
            continue
        elif kind is StreamEndEvent:
            break
        else:
            continue
        if stack:
            frame = stack[-1]
            key = frame[1]
            if key is _IN_LIST:
                container = frame[0]
                container.append(value)
                container.item_lines.append(line)
            elif key is _NO_KEY:
                if kind is not scalar:
                    raise YamlError(
                        line,
                        "a list or mapping as a key: roundup's keys are names "
                        "(write the key as text)",
                    )
                if value in frame[0]:
                    first = frame[0].key_line(value)
                    raise YamlError(
                        line, f"{value}: given twice in one mapping (keep one; the other is on "
                        f"line {first})",
                    )  # fmt: skip
                frame[1] = value
                frame[2] = line
            else:
                container = frame[0]
                container[key] = value
                container.lines[key] = (frame[2], line)
                frame[1] = _NO_KEY
        else:
            root = value
        if kind is mapping:
            stack.append([value, _NO_KEY, 0])
        elif kind is sequence:
            stack.append([value, _IN_LIST, 0])
    return root


def _check_document(event: Any, started: bool) -> None:
    """One document per file, in YAML 1.2 (or with no %YAML line)."""
    line = event.start_mark.line + 1
    if started:
        raise YamlError(
            line,
            "a second YAML document: the file holds one (remove this '---' and what follows "
            "it, or merge the two)",
        )
    if event.version is not None and tuple(event.version) != (1, 2):
        version = ".".join(map(str, event.version))
        raise YamlError(line, f"%YAML {version}: roundup reads YAML 1.2 (remove the %YAML line)")


def _refusal(event: Any) -> YamlError:
    """The message for an anchor, an alias or a tag, at the line of ``event``."""
    line = event.start_mark.line + 1
    if type(event) is AliasEvent:
        return YamlError(
            line, f"alias *{event.anchor}: {_ADVICE_ALIASES} (write the value out in full)"
        )
    if event.anchor is not None:
        return YamlError(
            line,
            f"anchor &{event.anchor}: {_ADVICE_ALIASES} (remove it, and write out in full "
            "every value that refers to it)",
        )
    tag = str(event.tag)
    shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml") else tag
    return YamlError(
        line, f"tag {shown}: roundup's files have no tags (remove it; quotes make a value text)"
    )


def _line_of(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _problem(exc: yaml.MarkedYAMLError) -> str:
    """libyaml's problem, with its context ("while parsing a flow sequence") and the line
    the context starts on, when there is one."""
    problem = exc.problem or "unreadable"
    if exc.context and exc.context_mark is not None:
        return f"{problem} ({exc.context} started on line {exc.context_mark.line + 1})"
    return problem


# --- writing -----------------------------------------------------------------------------------


Place = Literal["block", "text", "flow"]
"""Where a string goes, which decides the styles it may take: ``block`` after ``key: `` or
``- `` (plain or quoted), ``text`` the same but with line breaks as a ``|`` block, ``flow``
inside ``[...]`` or ``{...}``."""
BLOCK: Place = "block"
TEXT: Place = "text"
FLOW: Place = "flow"


# A plain scalar roundup writes must read back as the same text in YAML 1.2, and also in
# YAML 1.1, which many tools still speak: so the 1.1 forms of booleans, numbers, dates, the
# merge key and the value key are written in quotes as well.
_YAML_11_NOT_TEXT = re.compile(
    r"""
    y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF
    |[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[0-9]{4}-[0-9]{2}-[0-9]{2}
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[\ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?
     (?:[\ \t]*Z|[-+][0-9]{1,2}(?::[0-9]{2})?)?
    |<<|=
    """,
    re.VERBOSE,
)
# libyaml's emitter escapes characters beyond U+FFFF (emoji...) as \U0001F389, which YAML
# does not require and editors cannot read. Unused private-use characters stand in for them
# while libyaml writes (they take the same styles, and change nothing that decides whether
# a text reads back as text), and the real ones are put back after.
_NOT_TEXT_STARTS_ANY = frozenset("0123456789+-.~nNtTfFyYoO<=")  # in YAML 1.2 or 1.1
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_STAND_INS = range(0xE000, 0xF900)
# Line breaks in YAML 1.1 (and to libyaml), text in YAML 1.2: always written as escapes.
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
_LAST = "end"  # a plain item after the real ones: the text is cut before it


def reads_back_as_text(text: str) -> bool:
    """Whether ``text`` written plain reads back as this same text in YAML 1.2 and 1.1."""
    if not text:
        return False
    if text[0] not in _NOT_TEXT_STARTS_ANY:
        return True
    return type(plain_value(text)) is str and _YAML_11_NOT_TEXT.fullmatch(text) is None


def write_scalars(requests: Sequence[tuple[str, Place]]) -> list[str]:
    """The YAML for each ``(text, place)``, written by libyaml in one call.

    Each result goes after ``key: ``, after ``- `` or inside brackets; when it spans lines
    (a ``|`` block, or quoted text with line breaks) its later lines are indented two spaces
    for a parent at column 0: :func:`indented` moves them under a parent elsewhere. Text
    that needs quotes takes 'single' quotes, or "double" ones when it holds an apostrophe.
    """
    texts = [text for text, _place in requests]
    places = [place for _text, place in requests]
    everything = "".join(texts)
    odd_breaks = _OTHER_BREAKS.search(everything) is not None
    swap = _StandIns.for_text(everything)
    if swap is not None:
        texts = swap.hide(texts)
    pieces = _emit(texts, places, odd_breaks, quote=None)
    apostrophes = [
        index for index, text in enumerate(texts) if "'" in text and pieces[index].startswith("'")
    ]
    if apostrophes:
        again = _emit(
            [texts[index] for index in apostrophes],
            [places[index] for index in apostrophes],
            odd_breaks,
            quote='"',
        )
        for index, piece in zip(apostrophes, again, strict=True):
            pieces[index] = piece
    return swap.show(pieces) if swap is not None else pieces


def indented(piece: str, indent: int) -> str:
    """A result of :func:`write_scalars` for a parent at column ``indent``."""
    if "\n" not in piece:
        return piece
    first, *rest = piece.split("\n")
    pad = " " * indent
    return "\n".join([first, *(pad + line if line else line for line in rest)])


class _StandIns:
    """Private-use characters standing in for the characters beyond U+FFFF while libyaml
    writes, and one more that separates the texts, so that each way is one pass."""

    def __init__(self, pairs: list[tuple[str, str]], separator: str) -> None:
        self.there = dict(pairs)
        self.back = {stand: real for real, stand in pairs}
        self.separator = separator
        self.stands = re.compile(f"[{''.join(self.back)}]")

    @classmethod
    def for_text(cls, everything: str) -> _StandIns | None:
        """None when ``everything`` has no such character (or more than there are free
        stand-ins, and then libyaml escapes them)."""
        astral = sorted(set(_ASTRAL.findall(everything)))
        if not astral:
            return None
        unused = (chr(code) for code in _STAND_INS if chr(code) not in everything)
        free = list(itertools.islice(unused, len(astral) + 1))
        if len(free) <= len(astral):
            return None
        return cls(list(zip(astral, free, strict=False)), free[len(astral)])

    def hide(self, texts: list[str]) -> list[str]:
        joined = self.separator.join(texts)
        return _ASTRAL.sub(lambda real: self.there[real[0]], joined).split(self.separator)

    def show(self, pieces: list[str]) -> list[str]:
        joined = self.separator.join(pieces)
        return self.stands.sub(lambda stand: self.back[stand[0]], joined).split(self.separator)


def _emit(
    texts: Sequence[str], places: Sequence[Place], odd_breaks: bool, *, quote: str | None
) -> list[str]:
    """libyaml writes the texts as the items of one block list; the items come back.
    With ``quote``, every text asks for that style (libyaml may still choose another)."""
    events: list[Event] = [
        StreamStartEvent(),
        DocumentStartEvent(explicit=False),
        SequenceStartEvent(None, None, True, flow_style=False),
    ]
    add = events.append
    may_not_be_text = _NOT_TEXT_STARTS_ANY | {""}
    flows = []
    for index, (text, place) in enumerate(zip(texts, places, strict=True)):
        style = quote
        if odd_breaks and _OTHER_BREAKS.search(text):
            style = '"'  # escaped, so that no reader has to decide whether they break lines
        elif style is None and place == TEXT and "\n" in text:
            style = "|"
        plain = text[:1] not in may_not_be_text or reads_back_as_text(text)
        scalar = ScalarEvent(None, None, (plain, True), text, None, None, style)
        if place == FLOW:
            flows.append(index)
            add(SequenceStartEvent(None, None, True, flow_style=True))
            add(scalar)
            add(SequenceEndEvent())
        else:
            add(scalar)
    events += [
        ScalarEvent(None, None, (True, True), _LAST),
        SequenceEndEvent(),
        DocumentEndEvent(explicit=False),
        StreamEndEvent(),
    ]
    written: str = yaml.emit(events, Dumper=yaml.CDumper, allow_unicode=True, width=-1)
    # Only an item starts at column 0, with "- "; the lines after its first are indented
    # (or empty), so "\n- " is where the next item starts.
    pieces = written[2:].split("\n- ")
    if len(pieces) != len(texts) + 1 or not pieces[-1].startswith(_LAST):
        raise AssertionError(f"libyaml wrote {len(pieces)} items for {len(texts)}: {written}")
    del pieces[-1]
    for index in flows:
        pieces[index] = pieces[index][1:-1]  # [text] -> text
    return pieces


# --- editing feeds.yaml in place ---------------------------------------------------------------


def set_feed_name(text: str, is_feed: Callable[[str], bool], name: str) -> tuple[str, int]:
    """``text`` (feeds.yaml) with ``name: <name>`` set on every entry of ``feeds:`` whose
    ``url`` value ``is_feed`` accepts, and how many entries that was.

    An existing ``name`` value is replaced where it stands; a missing one is added on the
    line after ``url`` (inside the braces, for a ``{url: ...}`` entry). Everything else in
    the text (comments, blank lines, quoting, order) is left as it was. Raises
    :class:`YamlError` for text libyaml cannot read.
    """
    try:
        events = list(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        raise YamlError(None, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in text order
    for entry in _feed_entries(events):
        url = entry.get("url")
        if url is None or not is_feed(url[1].value):
            continue
        edits.append(_name_edit(text, entry, name))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, len(edits)


def _feed_entries(events: list[Any]) -> list[dict[str, Any]]:
    """Each mapping of the top-level ``feeds:`` list: its scalar keys with their (key event,
    value event), plus ``"{"`` (the mapping's start) and ``"}"`` (its end)."""
    found: list[dict[str, Any]] = []
    depth = 0
    at = 0
    while at < len(events):
        event = events[at]
        kind = type(event)
        if kind in (MappingStartEvent, SequenceStartEvent):
            depth += 1
        elif kind in (MappingEndEvent, SequenceEndEvent):
            depth -= 1
        elif (
            kind is ScalarEvent
            and depth == 1
            and event.value == "feeds"
            and at + 1 < len(events)
            and type(events[at + 1]) is SequenceStartEvent
        ):
            at = _read_feed_list(events, at + 2, found)
            continue
        at += 1
    return found


def _read_feed_list(events: list[Any], at: int, found: list[dict[str, Any]]) -> int:
    """Reads the items of the feeds list from ``at``; returns the index after its end."""
    while type(events[at]) is not SequenceEndEvent:
        if type(events[at]) is not MappingStartEvent:
            at = _skip(events, at)
            continue
        entry: dict[str, Any] = {"{": events[at]}
        at += 1
        while type(events[at]) is not MappingEndEvent:
            key = events[at]
            value_at = at + 1
            if type(key) is ScalarEvent and type(events[value_at]) is ScalarEvent:
                entry[key.value] = (key, events[value_at])
            at = _skip(events, value_at)
        entry["}"] = events[at]
        found.append(entry)
        at += 1
    return at + 1


def _skip(events: list[Any], at: int) -> int:
    """The index after the node that starts at ``at`` (a scalar, or a whole collection)."""
    depth = 0
    while True:
        kind = type(events[at])
        if kind in (MappingStartEvent, SequenceStartEvent):
            depth += 1
        elif kind in (MappingEndEvent, SequenceEndEvent):
            depth -= 1
        at += 1
        if depth == 0:
            return at


def _name_edit(text: str, entry: dict[str, Any], name: str) -> tuple[int, int, str]:
    flow = bool(entry["{"].flow_style)
    value = write_scalars([(name, FLOW if flow else TEXT)])[0]
    if "name" in entry:
        current = entry["name"][1]
        return current.start_mark.index, current.end_mark.index, value
    if flow:
        end = entry["}"].start_mark.index  # the closing brace
        return end, end, f", name: {value}"
    key, url = entry["url"]
    line_end = text.find("\n", url.end_mark.index)
    line_end = len(text) if line_end < 0 else line_end
    indent = " " * key.start_mark.column
    return line_end, line_end, f"\n{indent}name: {value}"
