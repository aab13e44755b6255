"""feeds.yaml's publishing keys: publish.to / publish.command, post.format, subscribe_url."""

from __future__ import annotations

from pathlib import Path

import pytest

from roundup.config import PostSettings, PublishSettings, parse_config
from roundup.deploy import command_line
from roundup.errors import ConfigError

P = Path("/srv/news/feeds.yaml")
BASE = """\
newsletter:
  title: Roundup
  url: https://example.org/roundup/
  from: "Roundup <roundup@example.org>"
feeds:
  - url: https://example.org/feed.xml
"""


def parse(extra: str, newsletter: str = "") -> object:
    text = BASE.replace(
        '  from: "Roundup <roundup@example.org>"\n',
        '  from: "Roundup <roundup@example.org>"\n' + newsletter,
    )
    return parse_config(text + extra, P)


def test_defaults() -> None:
    """Nothing set: post.md for Jekyll, the site stays in out/site, no subscribe page."""
    config = parse_config(BASE, P)
    assert config.post == PostSettings("jekyll")
    assert config.publish == PublishSettings(None, (), 600.0)
    assert (config.newsletter.subscribe_url, config.newsletter.subscribe_form) == ("", False)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("publish:\n  to: ../www/roundup\n", PublishSettings(Path("/srv/news/../www/roundup"))),
        (
            "publish:\n  command: \"rsync -a --delete {site}/ 'web:/srv/my site/'\"\n"
            "  timeout: 30\n",
            PublishSettings(
                None, ("rsync", "-a", "--delete", "{site}/", "web:/srv/my site/"), 30.0
            ),
        ),
        (
            "publish:\n  command: [aws, s3, sync, '{site}', 's3://bucket/roundup/']\n",
            PublishSettings(None, ("aws", "s3", "sync", "{site}", "s3://bucket/roundup/")),
        ),
    ],
)
def test_publish_targets(extra: str, expected: PublishSettings) -> None:
    """A folder relative to feeds.yaml, or a command as one line or as a list."""
    assert parse_config(BASE + extra, P).publish == expected


@pytest.mark.parametrize("post_format", ["jekyll", "hugo", "pelican", "Hugo"])
def test_post_formats(post_format: str) -> None:
    assert (
        parse_config(BASE + f"post:\n  format: {post_format}\n", P).post.format
        == post_format.lower()
    )


@pytest.mark.parametrize(
    ("extra", "newsletter", "message"),
    [
        (
            "publish:\n  to: /var/www\n  command: rsync\n",
            "",
            "/srv/news/feeds.yaml:9: publish.command: set publish.to (a local folder) or"
            " publish.command (a program that uploads the site), not both",
        ),
        (
            'publish:\n  command: ""\n',
            "",
            "/srv/news/feeds.yaml:8: publish.command: expected a command like"
            " \"rsync -a --delete {site}/ web:/srv/roundup/\", got ''",
        ),
        (
            'publish:\n  command: "rsync \'unclosed"\n',
            "",
            "/srv/news/feeds.yaml:8: publish.command: cannot split the command"
            " (No closing quotation)",
        ),
        (
            "publish:\n  too: /var/www\n",
            "",
            "/srv/news/feeds.yaml:8: publish.too: unknown key (did you mean 'to'?)",
        ),
        (
            "post:\n  format: gatsby\n",
            "",
            "/srv/news/feeds.yaml:8: post.format: expected one of jekyll, hugo, pelican,"
            " got 'gatsby'",
        ),
        (
            "",
            "  subscribe_url: http://example.org/join\n",
            "/srv/news/feeds.yaml:5: newsletter.subscribe_url: expected an absolute https URL,"
            " got 'http://example.org/join'",
        ),
        (
            "",
            "  subscribe_form: true\n",
            "/srv/news/feeds.yaml:5: newsletter.subscribe_form: needs newsletter.subscribe_url,"
            " the address the form posts to",
        ),
    ],
)
def test_bad_publishing_keys(extra: str, newsletter: str, message: str) -> None:
    """Each mistake is one line naming the file, line and key, and what to do."""
    with pytest.raises(ConfigError) as caught:
        parse(extra, newsletter)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("rsync", "-a", "{site}/", "web:/srv/"), ["rsync", "-a", "/o/site/", "web:/srv/"]),
        (("upload.sh",), ["upload.sh", "/o/site"]),
    ],
)
def test_command_line_places_the_site(command: tuple[str, ...], expected: list[str]) -> None:
    """{site} is replaced where it stands; without it, the folder comes last."""
    assert command_line(command, Path("/o/site")) == expected
