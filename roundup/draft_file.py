"""draft.yaml on disk: reading it (with validation) and writing it.

``parse_draft`` validates the whole file and fails on the first fault with
``<path>:<line>: <key path>: <problem> (<what to do>)``; nothing is written on failure.
Dates are ISO 8601; one without a UTC offset is read in the offset of ``window.start``.

The text is read by :func:`roundup.draft_yaml.load` when it keeps to the layout roundup
writes, else (and to locate any fault) by ruamel.yaml, which knows every line's number.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from roundup import draft_yaml
from roundup.atomic import write_atomic
from roundup.draft_check import (
    EDITOR_PREFIX,
    ID_PREFIX,
    editor_key,
    read_draft,
    shorten,
)
from roundup.errors import DraftError
from roundup.models import Draft, DraftItem, DraftSection

__all__ = [
    "EDITOR_PREFIX",
    "ID_PREFIX",
    "dump_draft",
    "dump_with_ruamel",
    "editor_key",
    "load_draft",
    "parse_draft",
    "save_draft",
    "shorten",
]

_Node = TypeVar("_Node", CommentedMap, CommentedSeq)


# --- writing --------------------------------------------------------------------------------


def dump_draft(draft: Draft) -> str:
    """``draft`` as YAML: fixed key order, block style, multi-line text as ``|`` blocks."""
    try:
        return draft_yaml.dump(draft)
    except draft_yaml.Unsupported:
        return dump_with_ruamel(draft)


def save_draft(path: Path, draft: Draft) -> None:
    """Write ``draft`` to ``path`` atomically: a failed write leaves the old file as it was."""
    text = dump_draft(draft)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise DraftError(f"{path}: cannot write it ({exc})") from exc


# --- the reference writer: ruamel ---------------------------------------------------------


def dump_with_ruamel(draft: Draft) -> str:
    """:func:`dump_draft` the slow way, which defines the bytes :mod:`roundup.draft_yaml` writes."""
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
    top.yaml_set_start_comment(draft_yaml.HEADER.format(week=draft.week))
    top.yaml_add_eol_comment(draft_yaml.KNOWN_COMMENT, "known")
    return draft_yaml.ruamel_dump(top)


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
    # ruamel writes a LiteralScalarString as a ``|`` block whatever it holds
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
    try:
        data = draft_yaml.load(text)
    except draft_yaml.Unsupported:
        return _parse_with_ruamel(text, path)
    try:
        return read_draft(data, path)
    except DraftError:  # read it again with ruamel, to point at the line
        return _parse_with_ruamel(text, path)


def _parse_with_ruamel(text: str, path: Path) -> Draft:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DraftError(f"{path}{where}: not valid YAML: {problem}") from None
    return read_draft(data, path)


class _Constructor(RoundTripConstructor):
    """Keeps unquoted timestamps as text, so every date goes through one parser."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)
