"""Load and validate feeds.yaml into a frozen :class:`Config`.

Validation is eager and complete for the first fault it meets: the message names the file,
the line, the key path (``feeds[3].url``) and what is expected; an unknown key is an error
with a did-you-mean, never silently ignored. Relative paths resolve against the directory
of feeds.yaml, so a config works from any working directory (cron).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from roundup import __version__
from roundup.errors import ConfigError

DEFAULT_CONFIG_NAME = "feeds.yaml"
CONFIG_ENV = "ROUNDUP_CONFIG"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SECURITY = ("none", "starttls", "tls")
SECTION_ORDERS = ("newest", "oldest", "source")
DEFAULT_USER_AGENT = f"roundup/{__version__} (+https://github.com/roundup-newsletter/roundup)"


@dataclass(frozen=True, slots=True)
class Newsletter:
    """The ``newsletter:`` block: who sends what, when."""

    title: str
    url: str  # where the blog posts are published; ends with "/"
    timezone: str  # IANA name
    week_ends: int  # 0 = Monday ... 6 = Sunday: last day of each weekly window
    language: str
    from_addr: str
    to: tuple[str, ...] = ()
    max_items: int = 40
    first_issue: int = 1
    postal_address: str = ""
    unsubscribe_url: str = ""  # https URL containing "{token}"; filled per recipient
    unsubscribe_mailto: str = ""
    list_id: str = ""
    send_at: str = ""  # "friday 15:00" in the newsletter's timezone; "" = when run
    require_approval: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class SectionConfig:
    name: str
    description: str = ""
    order: str = "newest"  # newest | oldest | source


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One entry of ``feeds:``. ``key`` is the URL as written, or a local file's absolute path."""

    key: str
    url: str  # what to fetch: an http(s) URL or a file:// path turned absolute
    name: str | None = None
    section: str | None = None
    max_items: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def is_local(self) -> bool:
        return not self.url.lower().startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class FetchSettings:
    concurrency: int = 100  # only bounds our own sockets; per_host protects each server
    per_host: int = 4
    timeout: float = 20.0
    retries: int = 2
    max_bytes: int = 20_000_000
    user_agent: str = DEFAULT_USER_AGENT
    report_after: int = 3  # consecutive failures before cron output mentions a feed


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    username_env: str = ""
    password_env: str = ""
    timeout: float = 30.0
    batch_size: int = 50
    rate_per_minute: int = 0  # 0 = no limit
    subscribers: Path | None = None  # CSV with an "email" column, for direct sends


@dataclass(frozen=True, slots=True)
class Config:
    path: Path  # feeds.yaml itself, absolute
    newsletter: Newsletter
    output_dir: Path
    state: Path
    sections: tuple[SectionConfig, ...]
    feeds: tuple[FeedConfig, ...]
    fetch: FetchSettings = field(default_factory=FetchSettings)
    smtp: SmtpSettings | None = None
    templates: Path | None = None

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(feed for feed in self.feeds if feed.enabled)

    def feed(self, key: str) -> FeedConfig | None:
        return next((feed for feed in self.feeds if feed.key == key), None)


def default_config_path() -> Path:
    """``$ROUNDUP_CONFIG``, else ``./feeds.yaml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


def load_config(path: Path) -> Config:
    """Read, validate and resolve feeds.yaml. Raises :class:`ConfigError`."""
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (pass --config PATH or set ${CONFIG_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate the YAML ``text`` of the config at ``path`` (used to resolve relative paths)."""
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    return _Validator(path).config(data)


# --- validation ------------------------------------------------------------------------

_Check = Callable[[Any, str, Any], Any]


class _Validator:
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

    def config(self, data: Any) -> Config:
        if data is None:
            raise ConfigError(f"{self.path}: the file is empty (see the README for an example)")
        top = self.mapping(
            data,
            "",
            (
                "newsletter",
                "output_dir",
                "state",
                "sections",
                "feeds",
                "fetch",
                "smtp",
                "templates",
            ),
            ("newsletter", "feeds"),
        )
        sections = self.sections(top.get("sections"))
        names = {section.name for section in sections}
        templates = top.get("templates")
        return Config(
            path=self.path,
            newsletter=self.newsletter(top["newsletter"]),
            output_dir=self.base / self.value(top, "", "output_dir", _str("out")),
            state=self.base / self.value(top, "", "state", _str(".roundup/state.sqlite3")),
            sections=sections,
            feeds=self.feeds(top["feeds"], names),
            fetch=self.fetch(top.get("fetch")),
            smtp=self.smtp(top.get("smtp")),
            templates=self.templates_dir(top, templates),
        )

    def newsletter(self, node: Any) -> Newsletter:
        keys = (
            "title",
            "url",
            "timezone",
            "week_ends",
            "language",
            "from",
            "to",
            "max_items",
            "first_issue",
            "postal_address",
            "unsubscribe_url",
            "unsubscribe_mailto",
            "list_id",
            "send_at",
            "require_approval",
        )
        nl = self.mapping(node, "newsletter", keys, ("title", "url", "from"))
        v = self.value
        url = v(nl, "newsletter", "url", _url(https_only=False))
        return Newsletter(
            title=v(nl, "newsletter", "title", _str()),
            url=url if url.endswith("/") else url + "/",
            timezone=v(nl, "newsletter", "timezone", _timezone),
            week_ends=WEEKDAYS.index(v(nl, "newsletter", "week_ends", _choice(WEEKDAYS, "sunday"))),
            language=v(nl, "newsletter", "language", _language),
            from_addr=v(nl, "newsletter", "from", _address),
            to=tuple(v(nl, "newsletter", "to", _addresses)),
            max_items=v(nl, "newsletter", "max_items", _int(1, 10_000, 40)),
            first_issue=v(nl, "newsletter", "first_issue", _int(0, 1_000_000, 1)),
            postal_address=v(nl, "newsletter", "postal_address", _str("")),
            unsubscribe_url=v(nl, "newsletter", "unsubscribe_url", _unsubscribe_url),
            unsubscribe_mailto=v(nl, "newsletter", "unsubscribe_mailto", _mailto),
            list_id=v(nl, "newsletter", "list_id", _str("")),
            send_at=v(nl, "newsletter", "send_at", _send_at),
            require_approval=v(nl, "newsletter", "require_approval", _bool(False)),
        )

    def sections(self, node: Any) -> tuple[SectionConfig, ...]:
        if node is None:
            return ()
        items = self.sequence(node, "sections")
        result: list[SectionConfig] = []
        for index, item in enumerate(items):
            where = f"sections[{index}]"
            sec = self.mapping(item, where, ("name", "description", "order"), ("name",))
            name = self.value(sec, where, "name", _str())
            if any(existing.name == name for existing in result):
                raise self.fail(sec, f"{where}.name", f"'{name}' is listed twice")
            result.append(
                SectionConfig(
                    name=name,
                    description=self.value(sec, where, "description", _str("")),
                    order=self.value(sec, where, "order", _choice(SECTION_ORDERS, "newest")),
                )
            )
        return tuple(result)

    def feeds(self, node: Any, sections: set[str]) -> tuple[FeedConfig, ...]:
        items = self.sequence(node, "feeds")
        keys = ("url", "name", "section", "max_items", "include", "exclude", "enabled")
        result: list[FeedConfig] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = f"feeds[{index}]"
            feed = self.mapping(item, where, keys, ("url",))
            raw = self.value(feed, where, "url", _str())
            location = self.feed_location(feed, where, raw)
            if location in seen:
                raise self.fail(feed, f"{where}.url", f"'{raw}' is listed twice")
            seen.add(location)
            section = self.value(feed, where, "section", _optional_str)
            if section is not None and section not in sections:
                hint = difflib.get_close_matches(section, sorted(sections), n=1)
                advice = f"did you mean '{hint[0]}'?" if hint else "add it under sections:"
                raise self.fail(
                    _value_where(_Located(feed, "section", section)),
                    f"{where}.section",
                    f"'{section}' is not a configured section ({advice})",
                )
            result.append(
                FeedConfig(
                    key=location,
                    url=location,
                    name=self.value(feed, where, "name", _optional_str),
                    section=section,
                    max_items=self.value(feed, where, "max_items", _int(1, 10_000, None)),
                    include=tuple(self.value(feed, where, "include", _keywords)),
                    exclude=tuple(self.value(feed, where, "exclude", _keywords)),
                    enabled=self.value(feed, where, "enabled", _bool(True)),
                )
            )
        return tuple(result)

    def feed_location(self, node: Any, where: str, raw: str) -> str:
        scheme = urlsplit(raw).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(raw).netloc:
                raise self.fail(node, f"{where}.url", f"'{raw}' has no host")
            return raw
        if scheme and len(scheme) > 1:  # a one-letter scheme is a Windows drive letter
            raise self.fail(
                node, f"{where}.url", f"'{raw}': expected an http(s) URL or a file path"
            )
        return str((self.base / raw).resolve())

    def fetch(self, node: Any) -> FetchSettings:
        if node is None:
            return FetchSettings()
        keys = (
            "concurrency",
            "per_host",
            "timeout",
            "retries",
            "max_bytes",
            "user_agent",
            "report_after",
        )
        f = self.mapping(node, "fetch", keys)
        d = FetchSettings()
        return FetchSettings(
            concurrency=self.value(f, "fetch", "concurrency", _int(1, 1000, d.concurrency)),
            per_host=self.value(f, "fetch", "per_host", _int(1, 100, d.per_host)),
            timeout=self.value(f, "fetch", "timeout", _number(0.1, 600, d.timeout)),
            retries=self.value(f, "fetch", "retries", _int(0, 10, d.retries)),
            max_bytes=self.value(f, "fetch", "max_bytes", _int(1024, 1 << 34, d.max_bytes)),
            user_agent=self.value(f, "fetch", "user_agent", _str(d.user_agent)),
            report_after=self.value(f, "fetch", "report_after", _int(1, 1000, d.report_after)),
        )

    def smtp(self, node: Any) -> SmtpSettings | None:
        if node is None:
            return None
        keys = (
            "host",
            "port",
            "security",
            "username_env",
            "password_env",
            "timeout",
            "batch_size",
            "rate_per_minute",
            "subscribers",
        )
        s = self.mapping(node, "smtp", keys, ("host",))
        subscribers = self.value(s, "smtp", "subscribers", _optional_str)
        return SmtpSettings(
            host=self.value(s, "smtp", "host", _str()),
            port=self.value(s, "smtp", "port", _int(1, 65535, 587)),
            security=self.value(s, "smtp", "security", _choice(SECURITY, "starttls")),
            username_env=self.value(s, "smtp", "username_env", _env_name),
            password_env=self.value(s, "smtp", "password_env", _env_name),
            timeout=self.value(s, "smtp", "timeout", _number(1, 600, 30.0)),
            batch_size=self.value(s, "smtp", "batch_size", _int(1, 10_000, 50)),
            rate_per_minute=self.value(s, "smtp", "rate_per_minute", _int(0, 100_000, 0)),
            subscribers=self.base / subscribers if subscribers else None,
        )

    def templates_dir(self, top: Mapping[str, Any], raw: Any) -> Path | None:
        value: str | None = self.value(top, "", "templates", _optional_str)
        if value is None:
            return None
        folder = self.base / value
        if not folder.is_dir():
            raise self.fail(
                top, "templates", f"'{folder}' is not a folder (create it, or remove the key)"
            )
        return folder

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


def _bad(validator: _Validator, key_path: str, v: _Located, expected: str) -> ConfigError:
    return validator.fail(_value_where(v), key_path, f"expected {expected}, got {_kind(v.node)}")


def _str(default: str | None = None) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> str:
        if v.node is None:
            if default is None:
                raise validator.fail(v.parent, key_path, "missing (this key is required)")
            return default
        if not isinstance(v.node, str) or not v.node.strip():
            raise _bad(validator, key_path, v, "a non-empty string")
        return v.node.strip()

    return check


def _optional_str(validator: _Validator, key_path: str, v: _Located) -> str | None:
    if v.node is None:
        return None
    result: str = _str()(validator, key_path, v)
    return result


def _int(low: int, high: int, default: int | None) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> int | None:
        if v.node is None:
            return default
        if isinstance(v.node, bool) or not isinstance(v.node, int) or not low <= v.node <= high:
            raise _bad(validator, key_path, v, f"a whole number from {low} to {high}")
        return int(v.node)

    return check


def _number(low: float, high: float, default: float) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> float:
        if v.node is None:
            return default
        ok = isinstance(v.node, int | float) and not isinstance(v.node, bool)
        if not ok or not low <= v.node <= high:
            raise _bad(validator, key_path, v, f"a number from {low:g} to {high:g}")
        return float(v.node)

    return check


def _bool(default: bool) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> bool:
        if v.node is None:
            return default
        if not isinstance(v.node, bool):
            raise _bad(validator, key_path, v, "true or false")
        return v.node

    return check


def _choice(choices: tuple[str, ...], default: str) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> str:
        if v.node is None:
            return default
        value = v.node.strip().lower() if isinstance(v.node, str) else v.node
        if value not in choices:
            raise _bad(validator, key_path, v, f"one of {', '.join(choices)}")
        return str(value)

    return check


def _timezone(validator: _Validator, key_path: str, v: _Located) -> str:
    name: str = _str("UTC")(validator, key_path, v)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise validator.fail(
            _value_where(v), key_path, f"'{name}' is not an IANA time zone (e.g. Europe/Paris)"
        ) from None
    return name


def _language(validator: _Validator, key_path: str, v: _Located) -> str:
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


def _address(validator: _Validator, key_path: str, v: _Located) -> str:
    text: str = _str()(validator, key_path, v)
    _name, addr = parseaddr(text)
    if not _ADDRESS.match(addr):
        raise _bad(validator, key_path, v, 'an email address like "Name <me@example.org>"')
    return text


def _addresses(validator: _Validator, key_path: str, v: _Located) -> list[str]:
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


def _keywords(validator: _Validator, key_path: str, v: _Located) -> list[str]:
    node = v.node
    if node is None:
        return []
    items = [node] if isinstance(node, str) else node
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise _bad(validator, key_path, v, "a list of keywords")
    return [item.strip().lower() for item in items]


def _url(*, https_only: bool) -> _Check:
    def check(validator: _Validator, key_path: str, v: _Located) -> str:
        text: str = _str()(validator, key_path, v)
        parts = urlsplit(text)
        schemes = ("https",) if https_only else ("http", "https")
        if parts.scheme not in schemes or not parts.netloc:
            raise _bad(validator, key_path, v, f"an absolute {'/'.join(schemes)} URL")
        return text

    return check


def _unsubscribe_url(validator: _Validator, key_path: str, v: _Located) -> str:
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


def _mailto(validator: _Validator, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    if not text.startswith("mailto:") or not _ADDRESS.match(text[7:].split("?")[0]):
        raise _bad(validator, key_path, v, "a mailto: URI like mailto:leave@example.org")
    return text


_SEND_AT = re.compile(r"^(?P<day>[a-z]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")


def _send_at(validator: _Validator, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    match = _SEND_AT.match(text.lower())
    if not match or match["day"] not in WEEKDAYS or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise _bad(validator, key_path, v, 'a weekday and a time like "friday 15:00"')
    return text.lower()


def _env_name(validator: _Validator, key_path: str, v: _Located) -> str:
    if v.node is None:
        return ""
    text: str = _str()(validator, key_path, v)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise _bad(validator, key_path, v, "the name of an environment variable")
    return text
