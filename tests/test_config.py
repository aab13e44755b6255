"""feeds.yaml validation: every bad input gets an exact, actionable message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from roundup.config import (
    DEFAULT_USER_AGENT,
    FetchSettings,
    default_config_path,
    load_config,
    parse_config,
    parse_duration,
)
from roundup.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
P = Path("/srv/news/feeds.yaml")

GOOD = """\
newsletter:
  title: The Elicitor Weekly Roundup
  url: https://example.org/roundup
  timezone: America/New_York
  week_ends: friday
  language: en
  from: "The Elicitor <roundup@example.org>"
  to: ["roundup@lists.example.org"]
sections:
  - name: Analysis
    description: Long reads
  - name: News
feeds:
  - url: https://example.org/feed.xml
    name: Example Review
    section: Analysis
    max_items: 5
    include: [Russia, syria]
    exclude: sponsored
  - url: local/feed.atom
    enabled: false
"""


def config_with(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def test_good_config_resolves_paths_and_defaults() -> None:
    """A valid file loads with defaults filled in and paths resolved against its folder."""
    config = parse_config(GOOD, P)
    assert config.newsletter.url == "https://example.org/roundup/"
    assert config.newsletter.week_ends == 4
    assert config.newsletter.max_items == 40
    assert config.output_dir == Path("/srv/news/out")
    assert config.state == Path("/srv/news/.roundup/state.sqlite3")
    assert [s.name for s in config.sections] == ["Analysis", "News"]
    first, second = config.feeds
    assert first.include == ("russia", "syria") and first.exclude == ("sponsored",)
    assert second.url == "/srv/news/local/feed.atom" and second.is_local
    assert config.enabled_feeds == (first,)
    assert config.fetch == FetchSettings()
    assert config.fetch.user_agent == DEFAULT_USER_AGENT
    assert config.smtp is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  title: The", "  titel: The", "newsletter.titel: unknown key (did you mean 'title'?)"),
        (
            "feeds:\n",
            "feedz: []\nfeeds:\n",
            "feedz: unknown key (did you mean 'feeds'?)",
        ),
        (
            "    max_items: 5",
            "    max_item: 5",
            "feeds[0].max_item: unknown key (did you mean 'max_items'?)",
        ),
        (
            "    max_items: 5",
            "    max_items: 0",
            "feeds[0].max_items: expected a whole number from 1 to 10000, got 0 (a number)",
        ),
        (
            "    max_items: 5",
            "    max_items: five",
            "feeds[0].max_items: expected a whole number from 1 to 10000, got 'five'",
        ),
        (
            "    section: Analysis",
            "    section: Analysys",
            "feeds[0].section: 'Analysys' is not a configured section (did you mean 'Analysis'?)",
        ),
        (
            "    section: Analysis",
            "    section: Sports",
            "feeds[0].section: 'Sports' is not a configured section (add it under sections:)",
        ),
        (
            "  - url: local/feed.atom",
            "  - url: ftp://example.org/feed",
            "feeds[1].url: 'ftp://example.org/feed': expected an http(s) URL or a file path",
        ),
        (
            "  - url: local/feed.atom",
            "  - name: No URL",
            "feeds[1].url: missing (this key is required)",
        ),
        (
            "  - url: local/feed.atom",
            "  - url: https://example.org/feed.xml",
            "feeds[1].url: 'https://example.org/feed.xml' is listed twice",
        ),
        (
            "    enabled: false",
            "    enabled: nope",
            "feeds[1].enabled: expected true or false, got 'nope'",
        ),
        (
            "  timezone: America/New_York",
            "  timezone: Mars/Olympus",
            "newsletter.timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris)",
        ),
        (
            "  week_ends: friday",
            "  week_ends: fri",
            "newsletter.week_ends: expected one of monday, tuesday, wednesday, thursday, "
            "friday, saturday, sunday, got 'fri'",
        ),
        (
            "  language: en",
            "  language: klingon",
            "newsletter.language: 'klingon' is not a language code (e.g. en, fr, pt-BR)",
        ),
        (
            '  from: "The Elicitor <roundup@example.org>"',
            "  from: nobody",
            'newsletter.from: expected an email address like "Name <me@example.org>", '
            "got 'nobody'",
        ),
        (
            '  to: ["roundup@lists.example.org"]',
            '  to: ["roundup@lists.example.org", "oops"]',
            "newsletter.to[1]: expected an email address, got 'oops'",
        ),
        (
            "  url: https://example.org/roundup",
            "  url: example.org/roundup",
            "newsletter.url: expected an absolute http/https URL, got 'example.org/roundup'",
        ),
        (
            "  - name: News",
            "  - name: Analysis",
            "sections[1].name: 'Analysis' is listed twice",
        ),
        (
            "sections:\n  - name: Analysis\n    description: Long reads\n  - name: News\n",
            "sections: 3\n",
            "sections: expected a list, got 3 (a number)",
        ),
        (
            "  language: en",
            "  language: en\n  send_at: someday",
            'newsletter.send_at: expected a weekday and a time like "friday 15:00", '
            "got 'someday'",
        ),
        (
            "  language: en",
            "  language: en\n  brief_before: soon",
            'newsletter.brief_before: expected a duration of at most 6 days like "24h", "90m"'
            " or \"1d 12h\", got 'soon'",
        ),
        (
            "  language: en",
            "  language: en\n  brief_before: 8d",
            'newsletter.brief_before: expected a duration of at most 6 days like "24h", "90m"'
            " or \"1d 12h\", got '8d'",
        ),
        (
            "  language: en",
            "  language: en\n  quiet_week: wait",
            "newsletter.quiet_week: expected one of skip, send, roll_over, got 'wait'",
        ),
        (
            "  language: en",
            "  language: en\n  unapproved: maybe",
            "newsletter.unapproved: expected one of hold, send, skip, got 'maybe'",
        ),
        (
            "  language: en",
            "  language: en\n  min_items: 0",
            "newsletter.min_items: expected a whole number from 1 to 10000, got 0 (a number)",
        ),
        (
            "  language: en",
            "  language: en\n  editors: [jane]",
            "newsletter.editors[0]: expected an email address, got 'jane'",
        ),
        (
            "  language: en",
            "  language: en\n  unsubscribe_url: https://example.org/unsubscribe",
            "newsletter.unsubscribe_url: must contain {token}, replaced per recipient "
            "(e.g. https://example.org/u/{token})",
        ),
        (
            "feeds:\n",
            "fetch: {concurrency: 0}\nfeeds:\n",
            "fetch.concurrency: expected a whole number from 1 to 1000, got 0 (a number)",
        ),
        (
            "feeds:\n",
            "smtp: {host: mail.example.org, security: ssl}\nfeeds:\n",
            "smtp.security: expected one of none, starttls, tls, got 'ssl'",
        ),
        (
            "feeds:\n",
            "smtp: {host: mail.example.org, password: hunter2}\nfeeds:\n",
            "smtp.password: unknown key (did you mean 'password_env'?)",
        ),
        (
            "feeds:\n",
            "templates: no-such-folder\nfeeds:\n",
            "templates: '/srv/news/no-such-folder' is not a folder (create it, or remove the key)",
        ),
    ],
)
def test_bad_config_messages(old: str, new: str, message: str) -> None:
    """Each fault names the file, line and key path, and says what is expected."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(old, new), P)
    text = str(caught.value)
    assert text.startswith(f"{P}:"), text
    assert text.split(": ", 1)[1] == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"{P}: the file is empty (see the README for an example)"),
        ("- a\n- b\n", f"{P}:1: top level: expected a mapping of keys, got a list"),
        (
            "newsletter: {title: x\n",
            f"{P}:2: not valid YAML: did not find expected ',' or '}}' (while parsing a flow "
            "mapping started on line 1)",
        ),
        ("feeds: []\n", f"{P}:1: newsletter: missing (this key is required)"),
    ],
)
def test_broken_files(text: str, message: str) -> None:
    """Empty files, non-mappings, YAML syntax errors and missing blocks are reported."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, P)
    assert str(caught.value) == message


def test_line_numbers_point_at_the_key() -> None:
    """An unknown key's message carries the line it sits on."""
    text = GOOD.replace("    name: Example", "    nmae: Example")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:15: feeds\[0\]\.nmae: unknown key"):
        parse_config(text, P)


def test_missing_file(tmp_path: Path) -> None:
    """A missing config says how to point roundup at one."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "feeds.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'feeds.yaml'}: no such file (pass --config PATH or set $ROUNDUP_CONFIG)"
    )


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """$ROUNDUP_CONFIG wins over ./feeds.yaml."""
    monkeypatch.setenv("ROUNDUP_CONFIG", "/etc/roundup/feeds.yaml")
    assert default_config_path() == Path("/etc/roundup/feeds.yaml")
    monkeypatch.delenv("ROUNDUP_CONFIG")
    assert default_config_path() == Path("feeds.yaml")


def test_bundled_default_config_is_valid() -> None:
    """The feeds.yaml in the repository loads, and every feed it names exists."""
    config = load_config(ROOT / "feeds.yaml")
    assert config.feeds, "the default config lists feeds"
    for feed in config.feeds:
        assert feed.is_local and Path(feed.url).is_file(), feed.url


def test_readme_reference_is_a_valid_config(tmp_path: Path) -> None:
    """The annotated feeds.yaml in the README loads, so the reference cannot drift."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## feeds.yaml reference", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "my-theme").mkdir()
    config = parse_config(block, tmp_path / "feeds.yaml")
    assert config.smtp is not None and config.smtp.security == "starttls"
    assert config.newsletter.send_at == "friday 15:00"
    assert [f.section for f in config.feeds] == ["Analysis"]
    nl = config.newsletter
    assert nl.editors == ("Jane Editor <jane@example.org>",)
    assert (nl.brief_before, nl.min_items, nl.quiet_week, nl.unapproved) == (
        timedelta(hours=24),
        3,
        "roll_over",
        "hold",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1d 12h", timedelta(hours=36)),
        ("2D", timedelta(days=2)),
        ("45s", timedelta(seconds=45)),
        ("1w", timedelta(weeks=1)),
        ("", None),
        ("24", None),
        ("h", None),
        ("1.5h", None),
        ("-1h", None),
    ],
)
def test_parse_duration(text: str, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


def test_editors_week_defaults() -> None:
    """Without the new keys: no briefing, quiet weeks skipped, unapproved issues held."""
    nl = parse_config(GOOD, P).newsletter
    assert (nl.editors, nl.brief_before, nl.min_items) == ((), timedelta(hours=24), 1)
    assert (nl.quiet_week, nl.unapproved, nl.block_on_broken_links) == ("skip", "hold", False)


# --- YAML 1.2, and what feeds.yaml never holds ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    enabled: false",
            "    enabled: no",
            "feeds[1].enabled: expected true or false, got 'no'",
        ),
        (
            "    enabled: false",
            "    enabled: off",
            "feeds[1].enabled: expected true or false, got 'off'",
        ),
        (
            "    max_items: 5",
            "    max_items: 1_000",
            "feeds[0].max_items: expected a whole number from 1 to 10000, got '1_000'",
        ),
        (
            "feeds:\n",
            "fetch: {timeout: 1:30}\nfeeds:\n",
            "fetch.timeout: expected a number from 0.1 to 600, got '1:30'",
        ),
    ],
)
def test_yaml_1_1_forms_are_text(old: str, new: str, message: str) -> None:
    """yes/no/on/off, underscores and sexagesimal numbers are text in YAML 1.2."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(old, new), P)
    assert str(caught.value).split(": ", 1)[1] == message


@pytest.mark.parametrize(
    ("fetch", "message"),
    [
        ("{dedline: 30}", "fetch.dedline: unknown key (did you mean 'deadline'?)"),
        ("{budjet: 600}", "fetch.budjet: unknown key (did you mean 'budget'?)"),
        ("{deadline: 0}", "fetch.deadline: expected a number from 1 to 3600, got 0 (a number)"),
        ("{deadline: 1m}", "fetch.deadline: expected a number from 1 to 3600, got '1m'"),
        ("{budget: true}", "fetch.budget: expected a number from 1 to 86400, got true (a boolean)"),
        (
            "{budget: 100000}",
            "fetch.budget: expected a number from 1 to 86400, got 100000 (a number)",
        ),
        (
            '{user_agent: "roundup café"}',
            "fetch.user_agent: expected printable ASCII (it is sent as an HTTP header),"
            " got 'roundup café'",
        ),
        (
            '{user_agent: "roundup\\tx"}',
            "fetch.user_agent: expected printable ASCII (it is sent as an HTTP header),"
            " got 'roundup\\tx'",
        ),
        ("{user_agent: 7}", "fetch.user_agent: expected a non-empty string, got 7 (a number)"),
    ],
)
def test_bad_fetch_deadline_and_budget(fetch: str, message: str) -> None:
    """fetch.deadline and fetch.budget are seconds in range, and typos get a did-you-mean."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with("feeds:\n", f"fetch: {fetch}\nfeeds:\n"), P)
    assert str(caught.value).split(": ", 1)[1] == message


def test_fetch_deadline_and_budget() -> None:
    """Both default to a minute per feed and five minutes per fetch, and take any seconds."""
    assert (FetchSettings().deadline, FetchSettings().budget) == (60.0, 300.0)
    text = config_with("feeds:\n", "fetch: {deadline: 1, budget: 90.5}\nfeeds:\n")
    config = parse_config(text, P)
    assert (config.fetch.deadline, config.fetch.budget) == (1.0, 90.5)


def test_yaml_1_2_numbers() -> None:
    """0o17 is octal and 1e1 a float, as YAML 1.2 reads them."""
    text = config_with("    max_items: 5", "    max_items: 0o17").replace(
        "feeds:\n", "fetch: {timeout: 1e1, per_host: 0x8}\nfeeds:\n"
    )
    config = parse_config(text, P)
    assert config.feeds[0].max_items == 15
    assert (config.fetch.timeout, config.fetch.per_host) == (10.0, 8)


ALIASES = "roundup's files have no anchors or aliases"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            "  - url: local/feed.atom",
            "  - &second\n    url: local/feed.atom",
            f"{P}:20: anchor &second: {ALIASES} (remove it, and write out in full every value "
            "that refers to it)",
            id="anchor",
        ),
        pytest.param(
            "    include: [Russia, syria]",
            "    include: *words",
            f"{P}:18: alias *words: {ALIASES} (write the value out in full)",
            id="alias",
        ),
        pytest.param(
            "    max_items: 5",
            "    max_items: !!int 5",
            f"{P}:17: tag !!int: roundup's files have no tags (remove it; quotes make a value "
            "text)",
            id="tag",
        ),
        pytest.param(
            "    max_items: 5",
            "    {max_items: 5}: 5",
            f"{P}:17: a list or mapping as a key: roundup's keys are names (write the key as text)",
            id="mapping as a key",
        ),
        pytest.param(
            "    max_items: 5",
            "    ? [max_items]\n    : 5",
            f"{P}:17: a list or mapping as a key: roundup's keys are names (write the key as text)",
            id="list as a key",
        ),
        pytest.param(
            "    max_items: 5",
            "    max_items: 5\n    max_items: 6",
            f"{P}:18: max_items: given twice in one mapping (keep one; the other is on line 17)",
            id="duplicate key",
        ),
    ],
)
def test_refused_with_one_line(old: str, new: str, message: str) -> None:
    """Anchors, aliases, tags and keys that are not names: the file, the line, what to do."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(old, new), P)
    assert str(caught.value) == message


def test_an_alias_bomb_is_refused_quickly() -> None:
    """A mapping key made of nested aliases (9**9 strings if expanded) is refused at once."""
    bomb = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
    bomb += [f"x{n}: &x{n} [{', '.join([f'*x{n - 1}'] * 9)}]" for n in range(1, 9)]
    bomb.append("? *x8\n: boom")
    with pytest.raises(ConfigError) as caught:
        parse_config("\n".join(bomb) + "\n" + GOOD, P)
    assert str(caught.value) == (
        f"{P}:1: anchor &x0: {ALIASES} (remove it, and write out in full every value that "
        "refers to it)"
    )


def test_store_keep_days() -> None:
    """store.keep_days defaults to a little over a year and takes any whole number of days."""
    assert parse_config(config_with("feeds:\n", "feeds:\n"), P).store.keep_days == 400
    config = parse_config(config_with("feeds:\n", "store: {keep_days: 90}\nfeeds:\n"), P)
    assert config.store.keep_days == 90


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("{keep_days: 7}", "store.keep_days: expected a whole number from 30 to 100000, got 7"),
        ("{keep_days: a year}", "store.keep_days: expected a whole number from 30 to 100000,"),
        ("{keep: 90}", "store.keep: unknown key (did you mean 'keep_days'?)"),
    ],
)
def test_bad_store_settings(store: str, message: str) -> None:
    """A bad store setting names its key and the range it takes."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with("feeds:\n", f"store: {store}\nfeeds:\n"), P)
    assert str(caught.value).split(": ", 1)[1].startswith(message)


# --- delivery.via and the list engines' blocks ------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "delivery: {via: sendgrid}\n",
            "delivery.via: expected one of smtp, mailman, listmonk, buttondown, got 'sendgrid'",
        ),
        (
            "delivery: {via: mailman}\n",
            "delivery.via: 'mailman' needs a mailman: block (see the README's Delivery section)",
        ),
        ("delivery: {}\n", "delivery.via: missing (this key is required)"),
        (
            "mailman: {api_url: 'http://127.0.0.1:8001/3.1'}\n",
            "mailman.list: missing (this key is required)",
        ),
        (
            "mailman: {api_url: 'http://127.0.0.1:8001/3.1', list: news}\n",
            "mailman.list: expected an email address like \"Name <me@example.org>\", got 'news'",
        ),
        (
            "mailman: {api_url: x, list: news@lists.example.org}\n",
            "mailman.api_url: expected an absolute http/https URL, got 'x'",
        ),
        (
            "mailman: {api_url: 'http://h/3.1', list: a@b.org, password: x}\n",
            "mailman.password: unknown key (did you mean 'password_env'?)",
        ),
        (
            "listmonk: {url: 'https://lm.example.org', lists: []}\n",
            "listmonk.lists: expected a list of list ids (positive whole numbers), got a list",
        ),
        (
            "listmonk: {url: 'https://lm.example.org', lists: [x]}\n",
            "listmonk.lists: expected a list of list ids (positive whole numbers), got a list",
        ),
        (
            "listmonk: {url: 'https://lm.example.org', lists: [3], token: t}\n",
            "listmonk.token: unknown key (did you mean 'token_env'?)",
        ),
        (
            "buttondown: {status: sent}\n",
            "buttondown.status: expected one of draft, scheduled, got 'sent'",
        ),
        (
            "buttondown: {status: scheduled}\n",
            "buttondown.status: scheduled needs"
            " newsletter.send_at (the moment to schedule the email for)",
        ),
    ],
)
def test_bad_delivery_blocks(block: str, message: str) -> None:
    """A wrong backend, a missing block or key: one line naming the key."""
    without_to = GOOD.replace('  to: ["roundup@lists.example.org"]\n', "")
    with pytest.raises(ConfigError) as caught:
        parse_config(without_to.replace("feeds:\n", block + "feeds:\n", 1), P)
    assert str(caught.value).split(": ", 1)[1] == message


@pytest.mark.parametrize(
    ("to", "block", "key"),
    [
        (True, "", "newsletter.to"),
        (False, "smtp: {host: mail.example.org, subscribers: people.csv}\n", "smtp.subscribers"),
    ],
)
def test_a_list_engine_refuses_a_second_answer_to_who_gets_the_issue(
    to: bool, block: str, key: str
) -> None:
    text = GOOD if to else GOOD.replace('  to: ["roundup@lists.example.org"]\n', "")
    block += "delivery: {via: buttondown}\nbuttondown: {}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text.replace("feeds:\n", block + "feeds:\n", 1), P)
    assert str(caught.value).split(": ", 1)[1] == (
        f"delivery.via: buttondown delivers to the subscribers it keeps, so {key} would be"
        f" ignored; remove {key}, or send with via: smtp"
    )


def test_delivery_blocks_and_their_defaults() -> None:
    text = GOOD.replace('  to: ["roundup@lists.example.org"]\n', "").replace(
        "feeds:\n",
        "delivery: {via: listmonk}\n"
        "mailman: {api_url: 'http://127.0.0.1:8001/3.1/', list: news@lists.example.org}\n"
        "listmonk: {url: 'https://lm.example.org/', lists: [3, 4], template_id: 2}\n"
        "buttondown: {}\n"
        "feeds:\n",
        1,
    )
    config = parse_config(text, P)
    assert config.via == "listmonk"
    assert config.mailman is not None and config.mailman.api_url == "http://127.0.0.1:8001/3.1"
    assert config.mailman.moderator_password_env == "MAILMAN_MODERATOR_PASSWORD"
    assert config.listmonk is not None and config.listmonk.lists == (3, 4)
    assert config.listmonk.url == "https://lm.example.org" and config.listmonk.template_id == 2
    assert config.buttondown is not None and config.buttondown.status == "draft"
    assert config.buttondown.api_url == "https://api.buttondown.com/v1"
    assert parse_config(GOOD, P).via == "smtp"


# --- newsletter.link_tags ----------------------------------------------------------------------


def test_link_tags_are_off_by_default() -> None:
    """Without link_tags the email's links carry no parameters of the newsletter's own."""
    assert parse_config(GOOD, P).newsletter.link_tags == ()


def test_link_tags_keep_their_order() -> None:
    """link_tags is read as (name, value) pairs, in the order written."""
    tags = (
        '  link_tags: {utm_source: meridian, utm_medium: email, utm_campaign: "issue-{number}"}\n'
    )
    config = parse_config(config_with("  language: en\n", "  language: en\n" + tags), P)
    assert config.newsletter.link_tags == (
        ("utm_source", "meridian"),
        ("utm_medium", "email"),
        ("utm_campaign", "issue-{number}"),
    )


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            "link_tags: meridian",
            "7: newsletter.link_tags: expected a mapping like {utm_source: meridian, "
            "utm_campaign: \"issue-{number}\"}, got 'meridian'",
        ),
        (
            "link_tags: {utm_source: 3}",
            "7: newsletter.link_tags.utm_source: expected a non-empty string, got 3 (a number)",
        ),
        (
            'link_tags: {"utm source": x}',
            "7: newsletter.link_tags.utm source: a parameter name has only letters, digits "
            "and _ . ~ -",
        ),
        (
            'link_tags: {utm_campaign: "issue-{issue}"}',
            "7: newsletter.link_tags.utm_campaign: unknown placeholder {issue} (use {number} "
            "or {week})",
        ),
    ],
)
def test_bad_link_tags(tags: str, message: str) -> None:
    """A bad link_tags value is one line naming the key and what it should be."""
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with("  language: en\n", f"  language: en\n  {tags}\n"), P)
    assert str(caught.value) == f"{P}:{message}"
