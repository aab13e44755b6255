"""draft.yaml as text: the exact bytes ruamel.yaml writes, without its pure-Python emitter and
scanner (each takes about a second for a 1,000-item draft).

:func:`dump` writes a draft in the layout of :func:`roundup.draft_file.dump_with_ruamel`,
byte for byte: it decides every scalar's style by ruamel's own rules (plain, ``'single'``,
``"double"`` or a ``|`` block), and hands any string it is not sure of (control characters)
to ruamel; a draft it cannot write exactly (line separators, very long values) raises
:class:`Unsupported`. :func:`load` reads the plain subset of YAML that this layout uses (plus
blank and comment lines), into the same values ruamel's round-trip loader gives; on anything
else (anchors, tags, end-of-line comments, other indentation, multi-line plain or quoted
scalars...) it raises :class:`Unsupported`. Either way the caller then uses ruamel.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scanner import Scanner

from roundup.models import Draft, DraftSection

HEADER = (
    "roundup draft for {week} — edit freely: reorder, delete or move items, fill in notes.\n"
    "Re-running `roundup draft` keeps your edits; removed items stay removed.\n"
    "To add an item of your own, give it at least a title and a link. Intro and notes are Markdown."
)
KNOWN_COMMENT = "managed by roundup: every item ever proposed for this week"
_NO_FOLDING = 1 << 20  # long URLs and titles stay on one line
_LONG = 50_000  # longer values go to ruamel (it folds lines past _NO_FOLDING columns)
_ISO_WEEK = re.compile(r"\d{4}-W\d{2}")


class Unsupported(Exception):
    """The text (or a value) is outside what this module handles exactly: use ruamel."""


# --- writing -------------------------------------------------------------------------------

# What ruamel writes as it is (allow_unicode): printable ASCII and most of Unicode, but not
# NEL, the line and paragraph separators or the BOM, which it escapes or treats as breaks.
_PRINTABLE = "\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
_ODD_LINE = re.compile(f"[^{_PRINTABLE}]")
_ODD_BLOCK = re.compile(f"[^\n{_PRINTABLE}]")
_BREAKS = re.compile("[\x85\u2028\u2029]")
# Emitter.analyze_scalar: what keeps a one-line string from being written plain
_NOT_BLOCK_PLAIN = re.compile(r"^[ #,\[\]{}&*!|>'\"%@`]|^[-?:](?: |$)|^---|^\.\.\.|: |:$| #| $")
_NOT_FLOW_PLAIN = re.compile(
    r"^[ #,\[\]{}&*!|>'\"%@`]|^-(?: |$)|^---|^\.\.\.|^[?:]$|.: |.:$| #| $|[,\[\]{}]"
)
# VersionedResolver's YAML 1.2 table: first character -> [(tag, pattern)], for implicit_tag
_IMPLICIT: dict[str | None, list[tuple[str, Any]]] = VersionedResolver(
    version=(1, 2)
).versioned_resolver
_STR = "tag:yaml.org,2002:str"


def dump(draft: Draft) -> str:
    """The text of :func:`dump_with_ruamel`. Raises :class:`Unsupported` for a draft it
    cannot write exactly (an invalid week, a number that is not an int, a value with
    unusual characters in a ``|`` block)."""
    if not _ISO_WEEK.fullmatch(draft.week) or type(draft.number) is not int:
        raise Unsupported
    out = [f"# {line}\n" for line in HEADER.format(week=draft.week).split("\n")]
    out.append(f"week: {_scalar(draft.week)}\nnumber: {draft.number}\n")
    start, end = (_flow_scalar(d.isoformat()) for d in (draft.window_start, draft.window_end))
    out.append(f"window: {{start: {start}, end: {end}}}\n")
    for key in ("subject", "preheader", "intro"):
        out.append(f"{key}:{_text(getattr(draft, key), 0)}")
    out.append("sections:\n" if draft.sections else "sections: []\n")
    for section in draft.sections:
        _write_section(out, section)
    if draft.known:
        out.append(f"known:  # {KNOWN_COMMENT}\n")
        out.extend(f"  - {_scalar(key)}\n" for key in draft.known)
    else:
        out.append(f"known: []  # {KNOWN_COMMENT}\n")
    return "".join(out)


def _write_section(out: list[str], section: DraftSection) -> None:
    out.append(f"  - name:{_text(section.name, 4)}    description:{_text(section.description, 4)}")
    out.append("    items:\n" if section.items else "    items: []\n")
    for item in section.items:
        out.append(f"      - title:{_text(item.title, 8)}        link: {_scalar(item.link)}\n")
        out.append(f"        source:{_text(item.source, 8)}")
        if item.published is not None:
            out.append(f"        date: {_scalar(item.published.isoformat())}\n")
        out.append(f"        excerpt:{_text(item.excerpt, 8)}        note:{_text(item.note, 8)}")
        if item.image:
            out.append(f"        image: {_scalar(item.image)}\n")
        if item.also_via:
            names = ", ".join(_flow_scalar(name) for name in item.also_via)
            out.append(f"        also_via: [{names}]\n")
        if item.new:
            out.append("        new: true\n")
        out.append(f"        key: {_scalar(item.key)}\n")


def _text(value: str, indent: int) -> str:
    """`` value\\n`` after a key at column ``indent``, or a ``|`` block when it has lines."""
    return _literal(value, indent + 2) if "\n" in value else f" {_scalar(value)}\n"


@functools.lru_cache(maxsize=4096)
def _scalar(value: str, flow: bool = False) -> str:
    """``value`` as ruamel writes a string in block context (or, with ``flow``, in [...])."""
    if not value:
        return "''"
    if len(value) > _LONG:
        raise Unsupported
    if _ODD_LINE.search(value):
        if _BREAKS.search(value):  # may be a multi-line 'single-quoted' scalar
            raise Unsupported
        return _ruamel_scalar(value, flow)  # escapes, in double quotes: one line in any context
    plain = _NOT_FLOW_PLAIN if flow else _NOT_BLOCK_PLAIN
    if not plain.search(value) and implicit_tag(value) == _STR:
        return value
    if "'" in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"'{value}'"


def implicit_tag(value: str) -> str:
    """The tag a plain scalar ``value`` gets (VersionedResolver.resolve, without its cost)."""
    for tag, pattern in (*_IMPLICIT.get(value[:1], ()), *_IMPLICIT.get(None, ())):
        if pattern.match(value):
            return str(tag)
    return _STR


def _flow_scalar(value: str) -> str:
    return _scalar(value, True)


def ruamel_dump(node: Any) -> str:
    """``node`` written by ruamel.yaml as roundup configures it for draft.yaml."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = _NO_FOLDING
    out = io.StringIO()
    yaml.dump(node, out)
    return out.getvalue()


def _ruamel_scalar(value: str, flow: bool) -> str:
    if flow:
        seq = CommentedSeq([value])
        seq.fa.set_flow_style()
        return ruamel_dump(CommentedMap(k=seq))[4:-2]
    return ruamel_dump(CommentedMap(k=value))[3:-1]


def _literal(value: str, indent: int) -> str:
    """`` |`` block (Emitter.write_literal): the header, then each line at ``indent``."""
    if len(value) > _LONG or _ODD_BLOCK.search(value):
        raise Unsupported
    hints = "2" if value[0] in " \n" else ""
    if value[-1] != "\n":
        hints += "-"
    elif len(value) == 1 or value[-2] == "\n":
        hints += "+"
    pad = " " * indent
    lines = value.split("\n")
    body = "\n".join(pad + line if line else "" for line in lines)
    return f" |{hints}\n{body}\n" if lines[-1] else f" |{hints}\n{body}"


# --- reading -------------------------------------------------------------------------------

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_NO_VALUE = re.compile(r" *(?:#.*)?")  # after "key:": nothing, or only a comment
_EMPTY_LIST = re.compile(r"\[\](?: +#.*)?")
_LITERAL = re.compile(r"\|([1-9]?)([-+]?)")
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(?:([xuU])([0-9A-Fa-f]*)|(.))")
# a plain scalar this reader accepts: no indicator first, no ": ", " #" or edge spaces
_BLOCK_PLAIN = re.compile(r"[^ \-?:,\[\]{}#&*!|>'\"%@`](?:(?!: | #).)*(?<![ :])")
_FLOW_PLAIN = re.compile(r"[^ \-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#:]*(?<! )")
_QUOTED = "'(?:[^']|'')*'|" + r'"(?:[^"\\]|\\.)*"'
_FLOW_ITEM = re.compile(_QUOTED + r"|[^,\[\]{}]*")
_FLOW_PAIR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*: (?:" + _QUOTED + r"|[^,\[\]{}]*)")
_INT = re.compile(r"0|[1-9][0-9]*")
_TRUE = ("true", "True", "TRUE")


def load(text: str) -> Any:
    """The data of ``text`` as ruamel's round-trip loader reads it (plain dicts and lists,
    timestamps kept as text). Raises :class:`Unsupported` for anything else."""
    if not text.endswith("\n") or _ODD_BLOCK.search(text):
        raise Unsupported
    lines = text[:-1].split("\n")
    reader = _Lines(lines, 0)
    data = reader.mapping(0)
    if not data or reader.at != len(lines):
        raise Unsupported
    return data


class _Lines:
    """A block-style reader with fixed indentation: keys at n, "- " at n + 2."""

    def __init__(self, lines: list[str], at: int) -> None:
        self.lines = lines
        self.at = at

    def depth(self) -> int:
        """The indentation of the next line that holds more than a comment (skipping blank
        and comment lines, as YAML does outside block scalars), or -1 at the end."""
        while self.at < len(self.lines):
            line = self.lines[self.at]
            text = line.lstrip(" ")
            if text and not text.startswith("#"):
                return len(line) - len(text)
            self.at += 1
        return -1

    def mapping(self, indent: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        while (depth := self.depth()) >= indent:
            match = _KEY.fullmatch(self.lines[self.at], indent)
            if depth > indent or match is None or match[1] in data or not _is_text(match[1]):
                raise Unsupported
            self.at += 1
            data[match[1]] = self.value(match[2], indent)
        return data

    def value(self, rest: str | None, indent: int) -> Any:
        if rest is None or _NO_VALUE.fullmatch(rest):
            return self.block(indent)
        if rest.startswith("|"):
            return self.literal(rest, indent)
        if _EMPTY_LIST.fullmatch(rest):
            return []
        if rest.startswith("[") and rest.endswith("]"):
            return _flow_items(rest[1:-1], _FLOW_ITEM, _flow_value)
        if rest.startswith("{") and rest.endswith("}"):
            pairs = _flow_items(rest[1:-1], _FLOW_PAIR, _flow_pair)
            if len(dict(pairs)) < len(pairs):
                raise Unsupported  # a duplicate key
            return dict(pairs)
        return _scalar_value(rest, _BLOCK_PLAIN)

    def block(self, indent: int) -> Any:
        """The node after a bare ``key:``: a sequence at indent + 2, or nothing (None)."""
        depth = self.depth()
        if depth == indent + 2 and self.lines[self.at].startswith("- ", depth):
            return self.sequence(depth)
        if depth > indent or (depth == indent and self.lines[self.at].startswith("-", depth)):
            raise Unsupported
        return None

    def sequence(self, dash: int) -> list[Any]:
        items: list[Any] = []
        while (depth := self.depth()) >= dash:
            line = self.lines[self.at]
            if depth > dash or not line.startswith("- ", dash):
                raise Unsupported
            rest = line[dash + 2 :]
            if _KEY.fullmatch(rest):  # "- key: value": a mapping that starts on this line
                self.lines[self.at] = " " * (dash + 2) + rest
                items.append(self.mapping(dash + 2))
            else:
                self.at += 1
                items.append(_scalar_value(rest, _BLOCK_PLAIN))
        return items

    def literal(self, header: str, indent: int) -> str:
        """A ``|`` block scalar whose lines are at one indentation."""
        match = _LITERAL.fullmatch(header)
        if match is None:
            raise Unsupported
        lines = self.block_lines(indent, int(match[1] or 0))
        text = "\n".join(lines)
        if match[2] == "+":
            return text + "\n"
        text = text.rstrip("\n")
        return text if match[2] == "-" else text + "\n"

    def block_lines(self, indent: int, step: int) -> list[str]:
        """The lines of a ``|`` block, without their indentation, trailing empty ones too."""
        first = self.at
        while first < len(self.lines) and not self.lines[first]:
            first += 1
        if first == len(self.lines):
            raise Unsupported
        opening = self.lines[first]
        content = indent + step if step else len(opening) - len(opening.lstrip(" "))
        if content <= indent or not opening.startswith(" " * content) or not opening.strip():
            raise Unsupported
        lines: list[str] = []
        while self.at < len(self.lines):
            line = self.lines[self.at]
            if line and not line.strip():
                raise Unsupported  # spaces only: YAML's rules for these are subtle
            if line and not line.startswith(" " * content):
                break
            lines.append(line[content:])
            self.at += 1
        return lines


def _is_text(key: str) -> bool:
    return implicit_tag(key) == _STR


def _scalar_value(text: str, plain: re.Pattern[str]) -> Any:
    """A one-line scalar: quoted, or plain and resolved as YAML 1.2 (timestamps as text)."""
    if text.startswith("'"):
        single = _SINGLE.fullmatch(text)
        if single is None:
            raise Unsupported
        return single[1].replace("''", "'")
    if text.startswith('"'):
        double = _DOUBLE.fullmatch(text)
        if double is None:
            raise Unsupported
        return _ESCAPE.sub(_unescape, double[1])
    if not plain.fullmatch(text):
        raise Unsupported
    tag = implicit_tag(text)
    if tag in (_STR, "tag:yaml.org,2002:timestamp"):
        return text
    if tag == "tag:yaml.org,2002:bool":
        return text in _TRUE
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:int" and _INT.fullmatch(text):
        return int(text)
    raise Unsupported


def _unescape(match: re.Match[str]) -> str:
    if match[3] is not None:
        if match[3] not in Scanner.ESCAPE_REPLACEMENTS:
            raise Unsupported
        return str(Scanner.ESCAPE_REPLACEMENTS[match[3]])
    digits = Scanner.ESCAPE_CODES[match[1]]
    if len(match[2]) < digits:
        raise Unsupported
    code = int(match[2][:digits], 16)
    if code > 0x10FFFF:
        raise Unsupported
    return chr(code) + match[2][digits:]


def _flow_value(text: str) -> Any:
    return _scalar_value(text, _FLOW_PLAIN)


def _flow_pair(text: str) -> tuple[str, Any]:
    match = _KEY.fullmatch(text)
    if match is None or match[2] is None or not _is_text(match[1]):
        raise Unsupported
    return match[1], _flow_value(match[2])


_T = TypeVar("_T")


def _flow_items(body: str, item: re.Pattern[str], read: Callable[[str], _T]) -> list[_T]:
    """The items of ``[a, b]`` or ``{k: v, k: v}`` (``body`` is inside the brackets)."""
    items: list[_T] = []
    at = 0
    while True:
        match = item.match(body, at)
        if match is None or match.end() == at:
            raise Unsupported
        items.append(read(match[0]))
        at = match.end()
        if at == len(body):
            return items
        if not body.startswith(", ", at):
            raise Unsupported
        at += 2
