"""Load and validate feeds.yaml into a frozen :class:`Config`.

Validation is eager and complete for the first fault it meets: the message names the file,
the line, the key path (``feeds[3].url``) and what is expected; an unknown key is an error
with a did-you-mean, never silently ignored. Relative paths resolve against the directory
of feeds.yaml, so a config works from any working directory (cron).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from roundup import __version__
from roundup.config_checks import (
    WEEKDAYS as WEEKDAYS,
)
from roundup.config_checks import (
    _address,
    _addresses,
    _bool,
    _choice,
    _env_name,
    _int,
    _keywords,
    _language,
    _Located,
    _mailto,
    _number,
    _optional_str,
    _send_at,
    _str,
    _timezone,
    _unsubscribe_url,
    _url,
    _value_where,
    _YamlWalker,
)
from roundup.errors import ConfigError

DEFAULT_CONFIG_NAME = "feeds.yaml"
CONFIG_ENV = "ROUNDUP_CONFIG"
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


class _Validator(_YamlWalker):
    """Checks feeds.yaml block by block and builds the :class:`Config`."""

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
