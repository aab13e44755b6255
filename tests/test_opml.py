"""roundup import-opml: feeds and folders added, comments kept, bad files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from roundup.config import load_config
from roundup.errors import ConfigError
from roundup.opml import import_opml, read_opml

CONFIG = """\
# My newsletter -- keep this comment
newsletter:
  title: Roundup
  url: https://example.org/r/
  from: "R <r@example.org>"   # the sender
sections:
  - name: Analysis
feeds:
  # our own blog first
  - url: https://example.org/feed.xml
    section: Analysis
"""

OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="Analysis">
    <outline text="War on the Rocks" type="rss" xmlUrl="https://warontherocks.example/feed/"/>
    <outline text="Already there" type="rss" xmlUrl="https://example.org/feed.xml"/>
  </outline>
  <outline text="Asia">
    <outline title="Strait Talk" type="rss" xmlUrl="https://strait.example/rss"/>
  </outline>
  <outline text="Loose" type="rss" xmlUrl="https://loose.example/atom" category="/News/World"/>
  <outline text="No folder" type="rss" xmlUrl="https://plain.example/feed"/>
</body></opml>
"""


def test_read_opml_folders_and_categories() -> None:
    """Folders and category attributes become each feed's section."""
    feeds = read_opml(OPML, "subs.opml")
    assert [(f.url, f.category) for f in feeds] == [
        ("https://warontherocks.example/feed/", "Analysis"),
        ("https://example.org/feed.xml", "Analysis"),
        ("https://strait.example/rss", "Asia"),
        ("https://loose.example/atom", "News"),
        ("https://plain.example/feed", None),
    ]


def test_import_keeps_comments_and_adds_sections(tmp_path: Path) -> None:
    """New feeds are appended, new sections created, and the file's comments survive."""
    config, opml = tmp_path / "feeds.yaml", tmp_path / "subs.opml"
    config.write_text(CONFIG)
    opml.write_bytes(OPML)
    result = import_opml(config, opml)
    assert (result.added, result.skipped, result.new_sections) == (4, 1, ("Asia", "News"))
    text = config.read_text()
    assert text.startswith(CONFIG.split("feeds:")[0])  # everything above feeds: untouched
    assert "# our own blog first" in text and "# the sender" in text
    loaded = load_config(config)
    assert [s.name for s in loaded.sections] == ["Analysis", "Asia", "News"]
    assert loaded.feeds[1].name == "War on the Rocks"
    assert loaded.feeds[2].section == "Asia"
    assert loaded.feeds[4].section is None


def test_import_twice_adds_nothing(tmp_path: Path) -> None:
    """Importing the same OPML again skips every feed already listed."""
    config, opml = tmp_path / "feeds.yaml", tmp_path / "subs.opml"
    config.write_text(CONFIG)
    opml.write_bytes(OPML)
    import_opml(config, opml)
    before = config.read_text()
    assert import_opml(config, opml).added == 0
    assert config.read_text() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not a valid OPML file"),
        (b"<rss><channel/></rss>", "not an OPML file (expected <opml><body>...)"),
    ],
)
def test_bad_opml_changes_nothing(tmp_path: Path, data: bytes, message: str) -> None:
    """A broken OPML file is refused with its name, and feeds.yaml is left alone."""
    config, opml = tmp_path / "feeds.yaml", tmp_path / "bad.opml"
    config.write_text(CONFIG)
    opml.write_bytes(data)
    with pytest.raises(ConfigError, match=f"bad.opml: {message.split('(')[0]}"):
        import_opml(config, opml)
    assert config.read_text() == CONFIG


def test_a_feeds_yaml_with_aliases_is_refused_before_it_is_edited(tmp_path: Path) -> None:
    """The file is checked (refusing anchors and aliases) before the round trip reads it."""
    config, opml = tmp_path / "feeds.yaml", tmp_path / "subs.opml"
    text = CONFIG.replace("  - name: Analysis", "  - &a {name: Analysis}\n  - *a")
    config.write_text(text)
    opml.write_bytes(OPML)
    with pytest.raises(ConfigError) as caught:
        import_opml(config, opml)
    assert str(caught.value) == (
        f"{config}:7: anchor &a: roundup's files have no anchors or aliases (remove it, and "
        "write out in full every value that refers to it)"
    )
    assert config.read_text() == text


def test_yaml_1_2_values_survive_the_round_trip(tmp_path: Path) -> None:
    """Feed names that YAML 1.1 would read as booleans or numbers stay text once imported."""
    config, opml = tmp_path / "feeds.yaml", tmp_path / "subs.opml"
    config.write_text(CONFIG)
    names = ["yes", "off", "0o17", "1_000", "2015-08-12", "null", "1e3"]
    outlines = "".join(
        f'<outline text="{name}" type="rss" xmlUrl="https://e.example/{n}"/>'
        for n, name in enumerate(names)
    )
    opml.write_text(f"<opml><body>{outlines}</body></opml>")
    import_opml(config, opml)
    assert [feed.name for feed in load_config(config).feeds[1:]] == names
