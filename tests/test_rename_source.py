"""Renaming a source: feeds.yaml edited in place (comments and layout kept), the desk's
draft updated, a stale page or an unknown source refused."""

from __future__ import annotations

import difflib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from roundup.config import load_config
from roundup.desk import create_server
from roundup.draft_file import load_draft
from roundup.errors import ConfigError
from roundup.pipeline import draft_path, rename_source
from roundup.yamlfile import YamlError, load, set_feed_name
from tests.test_desk import NOW, ROOT, SECRET, WEEK, seeded  # noqa: F401

COMMENTED = """\
# My newsletter (hand-written, keep these notes)
newsletter:
  title: T   # the masthead
feeds:
  # world news first
  - url: https://a.example/world.xml   # their "World" feed
    section: News

  - url: "https://b.example/rss"
    name: 'Old B'   # renamed once already
  - {url: https://c.example/feed, section: News}
  - url: https://a.example/world.xml?second
"""


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize(
    ("url", "name", "diff"),
    [
        (
            "https://a.example/world.xml",
            "The A Times",
            ["+    name: The A Times"],
        ),
        (
            "https://b.example/rss",
            "New B: the sequel",
            [
                "-    name: 'Old B'   # renamed once already",
                "+    name: 'New B: the sequel'   # renamed once already",
            ],
        ),
        (
            "https://c.example/feed",
            "C",
            [
                "-  - {url: https://c.example/feed, section: News}",
                "+  - {url: https://c.example/feed, section: News, name: C}",
            ],
        ),
    ],
)
def test_set_feed_name_keeps_everything_else(url: str, name: str, diff: list[str]) -> None:
    """Only the name changes or is added; comments, blank lines and quoting stay."""
    edited, count = set_feed_name(COMMENTED, lambda raw: raw == url, name)
    assert count == 1
    assert changed_lines(COMMENTED, edited) == diff
    feeds = load(edited)["feeds"]
    assert [feed.get("name") for feed in feeds if feed["url"] == url] == [name]


def test_set_feed_name_unknown_feed_and_bad_yaml() -> None:
    """No matching feed changes nothing; text libyaml cannot read is an error."""
    assert set_feed_name(COMMENTED, lambda raw: False, "X") == (COMMENTED, 0)
    with pytest.raises(YamlError):
        set_feed_name("feeds: [\n", lambda raw: True, "X")


def test_set_feed_name_at_the_end_without_a_newline() -> None:
    """A url on the file's last line, with no line break after it."""
    edited, _ = set_feed_name("feeds:\n  - url: x", lambda raw: raw == "x", "Ünïcode & co")
    assert edited == "feeds:\n  - url: x\n    name: Ünïcode & co"


def project(seeded_folder: Path, tmp_path: Path) -> Path:
    """A copy of the seeded site with its own feeds.yaml (the bundled one, commented)."""
    folder = tmp_path / "site"
    shutil.copytree(seeded_folder, folder)
    text = (ROOT / "feeds.yaml").read_text(encoding="utf-8")
    text = text.replace("url: samples/", f"url: {ROOT}/samples/")
    text = text.replace("state: .roundup/state.sqlite3", "state: state.sqlite3")
    (folder / "feeds.yaml").write_text(text, encoding="utf-8")
    return folder / "feeds.yaml"


def test_rename_source_in_feeds_yaml(seeded: Path, tmp_path: Path) -> None:  # noqa: F811
    """The feed shown as "Harbor & Helm" (its own title) gets a name: line, nothing else."""
    path = project(seeded, tmp_path)
    before = path.read_text(encoding="utf-8")
    config, count = rename_source(load_config(path), "Harbor & Helm", "Harbor and Helm")
    assert count == 1
    assert changed_lines(before, path.read_text(encoding="utf-8")) == ["+    name: Harbor and Helm"]
    assert [feed.name for feed in config.feeds if "harbor-helm" in feed.key] == ["Harbor and Helm"]
    with pytest.raises(ConfigError, match="no feed is shown as 'Nobody'"):
        rename_source(config, "Nobody", "X")
    assert "name: Harbor and Helm" in path.read_text(encoding="utf-8")


def test_desk_renames_a_source(seeded: Path, tmp_path: Path) -> None:  # noqa: F811
    """The desk's rename writes feeds.yaml and renames the source throughout the draft."""
    path = project(seeded, tmp_path)
    config = replace(load_config(path), output_dir=path.parent / "out")
    server = create_server(config, week=WEEK, clock=lambda: NOW, approver="ann", secret=SECRET)
    with server, httpx.Client(base_url=server.url, trust_env=False) as client:
        version = client.get("/api/version").json()["version"]
        headers = {"X-CSRF-Token": server.desk.csrf_token}
        body = {"version": version, "source": "Strait Talk", "name": "Strait Talk Weekly"}
        response = client.post("/api/rename-source", content=json.dumps(body), headers=headers)
        assert response.status_code == 200, response.text
        stale = client.post("/api/rename-source", content=json.dumps(body), headers=headers)
        assert stale.status_code == 409
    draft = load_draft(draft_path(config, WEEK))
    sources = {item.source for item in draft.items} | {
        other.source for item in draft.items for other in item.covered_by
    }
    assert "Strait Talk Weekly" in sources and "Strait Talk" not in sources
    assert "    name: Strait Talk Weekly\n" in path.read_text(encoding="utf-8")


def test_a_rename_reaches_entries_stored_before_it(seeded: Path, tmp_path: Path) -> None:  # noqa: F811
    """Entries fetched under the old name show the new one in the next draft."""
    from roundup.pipeline import make_draft, resolve_window
    from roundup.store import Store

    path = project(seeded, tmp_path)
    config, _ = rename_source(load_config(path), "Levant Ledger", "The Levant Ledger")
    window = resolve_window(config, WEEK, now=NOW)
    draft_path(config, WEEK).unlink()
    with Store.open(config.state) as store:
        draft = make_draft(config, store, window=window).draft
    sources = {item.source for item in draft.items}
    assert "The Levant Ledger" in sources and "Levant Ledger" not in sources
