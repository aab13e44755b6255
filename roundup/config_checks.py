"""Value checks for feeds.yaml: each turns one YAML node into a typed value or a ConfigError.

A check is called as ``check(validator, key_path, located)``; the factories (``_str``,
``_int``, ``_choice``…) build checks with a default or a range. The line-number helpers
point every message at the line of the offending key or value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from roundup.errors import ConfigError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_Check = Callable[[Any, str, Any], Any]


class _YamlWalker:
    """Walks the parsed YAML, keeping the key path and line for every message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, node: Any, key_path: str, problem: str) -> ConfigError:
        where = key_path or "top level"
        return ConfigError(f"{self.path}{_line(node)}: {where}: {problem}")

    def mapping(
        self, node: Any, key_path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> CommentedMap:
        if not isinstance(node, Mapping):
            raise self.fail(node, key_path, f"expected a mapping of keys, got {_kind(node)}")
        for key in node:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                advice = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
                raise self.fail(
                    _key_node(node, key), _join(key_path, str(key)), f"unknown key ({advice})"
                )
        for key in required:
            if node.get(key) is None:
                raise self.fail(node, _join(key_path, key), "missing (this key is required)")
        return node  # type: ignore[return-value]

    def value(self, parent: Mapping[str, Any], key_path: str, key: str, check: _Check) -> Any:
        node = parent.get(key)
        return check(self, _join(key_path, key), _Located(parent, key, node))

    def sequence(self, node: Any, key_path: str) -> CommentedSeq:
        if not isinstance(node, list):
            raise self.fail(node, key_path, f"expected a list, got {_kind(node)}")
        return node  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class _Located:
    """A value with the mapping and key it came from, for line numbers in messages."""

    parent: Any
    key: str
    node: Any


def _line(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f":{lc.line + 1}" if lc is not None and lc.line is not None else ""


def _key_node(parent: Any, key: Any) -> Any:
    """A stand-in carrying the line of ``key`` inside ``parent``."""
    try:
        line, _col = parent.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return parent
    return _LineOnly(line)


def _value_where(v: _Located) -> Any:
    try:
        line, _col = v.parent.lc.value(v.key)
    except (AttributeError, KeyError, TypeError):
        return v.parent
    return _LineOnly(line)


@dataclass(frozen=True, slots=True)
class _LC:
    line: int


class _LineOnly:
    def __init__(self, line: int) -> None:
        self.lc = _LC(line)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _kind(node: Any) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, bool):
        return f"{str(node).lower()} (a boolean)"
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, list):
        return "a list"
    if isinstance(node, int | float):
        return f"{node} (a number)"
    return f"'{node}'"


def _bad(validator: _YamlWalker, key_path: str, v: _Located, expected: str) -> ConfigError:
    return validator.fail(_value_where(v), key_path, f"expected {expected}, got {_kind(v.node)}")


def _str(default: str | None = None) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> str:
        if v.node is None:
            if default is None:
                raise validator.fail(v.parent, key_path, "missing (this key is required)")
            return default
        if not isinstance(v.node, str) or not v.node.strip():
            raise _bad(validator, key_path, v, "a non-empty string")
        return v.node.strip()

    return check


def _optional_str(validator: _YamlWalker, key_path: str, v: _Located) -> str | None:
    if v.node is None:
        return None
    result: str = _str()(validator, key_path, v)
    return result


def _int(low: int, high: int, default: int | None) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> int | None:
        if v.node is None:
            return default
        if isinstance(v.node, bool) or not isinstance(v.node, int) or not low <= v.node <= high:
            raise _bad(validator, key_path, v, f"a whole number from {low} to {high}")
        return int(v.node)

    return check


def _number(low: float, high: float, default: float) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> float:
        if v.node is None:
            return default
        ok = isinstance(v.node, int | float) and not isinstance(v.node, bool)
        if not ok or not low <= v.node <= high:
            raise _bad(validator, key_path, v, f"a number from {low:g} to {high:g}")
        return float(v.node)

    return check


def _bool(default: bool) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> bool:
        if v.node is None:
            return default
        if not isinstance(v.node, bool):
            raise _bad(validator, key_path, v, "true or false")
        return v.node

    return check


def _choice(choices: tuple[str, ...], default: str) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> str:
        if v.node is None:
            return default
        value = v.node.strip().lower() if isinstance(v.node, str) else v.node
        if value not in choices:
            raise _bad(validator, key_path, v, f"one of {', '.join(choices)}")
        return str(value)

    return check


def _timezone(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    name: str = _str("UTC")(validator, key_path, v)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise validator.fail(
            _value_where(v), key_path, f"'{name}' is not an IANA time zone (e.g. Europe/Paris)"
        ) from None
    return name


def _language(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    from babel import Locale, UnknownLocaleError

    code: str = _str("en")(validator, key_path, v)
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise validator.fail(
            _value_where(v), key_path, f"'{code}' is not a language code (e.g. en, fr, pt-BR)"
        ) from None
    return code


_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _address(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    text: str = _str()(validator, key_path, v)
    _name, addr = parseaddr(text)
    if not _ADDRESS.match(addr):
        raise _bad(validator, key_path, v, 'an email address like "Name <me@example.org>"')
    return text


def _addresses(validator: _YamlWalker, key_path: str, v: _Located) -> list[str]:
    node = v.node
    if node is None:
        return []
    items = [node] if isinstance(node, str) else node
    if not isinstance(items, list):
        raise _bad(validator, key_path, v, "a list of email addresses")
    result = []
    for index, item in enumerate(items):
        addrs = getaddresses([item]) if isinstance(item, str) else []
        if len(addrs) != 1 or not _ADDRESS.match(addrs[0][1]):
            raise validator.fail(
                _value_where(v),
                f"{key_path}[{index}]",
                f"expected an email address, got {_kind(item)}",
            )
        result.append(item.strip())
    return result


def _keywords(validator: _YamlWalker, key_path: str, v: _Located) -> list[str]:
    node = v.node
    if node is None:
        return []
    items = [node] if isinstance(node, str) else node
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise _bad(validator, key_path, v, "a list of keywords")
    return [item.strip().lower() for item in items]


def _url(*, https_only: bool) -> _Check:
    def check(validator: _YamlWalker, key_path: str, v: _Located) -> str:
        text: str = _str()(validator, key_path, v)
        parts = urlsplit(text)
        schemes = ("https",) if https_only else ("http", "https")
        if parts.scheme not in schemes or not parts.netloc:
            raise _bad(validator, key_path, v, f"an absolute {'/'.join(schemes)} URL")
        return text

    return check


def _unsubscribe_url(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _url(https_only=True)(validator, key_path, v)
    if "{token}" not in text:
        raise validator.fail(
            _value_where(v),
            key_path,
            "must contain {token}, replaced per recipient (e.g. https://example.org/u/{token})",
        )
    return text


def _mailto(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    if not text.startswith("mailto:") or not _ADDRESS.match(text[7:].split("?")[0]):
        raise _bad(validator, key_path, v, "a mailto: URI like mailto:leave@example.org")
    return text


_SEND_AT = re.compile(r"^(?P<day>[a-z]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")


def _send_at(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    match = _SEND_AT.match(text.lower())
    if not match or match["day"] not in WEEKDAYS or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise _bad(validator, key_path, v, 'a weekday and a time like "friday 15:00"')
    return text.lower()


def _env_name(validator: _YamlWalker, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise _bad(validator, key_path, v, "the name of an environment variable")
    return text
