"""Load and validate feeds.yaml into a frozen :class:`Config`.

Validation is eager and complete for the first fault it meets: the message names the file,
the line, the key path (``feeds[3].url``) and what is expected; an unknown key is an error
with a did-you-mean, never silently ignored. Relative paths resolve against the directory
of feeds.yaml, so a config works from any working directory (cron). The text is read by
:mod:`roundup.yamlfile`: YAML 1.2, with no anchors, aliases, tags or keys that are not names.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from roundup import __version__
from roundup.errors import ConfigError
from roundup.yamlfile import YamlError, YamlList, YamlMapping
from roundup.yamlfile import load as load_yaml

DEFAULT_CONFIG_NAME = "feeds.yaml"
CONFIG_ENV = "ROUNDUP_CONFIG"
SECURITY = ("none", "starttls", "tls")
# delivery.via: SMTP sends the copies itself; the others hand one issue to a list engine
# that owns the subscribers (see roundup.mailer).
DELIVERY_BACKENDS = ("smtp", "mailman", "listmonk", "buttondown")
BUTTONDOWN_STATUSES = ("draft", "scheduled")
SECTION_ORDERS = ("newest", "oldest", "source", "coverage")
QUIET_WEEK = ("skip", "send", "roll_over")  # what a week with too few items does
UNAPPROVED = ("hold", "send", "skip")  # what an unapproved issue does at send_at
POST_FORMATS = ("jekyll", "hugo", "pelican")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
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
    # what run does when require_approval is on and nothing is approved at send_at
    unapproved: str = "hold"  # hold (keep waiting) | send | skip
    min_items: int = 1  # fewer items than this make a quiet week
    quiet_week: str = "skip"  # skip | send (when it has items at all) | roll_over
    editors: tuple[str, ...] = ()  # who gets the briefing before each issue
    brief_before: timedelta = timedelta(hours=24)  # how long before send_at the briefing goes
    block_on_broken_links: bool = False  # broken links hold the send
    subscribe_url: str = ""  # https page to subscribe, or the action of the subscribe form
    subscribe_form: bool = False  # the web pages show an email form that posts to it
    # (name, value) query parameters added to links that leave the email; the values may
    # hold {number} (the issue number) and {week} (2015-W33). Empty: links are left alone.
    link_tags: tuple[tuple[str, str], ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class SectionConfig:
    name: str
    description: str = ""
    order: str = "newest"  # newest | oldest | source | coverage


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
    # seconds per feed, retries and Retry-After waits included: a server that drips one
    # byte per read timeout would otherwise hold the run, and its lock, for ever
    deadline: float = 60.0
    budget: float = 300.0  # seconds for the whole fetch: a feed still running then fails
    retries: int = 2
    max_bytes: int = 20_000_000
    user_agent: str = DEFAULT_USER_AGENT
    report_after: int = 3  # consecutive failures before cron output mentions a feed


@dataclass(frozen=True, slots=True)
class StoreSettings:
    # Entries older than this that no issue used are deleted (weekly, by `roundup run`),
    # so the state file stops growing: a little over a year keeps last year's issue of the
    # same week explainable.
    keep_days: int = 400


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
    # extra header lines an ESP relay reads, e.g. (("X-PM-Message-Stream", "broadcast"),)
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PostSettings:
    """The ``post:`` block: which site generator ``post.md`` is written for."""

    format: str = "jekyll"  # jekyll | hugo | pelican


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """The ``publish:`` block: where ``roundup publish`` puts the web copy (``out/site``).

    Neither set: the site stays in ``<output_dir>/site``. ``to``: a local folder, replaced
    atomically. ``command``: run with the site folder as an argument (``{site}`` in it, else
    appended), e.g. ``rsync -a --delete {site}/ web:/srv/roundup/``.
    """

    to: Path | None = None
    command: tuple[str, ...] = ()
    timeout: float = 600.0  # seconds the command may take


@dataclass(frozen=True, slots=True)
class MailmanSettings:
    """The ``mailman:`` block: a GNU Mailman 3 list, posted to through its REST API."""

    api_url: str  # Mailman core's REST API root, e.g. http://127.0.0.1:8001/3.1
    list: str  # the list's posting address, e.g. news@lists.example.org
    username_env: str = "MAILMAN_REST_USER"
    password_env: str = "MAILMAN_REST_PASSWORD"
    moderator_password_env: str = "MAILMAN_MODERATOR_PASSWORD"
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class ListmonkSettings:
    """The ``listmonk:`` block: a campaign to one or more listmonk lists."""

    url: str  # listmonk's root, e.g. https://listmonk.example.org
    lists: tuple[int, ...]
    username_env: str = "LISTMONK_API_USER"
    token_env: str = "LISTMONK_API_TOKEN"
    template_id: int | None = None  # a template holding only {{ template "content" . }}
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class ButtondownSettings:
    """The ``buttondown:`` block: an email created through Buttondown's API."""

    api_url: str = "https://api.buttondown.com/v1"
    api_key_env: str = "BUTTONDOWN_API_KEY"
    status: str = "draft"  # draft (you press send) or scheduled (at newsletter.send_at)
    timeout: float = 30.0


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
    via: str = "smtp"  # delivery.via: one of DELIVERY_BACKENDS
    mailman: MailmanSettings | None = None
    listmonk: ListmonkSettings | None = None
    buttondown: ButtondownSettings | None = None
    post: PostSettings = field(default_factory=PostSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    store: StoreSettings = field(default_factory=StoreSettings)

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
        data = load_yaml(text)
    except YamlError as exc:
        raise ConfigError(exc.message(path)) from None
    return _Validator(path).config(data)


# --- validation ------------------------------------------------------------------------
#
# The validator walks the YAML top-down, so the first fault in the file is the one reported.
# A check turns one present value into a typed value or raises; what an absent (or null)
# key means is the default given beside the check, where the key is read.


class _Value(NamedTuple):
    """A value of feeds.yaml and where it sits: its mapping, its key and the mapping's path."""

    parent: YamlMapping
    key: str
    prefix: str  # key path of the mapping: "feeds[3]"; "" at the top
    node: Any

    @property
    def path(self) -> str:
        return _join(self.prefix, self.key)

    @property
    def line(self) -> int:
        return self.parent.value_line(self.key)


_Check = Callable[["_Validator", _Value], Any]


class _Validator:
    """Checks feeds.yaml block by block and builds the :class:`Config`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, line: int | None, key_path: str, problem: str) -> ConfigError:
        where = f":{line}" if line is not None else ""
        return ConfigError(f"{self.path}{where}: {key_path or 'top level'}: {problem}")

    def bad(self, v: _Value, expected: str) -> ConfigError:
        return self.fail(v.line, v.path, f"expected {expected}, got {_kind(v.node)}")

    def mapping(
        self,
        node: Any,
        key_path: str,
        line: int,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> YamlMapping:
        """``node`` (at ``line``), checked to be a mapping of ``allowed`` keys."""
        if not isinstance(node, YamlMapping):
            raise self.fail(line, key_path, f"expected a mapping of keys, got {_kind(node)}")
        for key in node:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                advice = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
                raise self.fail(
                    node.key_line(key), _join(key_path, str(key)), f"unknown key ({advice})"
                )
        for key in required:
            if node.get(key) is None:
                raise self.fail(node.line, _join(key_path, key), "missing (this key is required)")
        return node

    def sequence(self, parent: YamlMapping, key_path: str, key: str) -> YamlList:
        node = parent.get(key)
        if not isinstance(node, YamlList):
            raise self.fail(
                parent.value_line(key),
                _join(key_path, key),
                f"expected a list, got {_kind(node)}",
            )
        return node

    def value(
        self, parent: YamlMapping, key_path: str, key: str, check: _Check, default: Any = None
    ) -> Any:
        """``parent[key]`` through ``check``; ``default`` when the key is absent or null."""
        node = parent.get(key)
        if node is None:
            return default
        return check(self, _Value(parent, key, key_path, node))

    def config(self, data: Any) -> Config:
        if data is None:
            raise ConfigError(f"{self.path}: the file is empty (see the README for an example)")
        top = self.mapping(
            data,
            "",
            1,
            (
                "newsletter",
                "output_dir",
                "state",
                "sections",
                "feeds",
                "fetch",
                "smtp",
                "templates",
                "delivery",
                "mailman",
                "listmonk",
                "buttondown",
                "post",
                "publish",
                "store",
            ),
            ("newsletter", "feeds"),
        )
        sections = self.sections(top)
        names = {section.name for section in sections}
        return Config(
            path=self.path,
            newsletter=self.newsletter(top),
            output_dir=self.base / self.value(top, "", "output_dir", _str, "out"),
            state=self.base / self.value(top, "", "state", _str, ".roundup/state.sqlite3"),
            sections=sections,
            feeds=self.feeds(top, names),
            fetch=self.fetch(top),
            smtp=self.smtp(top),
            templates=self.templates_dir(top),
            via=self.delivery(top),
            mailman=self.mailman(top),
            listmonk=self.listmonk(top),
            buttondown=self.buttondown(top),
            post=self.post(top),
            publish=self.publish(top),
            store=self.store(top),
        )

    def newsletter(self, top: YamlMapping) -> Newsletter:
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
            "unapproved",
            "min_items",
            "quiet_week",
            "editors",
            "brief_before",
            "block_on_broken_links",
            "subscribe_url",
            "subscribe_form",
            "link_tags",
        )
        p = "newsletter"
        nl = self.mapping(top[p], p, top.value_line(p), keys, ("title", "url", "from"))
        v = self.value
        url = v(nl, p, "url", _url(https_only=False))
        return Newsletter(
            title=v(nl, p, "title", _str),
            url=url if url.endswith("/") else url + "/",
            timezone=v(nl, p, "timezone", _timezone, "UTC"),
            week_ends=WEEKDAYS.index(v(nl, p, "week_ends", _choice(WEEKDAYS), "sunday")),
            language=v(nl, p, "language", _language, "en"),
            from_addr=v(nl, p, "from", _address),
            to=tuple(v(nl, p, "to", _addresses, [])),
            max_items=v(nl, p, "max_items", _int(1, 10_000), 40),
            first_issue=v(nl, p, "first_issue", _int(0, 1_000_000), 1),
            postal_address=v(nl, p, "postal_address", _str, ""),
            unsubscribe_url=v(nl, p, "unsubscribe_url", _unsubscribe_url, ""),
            unsubscribe_mailto=v(nl, p, "unsubscribe_mailto", _mailto, ""),
            list_id=v(nl, p, "list_id", _str, ""),
            send_at=v(nl, p, "send_at", _send_at, ""),
            require_approval=v(nl, p, "require_approval", _bool, False),
            unapproved=v(nl, p, "unapproved", _choice(UNAPPROVED), "hold"),
            min_items=v(nl, p, "min_items", _int(1, 10_000), 1),
            quiet_week=v(nl, p, "quiet_week", _choice(QUIET_WEEK), "skip"),
            editors=tuple(v(nl, p, "editors", _addresses, [])),
            brief_before=v(nl, p, "brief_before", _duration, timedelta(hours=24)),
            block_on_broken_links=v(nl, p, "block_on_broken_links", _bool, False),
            link_tags=v(nl, p, "link_tags", _link_tags, ()),
            subscribe_url=v(nl, p, "subscribe_url", _url(https_only=True), ""),
            subscribe_form=self.subscribe_form(nl),
        )

    def subscribe_form(self, nl: YamlMapping) -> bool:
        """``subscribe_form: true`` needs the ``subscribe_url`` its form posts to."""
        wanted: bool = self.value(nl, "newsletter", "subscribe_form", _bool, False)
        if wanted and nl.get("subscribe_url") is None:
            raise self.fail(
                nl.key_line("subscribe_form"),
                "newsletter.subscribe_form",
                "needs newsletter.subscribe_url, the address the form posts to",
            )
        return wanted

    def post(self, top: YamlMapping) -> PostSettings:
        if top.get("post") is None:
            return PostSettings()
        post = self.mapping(top["post"], "post", top.value_line("post"), ("format",))
        return PostSettings(
            format=self.value(post, "post", "format", _choice(POST_FORMATS), "jekyll")
        )

    def publish(self, top: YamlMapping) -> PublishSettings:
        if top.get("publish") is None:
            return PublishSettings()
        p = "publish"
        pub = self.mapping(top[p], p, top.value_line(p), ("to", "command", "timeout"))
        if pub.get("to") is not None and pub.get("command") is not None:
            raise self.fail(
                pub.key_line("command"),
                "publish.command",
                "set publish.to (a local folder) or publish.command (a program that uploads"
                " the site), not both",
            )
        folder = self.value(pub, p, "to", _str)
        return PublishSettings(
            to=self.base / folder if folder else None,
            command=self.value(pub, p, "command", _command, ()),
            timeout=self.value(pub, p, "timeout", _number(1, 86400), 600.0),
        )

    def sections(self, top: YamlMapping) -> tuple[SectionConfig, ...]:
        if top.get("sections") is None:
            return ()
        items = self.sequence(top, "", "sections")
        result: list[SectionConfig] = []
        for index, item in enumerate(items):
            where = f"sections[{index}]"
            keys = ("name", "description", "order")
            sec = self.mapping(item, where, items.item_line(index), keys, ("name",))
            name = self.value(sec, where, "name", _str)
            if any(existing.name == name for existing in result):
                raise self.fail(sec.line, f"{where}.name", f"'{name}' is listed twice")
            result.append(
                SectionConfig(
                    name=name,
                    description=self.value(sec, where, "description", _str, ""),
                    order=self.value(sec, where, "order", _choice(SECTION_ORDERS), "newest"),
                )
            )
        return tuple(result)

    def feeds(self, top: YamlMapping, sections: set[str]) -> tuple[FeedConfig, ...]:
        items = self.sequence(top, "", "feeds")
        allowed = ("url", *_FEED_CHECKS)
        result: list[FeedConfig] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = f"feeds[{index}]"
            feed = self.mapping(item, where, items.item_line(index), allowed, ("url",))
            raw = _str(self, _Value(feed, "url", where, feed["url"]))
            location = self.feed_location(feed, where, raw)
            if location in seen:
                raise self.fail(feed.line, f"{where}.url", f"'{raw}' is listed twice")
            seen.add(location)
            # the other keys in the order they are written; absent ones keep FeedConfig's defaults
            given = {
                key: _FEED_CHECKS[key](self, _Value(feed, key, where, node))
                for key, node in feed.items()
                if key != "url" and node is not None
            }
            section = given.get("section")
            if section is not None and section not in sections:
                hint = difflib.get_close_matches(section, sorted(sections), n=1)
                advice = f"did you mean '{hint[0]}'?" if hint else "add it under sections:"
                raise self.fail(
                    feed.value_line("section"),
                    f"{where}.section",
                    f"'{section}' is not a configured section ({advice})",
                )
            result.append(FeedConfig(key=location, url=location, **given))
        return tuple(result)

    def feed_location(self, feed: YamlMapping, where: str, raw: str) -> str:
        """The URL as written, or a local file's absolute path."""
        if _HTTP.match(raw):
            if not _HTTP_HOST.match(raw):
                raise self.fail(feed.line, f"{where}.url", f"'{raw}' has no host")
            return raw
        scheme = urlsplit(raw).scheme
        if len(scheme) > 1:  # a one-letter scheme is a Windows drive letter
            raise self.fail(
                feed.line, f"{where}.url", f"'{raw}': expected an http(s) URL or a file path"
            )
        return str((self.base / raw).resolve())

    def fetch(self, top: YamlMapping) -> FetchSettings:
        if top.get("fetch") is None:
            return FetchSettings()
        keys = (
            "concurrency",
            "per_host",
            "timeout",
            "deadline",
            "budget",
            "retries",
            "max_bytes",
            "user_agent",
            "report_after",
        )
        p = "fetch"
        f = self.mapping(top[p], p, top.value_line(p), keys)
        d = FetchSettings()
        v = self.value
        return FetchSettings(
            concurrency=v(f, p, "concurrency", _int(1, 1000), d.concurrency),
            per_host=v(f, p, "per_host", _int(1, 100), d.per_host),
            timeout=v(f, p, "timeout", _number(0.1, 600), d.timeout),
            deadline=v(f, p, "deadline", _number(1, 3600), d.deadline),
            budget=v(f, p, "budget", _number(1, 86400), d.budget),
            retries=v(f, p, "retries", _int(0, 10), d.retries),
            max_bytes=v(f, p, "max_bytes", _int(1024, 1 << 34), d.max_bytes),
            user_agent=v(f, p, "user_agent", _header_text, d.user_agent),
            report_after=v(f, p, "report_after", _int(1, 1000), d.report_after),
        )

    def store(self, top: YamlMapping) -> StoreSettings:
        if top.get("store") is None:
            return StoreSettings()
        p = "store"
        s = self.mapping(top[p], p, top.value_line(p), ("keep_days",))
        d = StoreSettings()
        return StoreSettings(
            keep_days=self.value(s, p, "keep_days", _int(30, 100_000), d.keep_days)
        )

    def smtp(self, top: YamlMapping) -> SmtpSettings | None:
        if top.get("smtp") is None:
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
            "headers",
        )
        p = "smtp"
        s = self.mapping(top[p], p, top.value_line(p), keys, ("host",))
        v = self.value
        subscribers = v(s, p, "subscribers", _str)
        if subscribers and top["newsletter"].get("to"):
            # Two answers to "who gets the issue": refuse rather than silently pick one.
            raise self.fail(
                s.key_line("subscribers"),
                "smtp.subscribers",
                "set newsletter.to or smtp.subscribers, not both: newsletter.to sends one copy"
                " to each list address (a mailing list that passes it on to its members),"
                " smtp.subscribers sends each address in the CSV file its own copy; remove"
                " the one you do not use",
            )
        return SmtpSettings(
            host=v(s, p, "host", _str),
            port=v(s, p, "port", _int(1, 65535), 587),
            security=v(s, p, "security", _choice(SECURITY), "starttls"),
            username_env=v(s, p, "username_env", _env_name, ""),
            password_env=v(s, p, "password_env", _env_name, ""),
            timeout=v(s, p, "timeout", _number(1, 600), 30.0),
            batch_size=v(s, p, "batch_size", _int(1, 10_000), 50),
            rate_per_minute=v(s, p, "rate_per_minute", _int(0, 100_000), 0),
            subscribers=self.base / subscribers if subscribers else None,
            headers=v(s, p, "headers", _extra_headers, ()),
        )

    def delivery(self, top: YamlMapping) -> str:
        """``delivery.via``; the block it names must be there (SMTP keeps its own check)."""
        if top.get("delivery") is None:
            return "smtp"
        p = "delivery"
        d = self.mapping(top[p], p, top.value_line(p), ("via",), ("via",))
        via: str = self.value(d, p, "via", _choice(DELIVERY_BACKENDS))
        if via != "smtp" and top.get(via) is None:
            raise self.fail(
                d.value_line("via"),
                "delivery.via",
                f"'{via}' needs a {via}: block (see the README's Delivery section)",
            )
        smtp = top.get("smtp")
        direct = isinstance(smtp, YamlMapping) and smtp.get("subscribers") is not None
        if via != "smtp" and (top["newsletter"].get("to") or direct):
            # Two answers to "who gets the issue": refuse rather than silently pick one.
            key = "newsletter.to" if top["newsletter"].get("to") else "smtp.subscribers"
            raise self.fail(
                d.value_line("via"),
                "delivery.via",
                f"{via} delivers to the subscribers it keeps, so {key} would be ignored;"
                f" remove {key}, or send with via: smtp",
            )
        return via

    def mailman(self, top: YamlMapping) -> MailmanSettings | None:
        if top.get("mailman") is None:
            return None
        keys = (
            "api_url",
            "list",
            "username_env",
            "password_env",
            "moderator_password_env",
            "timeout",
        )
        p = "mailman"
        m = self.mapping(top[p], p, top.value_line(p), keys, ("api_url", "list"))
        v, d = self.value, MailmanSettings("", "")
        return MailmanSettings(
            api_url=v(m, p, "api_url", _url(https_only=False)).rstrip("/"),
            list=v(m, p, "list", _address),
            username_env=v(m, p, "username_env", _env_name, d.username_env),
            password_env=v(m, p, "password_env", _env_name, d.password_env),
            moderator_password_env=v(
                m, p, "moderator_password_env", _env_name, d.moderator_password_env
            ),
            timeout=v(m, p, "timeout", _number(1, 600), d.timeout),
        )

    def listmonk(self, top: YamlMapping) -> ListmonkSettings | None:
        if top.get("listmonk") is None:
            return None
        keys = ("url", "lists", "username_env", "token_env", "template_id", "timeout")
        p = "listmonk"
        m = self.mapping(top[p], p, top.value_line(p), keys, ("url", "lists"))
        v, d = self.value, ListmonkSettings("", ())
        return ListmonkSettings(
            url=v(m, p, "url", _url(https_only=False)).rstrip("/"),
            lists=v(m, p, "lists", _ids),
            username_env=v(m, p, "username_env", _env_name, d.username_env),
            token_env=v(m, p, "token_env", _env_name, d.token_env),
            template_id=v(m, p, "template_id", _int(1, 1 << 31), None),
            timeout=v(m, p, "timeout", _number(1, 600), d.timeout),
        )

    def buttondown(self, top: YamlMapping) -> ButtondownSettings | None:
        if top.get("buttondown") is None:
            return None
        keys = ("api_url", "api_key_env", "status", "timeout")
        p = "buttondown"
        m = self.mapping(top[p], p, top.value_line(p), keys)
        v, d = self.value, ButtondownSettings()
        status: str = v(m, p, "status", _choice(BUTTONDOWN_STATUSES), d.status)
        if status == "scheduled" and not top["newsletter"].get("send_at"):
            raise self.fail(
                m.value_line("status"),
                "buttondown.status",
                "scheduled needs newsletter.send_at (the moment to schedule the email for)",
            )
        return ButtondownSettings(
            api_url=v(m, p, "api_url", _url(https_only=False), d.api_url).rstrip("/"),
            api_key_env=v(m, p, "api_key_env", _env_name, d.api_key_env),
            status=status,
            timeout=v(m, p, "timeout", _number(1, 600), d.timeout),
        )

    def templates_dir(self, top: YamlMapping) -> Path | None:
        value: str | None = self.value(top, "", "templates", _str)
        if value is None:
            return None
        folder = self.base / value
        if not folder.is_dir():
            raise self.fail(
                top.value_line("templates"),
                "templates",
                f"'{folder}' is not a folder (create it, or remove the key)",
            )
        return folder


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
    # control characters escaped: the error stays on one readable line
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(node)
    )
    return f"'{shown}'"


# --- checks: each takes a present value and returns it typed, or raises ------------------


def _str(validator: _Validator, v: _Value) -> str:
    if not isinstance(v.node, str) or not v.node.strip():
        raise validator.bad(v, "a non-empty string")
    return v.node.strip()


def _header_text(validator: _Validator, v: _Value) -> str:
    """Text sent as an HTTP header: printable ASCII, or every request would fail."""
    text = _str(validator, v)
    if not all(" " <= char <= "~" for char in text):
        raise validator.bad(v, "printable ASCII (it is sent as an HTTP header)")
    return text


def _int(low: int, high: int) -> _Check:
    def check(validator: _Validator, v: _Value) -> int:
        if isinstance(v.node, bool) or not isinstance(v.node, int) or not low <= v.node <= high:
            raise validator.bad(v, f"a whole number from {low} to {high}")
        return v.node

    return check


def _number(low: float, high: float) -> _Check:
    def check(validator: _Validator, v: _Value) -> float:
        ok = isinstance(v.node, int | float) and not isinstance(v.node, bool)
        if not ok or not low <= v.node <= high:
            raise validator.bad(v, f"a number from {low:g} to {high:g}")
        return float(v.node)

    return check


def _bool(validator: _Validator, v: _Value) -> bool:
    if not isinstance(v.node, bool):
        raise validator.bad(v, "true or false")
    return v.node


def _choice(choices: tuple[str, ...]) -> _Check:
    def check(validator: _Validator, v: _Value) -> str:
        value = v.node.strip().lower() if isinstance(v.node, str) else v.node
        if value not in choices:
            raise validator.bad(v, f"one of {', '.join(choices)}")
        return str(value)

    return check


def _timezone(validator: _Validator, v: _Value) -> str:
    name = _str(validator, v)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise validator.fail(
            v.line, v.path, f"'{name}' is not an IANA time zone (e.g. Europe/Paris)"
        ) from None
    return name


def _language(validator: _Validator, v: _Value) -> str:
    from babel import Locale, UnknownLocaleError

    code = _str(validator, v)
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise validator.fail(
            v.line, v.path, f"'{code}' is not a language code (e.g. en, fr, pt-BR)"
        ) from None
    return code


_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _address(validator: _Validator, v: _Value) -> str:
    text = _str(validator, v)
    _name, addr = parseaddr(text)
    if not _ADDRESS.match(addr):
        raise validator.bad(v, 'an email address like "Name <me@example.org>"')
    return text


def _addresses(validator: _Validator, v: _Value) -> list[str]:
    items = [v.node] if isinstance(v.node, str) else v.node
    if not isinstance(items, list):
        raise validator.bad(v, "a list of email addresses")
    result = []
    for index, item in enumerate(items):
        addrs = getaddresses([item]) if isinstance(item, str) else []
        if len(addrs) != 1 or not _ADDRESS.match(addrs[0][1]):
            line = items.item_line(index) if isinstance(items, YamlList) else v.line
            raise validator.fail(
                line, f"{v.path}[{index}]", f"expected an email address, got {_kind(item)}"
            )
        result.append(item.strip())
    return result


def _keywords(validator: _Validator, v: _Value) -> tuple[str, ...]:
    items = [v.node] if isinstance(v.node, str) else v.node
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise validator.bad(v, "a list of keywords")
    return tuple(item.strip().lower() for item in items)


def _url(*, https_only: bool) -> _Check:
    def check(validator: _Validator, v: _Value) -> str:
        text = _str(validator, v)
        parts = urlsplit(text)
        schemes = ("https",) if https_only else ("http", "https")
        if parts.scheme not in schemes or not parts.netloc:
            raise validator.bad(v, f"an absolute {'/'.join(schemes)} URL")
        return text

    return check


def _unsubscribe_url(validator: _Validator, v: _Value) -> str:
    text: str = _url(https_only=True)(validator, v)
    if "{token}" not in text:
        raise validator.fail(
            v.line,
            v.path,
            "must contain {token}, replaced per recipient (e.g. https://example.org/u/{token})",
        )
    return text


def _mailto(validator: _Validator, v: _Value) -> str:
    text = _str(validator, v)
    if not text.startswith("mailto:") or not _ADDRESS.match(text[7:].split("?")[0]):
        raise validator.bad(v, "a mailto: URI like mailto:leave@example.org")
    return text


_SEND_AT = re.compile(r"^(?P<day>[a-z]+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")


def _send_at(validator: _Validator, v: _Value) -> str:
    text = _str(validator, v)
    match = _SEND_AT.match(text.lower())
    if not match or match["day"] not in WEEKDAYS or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise validator.bad(v, 'a weekday and a time like "friday 15:00"')
    return text.lower()


def _ids(validator: _Validator, v: _Value) -> tuple[int, ...]:
    items = [v.node] if isinstance(v.node, int) else v.node
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in items)
    ):
        raise validator.bad(v, "a list of list ids (positive whole numbers)")
    return tuple(items)


# Headers roundup writes itself, or that say who the message is from or for, or how it is
# encoded: an extra header may add to a message, never contradict it.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "sender",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "precedence",
        "auto-submitted",
        "return-path",
        "received",
        "dkim-signature",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # printable ASCII but ":" (RFC 5322 section 3.6.8)
_HEADER_VALUE = re.compile(r"^[ -~]*$")  # printable ASCII and spaces: no CR, LF or controls
_MAX_HEADER_LINE = 998  # octets, RFC 5322 section 2.1.1


def _extra_headers(validator: _Validator, v: _Value) -> tuple[tuple[str, str], ...]:
    """``smtp.headers``: a mapping of header names to text, e.g.
    ``{X-PM-Message-Stream: broadcast}``; structural headers are refused."""
    if not isinstance(v.node, YamlMapping):
        raise validator.bad(v, "a mapping of header names to values")
    result: list[tuple[str, str]] = []
    for name, node in v.node.items():
        line, where = v.node.key_line(name), f"{v.path}.{name}"
        lowered = str(name).lower()
        if not _HEADER_NAME.match(str(name)):
            raise validator.fail(line, where, "not a header name (printable ASCII, no ':')")
        if lowered in RESERVED_HEADERS or lowered.startswith(("content-", "resent-")):
            raise validator.fail(
                line, where, "roundup sets this header itself; an extra header cannot replace it"
            )
        if any(lowered == known.lower() for known, _value in result):
            raise validator.fail(line, where, "listed twice (header names ignore case)")
        value = str(node).strip() if isinstance(node, str | int | float) else None
        if isinstance(node, bool) or value is None or not value:
            raise validator.fail(line, where, f"expected a text value, got {_kind(node)}")
        if not _HEADER_VALUE.match(value):
            raise validator.fail(
                line, where, "the value must be printable ASCII on one line (no CR or LF)"
            )
        if len(name) + 2 + len(value) > _MAX_HEADER_LINE:
            raise validator.fail(line, where, f"longer than {_MAX_HEADER_LINE} characters")
        result.append((str(name), value))
    return tuple(result)


_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+\s*[wdhms]\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta | None:
    """``"24h"``, ``"90m"``, ``"1d 12h"``, ``"2w"`` as a timedelta; None when not a duration.

    Example: ``parse_duration("1h30m") == timedelta(minutes=90)``.
    """
    if not _DURATION.match(text):
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def _duration(validator: _Validator, v: _Value) -> timedelta:
    text = str(v.node) if isinstance(v.node, int | str) and not isinstance(v.node, bool) else ""
    found = parse_duration(text)
    if found is None or not timedelta(0) < found <= timedelta(days=6):
        raise validator.bad(v, 'a duration of at most 6 days like "24h", "90m" or "1d 12h"')
    return found


def _command(validator: _Validator, v: _Value) -> tuple[str, ...]:
    """A program and its arguments: a list, or one line split as a shell would (no shell runs)."""
    import shlex

    if isinstance(v.node, str):
        try:
            words = shlex.split(v.node)
        except ValueError as exc:
            raise validator.fail(v.line, v.path, f"cannot split the command ({exc})") from None
    elif isinstance(v.node, list) and all(isinstance(word, str) for word in v.node):
        words = [str(word) for word in v.node]
    else:
        words = []
    if not words or not words[0].strip():
        raise validator.bad(v, 'a command like "rsync -a --delete {site}/ web:/srv/roundup/"')
    return tuple(words)


def _env_name(validator: _Validator, v: _Value) -> str:
    text = _str(validator, v)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise validator.bad(v, "the name of an environment variable")
    return text


_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.~-]+")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
LINK_TAG_PLACEHOLDERS = ("number", "week")


def _link_tags(validator: _Validator, v: _Value) -> tuple[tuple[str, str], ...]:
    """``{utm_source: meridian, utm_campaign: "issue-{number}"}`` as (name, value) pairs."""
    if not isinstance(v.node, YamlMapping):
        raise validator.bad(
            v, 'a mapping like {utm_source: meridian, utm_campaign: "issue-{number}"}'
        )
    pairs = []
    for name, value in v.node.items():
        where, line = _join(v.path, str(name)), v.node.value_line(name)
        if not isinstance(name, str) or not _PARAMETER_NAME.fullmatch(name):
            raise validator.fail(
                line, where, "a parameter name has only letters, digits and _ . ~ -"
            )
        if not isinstance(value, str) or not value.strip():
            raise validator.fail(line, where, f"expected a non-empty string, got {_kind(value)}")
        unknown = [ph for ph in _PLACEHOLDER.findall(value) if ph not in LINK_TAG_PLACEHOLDERS]
        if unknown:
            raise validator.fail(
                line, where, f"unknown placeholder {{{unknown[0]}}} (use {{number}} or {{week}})"
            )
        pairs.append((name, value.strip()))
    return tuple(pairs)


# The keys of a feed besides ``url``, with their checks; an absent key keeps FeedConfig's
# default. include and exclude take one keyword or a list.
_FEED_CHECKS: dict[str, _Check] = {
    "name": _str,
    "section": _str,
    "max_items": _int(1, 10_000),
    "include": _keywords,
    "exclude": _keywords,
    "enabled": _bool,
}
_HTTP = re.compile(r"https?:", re.IGNORECASE)  # as urlsplit reads a scheme, without its cost
_HTTP_HOST = re.compile(r"https?://[^/?#]", re.IGNORECASE)
