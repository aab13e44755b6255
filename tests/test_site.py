"""The web copy: `roundup publish` writes out/site/ where newsletter.url says, and delivers it.

Everything runs for real: the bundled sample feeds, a real SQLite file, the CLI, real
subprocesses for publish.command.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.errors import PublishError
from roundup.pipeline import draft, fetch, open_state, publish, publish_pending, render
from roundup.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 15, 12, 0, tzinfo=UTC)
SLUG = "2015-08-14-the-elicitor-weekly-roundup"
OLDER = "2015-08-07-the-elicitor-weekly-roundup"


def sample_project(tmp_path: Path, extra: str = "", url: str = "") -> Config:
    """The bundled feeds.yaml in ``tmp_path``, reading the sample feeds, plus ``extra``."""
    text = (ROOT / "feeds.yaml").read_text(encoding="utf-8")
    text = text.replace("url: samples/", f"url: {ROOT}/samples/")
    if url:
        text = text.replace("url: https://example.org/roundup/ ", f"url: {url} ")
    path = tmp_path / "feeds.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return load_config(path)


def published(tmp_path: Path, *weeks: str, extra: str = "", url: str = "") -> Config:
    """A sample project with ``weeks`` drafted and published on purpose."""
    config = sample_project(tmp_path, extra, url)
    fetch(config, now=NOW)
    for week in weeks:
        draft(config, week=week, now=NOW)
        render(config, week=week, now=NOW)
        publish(config, now=NOW, week=week)
    return config


def page(config: Config, relative: str) -> lxml_html.HtmlElement:
    path = config.output_dir / "site" / relative
    return lxml_html.fromstring(path.read_bytes())


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Issues 2015-W32 and 2015-W33, published."""
    return published(tmp_path_factory.mktemp("two"), "2015-W32", "2015-W33")


def test_cli_publish_writes_the_site_at_the_issue_address(tmp_path: Path) -> None:
    """`roundup publish --week 2015-W33` says what it wrote; each file sits at its URL path."""
    config = sample_project(tmp_path)
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    result = CliRunner().invoke(
        cli, ["--config", str(config.path), "publish", "--week", "2015-W33"]
    )
    site = config.output_dir / "site"
    assert (result.exit_code, result.output) == (0, f"Published 1 issue to:\n  {site}\n")
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert files == [".roundup-site", f"{SLUG}/index.html", "feed.json", "feed.xml", "index.html"]
    with Store.open(config.state) as store:
        (record,) = store.publications()
    assert (record.week, record.published_at, record.error) == (
        "2015-W33",
        record.requested_at,
        None,
    )


def test_cli_publish_without_a_draft_says_what_to_do(tmp_path: Path) -> None:
    """A week with no draft.yaml is refused with the file and the command that makes it."""
    config = sample_project(tmp_path)
    result = CliRunner().invoke(
        cli, ["--config", str(config.path), "publish", "--week", "2015-W20"]
    )
    path = config.output_dir / "2015-W20" / "draft.yaml"
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {path}: no draft for 2015-W20, so there is nothing to publish"
        " (run roundup build --week 2015-W20 first)\n",
    )


def test_every_link_to_an_issue_is_its_one_address(two: Config) -> None:
    """View online, the page's canonical and og:url, JSON-LD, both feeds and post.md agree."""
    url = f"https://example.org/roundup/{SLUG}/"
    email = lxml_html.fromstring((two.output_dir / "2015-W33" / "email.html").read_bytes())
    view_online = {a.get("href") for a in email.iter("a") if a.text_content() == "View online"}
    issue = page(two, f"{SLUG}/index.html")
    ld = json.loads(issue.xpath("//script[@type='application/ld+json']")[0].text)
    atom = feedparser.parse((two.output_dir / "site" / "feed.xml").read_bytes())
    feed = json.loads((two.output_dir / "site" / "feed.json").read_bytes())
    post_md = (two.output_dir / "2015-W33" / f"{SLUG}.md").read_text(encoding="utf-8")
    archive_href = page(two, "index.html").xpath("//ol[@class='issues']//a/@href")[0]
    assert view_online == {url}
    assert issue.xpath("//link[@rel='canonical']/@href") == [url]
    assert issue.xpath("//meta[@property='og:url']/@content") == [url]
    assert (ld["url"], ld["mainEntityOfPage"]) == (url, url)
    assert (atom.entries[0].id, atom.entries[0].link) == (url, url)
    assert (feed["items"][0]["id"], feed["items"][0]["url"]) == (url, url)
    assert f'canonical_url: "{url}"' in post_md
    assert f'permalink: "{urlsplit(url).path}"' in post_md
    assert urljoin(two.newsletter.url, archive_href) == url + "index.html"


@pytest.mark.parametrize("relative", ["index.html", f"{SLUG}/index.html", f"{OLDER}/index.html"])
def test_relative_links_reach_files_of_the_site(two: Config, relative: str) -> None:
    """Every link that stays on the site is relative and names a file in the folder."""
    site = two.output_dir / "site"
    document = page(two, relative)
    hrefs = [a.get("href") for a in document.xpath("//a[@href] | //link[@rel='alternate']")]
    local = [href for href in hrefs if not urlsplit(href).scheme and not href.startswith("#")]
    assert local, "the page links to the rest of the site"
    for href in local:
        assert not href.startswith("/"), href
        assert (site / relative).parent.joinpath(href).resolve().is_file(), href


def test_previous_and_next_issues(two: Config) -> None:
    """The newer issue links back to the older one and the older one forward; both home."""
    newer, older = page(two, f"{SLUG}/index.html"), page(two, f"{OLDER}/index.html")
    assert newer.xpath("//a[@rel='prev']/@href") == [f"../{OLDER}/index.html"]
    assert newer.xpath("//a[@rel='next']") == []
    assert older.xpath("//a[@rel='next']/@href") == [f"../{SLUG}/index.html"]
    assert older.xpath("//a[@rel='prev']") == []
    assert "../index.html" in newer.xpath("//nav[@class='site-nav']//a/@href")


def test_archive_lists_issues_newest_first(two: Config) -> None:
    """The home page: the name, every issue newest first with its number and date."""
    home = page(two, "index.html")
    assert home.xpath("//h1/text()") == ["The Elicitor Weekly Roundup"]
    assert home.xpath("//ol[@class='issues']//h2/a/@href") == [
        f"{SLUG}/index.html",
        f"{OLDER}/index.html",
    ]
    assert home.xpath("//ol[@class='issues']//time/@datetime") == ["2015-08-14", "2015-08-07"]
    assert home.xpath("//link[@rel='canonical']/@href") == ["https://example.org/roundup/"]


def test_link_previews_and_json_ld(two: Config) -> None:
    """Open Graph, Twitter card and schema.org tags describe the issue."""
    issue = page(two, f"{SLUG}/index.html")

    def meta(key: str) -> list[str]:
        found: list[str] = issue.xpath(f"//meta[@property='{key}' or @name='{key}']/@content")
        return found

    title = "The Elicitor Weekly Roundup: August 14, 2015"
    image = "https://example.org/media/elicitor/destroyer-wake.jpg"
    assert meta("og:title") == [title] and meta("twitter:title") == [title]
    assert meta("og:type") == ["article"] and meta("og:site_name") == [
        "The Elicitor Weekly Roundup"
    ]
    assert meta("og:image") == [image] and meta("twitter:card") == ["summary_large_image"]
    assert meta("article:published_time") == ["2015-08-14T00:00:00-04:00"]
    # the preheader is a sentence, never joined titles (the bundled week has no intro)
    assert meta("og:description") == ["21 stories from 5 sources this week"]
    ld = json.loads(issue.xpath("//script[@type='application/ld+json']")[0].text)
    assert (ld["@type"], ld["headline"], ld["datePublished"]) == (
        "BlogPosting",
        title,
        "2015-08-14T00:00:00-04:00",
    )
    assert ld["publisher"]["name"] == "The Elicitor Weekly Roundup"


@pytest.mark.parametrize(
    ("extra", "form", "link"),
    [
        ("", False, "mailto:roundup@example.org?subject=subscribe"),
        ("  subscribe_url: https://example.org/join\n", False, "https://example.org/join"),
        (
            "  subscribe_url: https://example.org/join\n  subscribe_form: true\n",
            True,
            "https://example.org/join",
        ),
    ],
)
def test_subscribe_call_to_action(tmp_path: Path, extra: str, form: bool, link: str) -> None:
    """A link to newsletter.subscribe_url, a form posting to it, or a mailto to the sender."""
    text = (ROOT / "feeds.yaml").read_text(encoding="utf-8")
    text = text.replace("  max_items: 40", "  max_items: 40\n" + extra.rstrip("\n"))
    text = text.replace("url: samples/", f"url: {ROOT}/samples/")
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "feeds.yaml")
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    publish(config, now=NOW, week="2015-W33")
    for relative in ("index.html", f"{SLUG}/index.html"):
        box = page(config, relative).xpath("//aside[@id='subscribe']")[0]
        if form:
            assert box.xpath(".//form/@action") == [link]
            assert box.xpath(".//form/@method") == ["post"]
            assert box.xpath(".//input/@name") == ["email"]
        else:
            assert box.xpath(".//a/@href") == [link]


def test_feeds_carry_each_issue_in_full(two: Config) -> None:
    """Atom and JSON Feed 1.1: both issues, newest first, with every item's link."""
    site = two.output_dir / "site"
    atom = feedparser.parse((site / "feed.xml").read_bytes())
    feed = json.loads((site / "feed.json").read_bytes())
    assert atom.bozo == 0 and feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [e.link for e in atom.entries] == [item["url"] for item in feed["items"]]
    assert [item["url"].split("/")[-2] for item in feed["items"]] == [SLUG, OLDER]
    content = feed["items"][0]["content_html"]
    deterrence = "https://elicitor.example.org/2015/08/13/deterrence-and-its-discontents/"
    for html in (content, atom.entries[0].content[0].value):
        assert deterrence in re.findall(r'href="([^"]+)"', html)
        assert "Deterrence &amp; Its Discontents" in html
        assert html.count("<article") == 21
    assert feed["feed_url"] == "https://example.org/roundup/feed.json"


def test_the_site_is_deterministic(tmp_path: Path, two: Config) -> None:
    """Publishing the same issues again gives byte-identical files."""
    site = two.output_dir / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    publish(two, now=datetime(2016, 1, 1, tzinfo=UTC))
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert before == after


# --- publish.to and publish.command -----------------------------------------------------


def test_publish_to_a_folder_replaces_it_whole(tmp_path: Path) -> None:
    """The folder becomes the site: stale files go, nothing half-written stays beside it."""
    target = tmp_path / "www" / "roundup"
    target.mkdir(parents=True)
    config = published(tmp_path, "2015-W33", extra=f"publish:\n  to: {target}\n")
    (target / "stale.html").write_text("old")
    publish(config, now=NOW)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == [".roundup-site", f"{SLUG}/index.html", "feed.json", "feed.xml", "index.html"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["roundup"]
    site = config.output_dir / "site"
    assert (target / "index.html").read_bytes() == (site / "index.html").read_bytes()


COPY = "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])"


def test_publish_command_gets_the_site_folder(tmp_path: Path) -> None:
    """{site} becomes the folder; the command runs from the folder of feeds.yaml."""
    extra = f'publish:\n  command: ["{sys.executable}", "-c", "{COPY}", "{{site}}", "copied"]\n'
    config = published(tmp_path, "2015-W33", extra=extra)
    assert (tmp_path / "copied" / SLUG / "index.html").is_file()
    assert (tmp_path / "copied" / "feed.json").read_bytes() == (
        config.output_dir / "site" / "feed.json"
    ).read_bytes()


FAIL = "import sys; sys.stderr.write('rsync: connection refused'); sys.exit(23)"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            f'["{sys.executable}", "-c", "{FAIL}"]',
            "exited with 23: rsync: connection refused; the site is in {site}, and the next"
            " run tries again",
        ),
        (
            '"no-such-uploader-xyz {site}"',
            "'no-such-uploader-xyz' was not found (install it, or fix the command); the site"
            " is in {site}, and the next run tries again",
        ),
    ],
)
def test_a_failed_upload_is_reported_recorded_and_retried(
    tmp_path: Path, command: str, message: str
) -> None:
    """The error names the command and what to do; the next run publishes what waits."""
    config = sample_project(tmp_path, f"publish:\n  command: {command}\n")
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    result = CliRunner().invoke(
        cli, ["--config", str(config.path), "publish", "--week", "2015-W33"]
    )
    site = config.output_dir / "site"
    assert result.exit_code == 6
    assert result.output.startswith("Error: publish.command: ")
    assert result.output.endswith(message.format(site=site) + "\n")
    assert (site / SLUG / "index.html").is_file()  # the local copy is complete
    with Store.open(config.state) as store:
        (record,) = store.publications()
        assert record.pending and record.error is not None
    fixed = sample_project(tmp_path, f"publish:\n  to: {tmp_path / 'www'}\n")
    with open_state(fixed) as store:
        report = publish_pending(fixed, store, now=NOW)
        assert report is not None and report.ok
        (record,) = store.publications()
        assert not record.pending and record.error is None
        assert publish_pending(fixed, store, now=NOW) is None  # nothing waits any more
    assert (tmp_path / "www" / SLUG / "index.html").is_file()


def test_publish_error_is_a_roundup_error(tmp_path: Path) -> None:
    """A library caller gets PublishError, with exit code 6."""
    config = sample_project(tmp_path, 'publish:\n  command: "no-such-uploader-xyz"\n')
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    with pytest.raises(PublishError) as caught:
        publish(config, now=NOW, week="2015-W33")
    assert caught.value.exit_code == 6


def test_check_renders_the_site_pages_of_a_theme(tmp_path: Path) -> None:
    """`roundup check` catches a fault in a theme's site page before any issue is sent."""
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "site_issue.html").write_text(
        '{% extends "default/site_issue.html" %}\n'
        "{% block footer %}{{ site.no_such }}{% endblock %}\n"
    )
    config = sample_project(tmp_path, "templates: theme\n")
    result = CliRunner().invoke(cli, ["--config", str(config.path), "check"])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {theme / 'site_issue.html'}:2: 'roundup.site.SitePage object' has no attribute"
        " 'no_such'\n",
    )


def test_feeds_carry_the_newest_issues_the_archive_all(tmp_path: Path) -> None:
    """With more issues than FEED_ISSUES, the feeds keep the newest; the archive lists all."""
    from dataclasses import replace
    from datetime import timedelta

    from roundup.issue_view import issue_view
    from roundup.site import FEED_ISSUES, build_site
    from roundup.theme import make_environment
    from tests.test_render import sample_config, sample_draft

    config = sample_config()
    base = sample_draft()
    drafts = [
        replace(
            base,
            number=n,
            week=f"w{n}",
            window_start=base.window_start - timedelta(weeks=30 - n),
            window_end=base.window_end - timedelta(weeks=30 - n),
        )
        for n in range(1, FEED_ISSUES + 3)
    ]
    files = build_site([issue_view(d, config) for d in drafts], config, make_environment(config))
    feed = json.loads(files["feed.json"])
    assert len(feed["items"]) == FEED_ISSUES == len(feedparser.parse(files["feed.xml"]).entries)
    archive = lxml_html.fromstring(files["index.html"])
    assert len(archive.xpath("//ol[@class='issues']/li")) == FEED_ISSUES + 2
    newest = issue_view(drafts[-1], config).url
    assert feed["items"][0]["url"] == newest
    assert len([name for name in files if name.endswith("/index.html")]) == FEED_ISSUES + 2


def test_publish_to_never_replaces_a_folder_of_other_files(tmp_path: Path) -> None:
    """A folder roundup did not write is left as it is, with one line saying what to do."""
    target = tmp_path / "www"
    target.mkdir()
    (target / "blog.html").write_text("someone else's")
    config = sample_project(tmp_path, f"publish:\n  to: {target}\n")
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    with pytest.raises(PublishError) as caught:
        publish(config, now=NOW, week="2015-W33")
    assert str(caught.value) == (
        f"publish.to: {target} holds files roundup did not write, and publishing replaces the"
        " folder whole; point publish.to at a folder of its own (or empty this one)"
    )
    assert [p.name for p in target.iterdir()] == ["blog.html"]


@pytest.mark.parametrize("name", ["feed.xml", "feed.json"])
def test_roundup_reads_its_own_feeds(two: Config, name: str) -> None:
    """Another roundup can subscribe to this one: both feeds parse, strictly, into the
    issues with their addresses, dates and titles."""
    from roundup.parse import parse_feed

    body = (two.output_dir / "site" / name).read_bytes()
    url = two.newsletter.url + name
    parsed = parse_feed(body, key=url, url=url, fetched_at=NOW)
    assert [entry.link for entry in parsed.entries] == [
        f"https://example.org/roundup/{SLUG}/",
        f"https://example.org/roundup/{OLDER}/",
    ]
    assert parsed.entries[0].title == "The Elicitor Weekly Roundup: August 14, 2015"
    assert parsed.entries[0].published == datetime(2015, 8, 14, 4, 0, tzinfo=UTC)
    assert parsed.meta.warnings == ()
