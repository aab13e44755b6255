"""post.md in real site generators: Hugo (Debian's ``hugo``) and Pelican (the test extras).

Each builds the sample issue's post.md, written for it (``post.format``), in a small site
of its own, and the test reads the page the generator wrote: at the issue's public address,
with its title, date and every item's link, and no escape shown literally. A generator that
is not installed skips the test, except in CI (``CI=true``), where it is a failure;
``.ci/run`` installs Hugo, and ``pip install -e '.[test]'`` installs Pelican.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html as lxml_html

from roundup.issue_view import issue_view
from roundup.outputs.post_md import file_name, liquid_safe
from roundup.pipeline import draft, fetch, render
from tests.test_render import sample_config, sample_draft
from tests.test_site import NOW, SLUG, sample_project

URL_PATH = f"roundup/{SLUG}/"
TITLE = "The Elicitor Weekly Roundup: August 14, 2015"
DETERRENCE = "https://elicitor.example.org/2015/08/13/deterrence-and-its-discontents/"


def require(problem: str) -> None:
    """Skip when ``problem`` is not empty; in CI (``CI=true``) fail instead."""
    if problem and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"site generator tests must run in CI: {problem}")
    if problem:
        pytest.skip(problem)


def sample_post(tmp_path: Path, post_format: str) -> Path:
    """The sample week's post.md file, written for ``post_format`` by ``roundup render``."""
    config = sample_project(tmp_path, f"post:\n  format: {post_format}\n")
    fetch(config, now=NOW)
    draft(config, week="2015-W33", now=NOW)
    rendered = render(config, week="2015-W33", now=NOW)
    (post,) = [path for path in rendered.files if path.suffix == ".md"]
    assert post.read_text(encoding="utf-8") == rendered.issue.post_md
    return post


def item_links(post_md: str) -> list[str]:
    """Every item's link in the post, in order: ``### [title](url)``."""
    return re.findall(r"^### \[.*\]\((https://[^)]+)\)$", post_md, re.MULTILINE)


def check_page(page: Path, *, date_text: str) -> None:
    """The generated page: title, date, every item's link, and text shown as written."""
    document = lxml_html.fromstring(page.read_bytes())
    assert document.findtext(".//title") == TITLE
    assert document.xpath("//time/@datetime") == [date_text]
    content = document.xpath("//div[@class='content']")[0]
    text = content.text_content()
    assert DETERRENCE in content.xpath(".//h3/a/@href")
    assert "Deterrence & Its Discontents: Reading the Minsk Ledger" in text
    assert "\\" not in text and "&#" not in text
    assert document.xpath("//p[@class='url']/text()") == [f"https://example.org/{URL_PATH}"]


HUGO_CONFIG = """\
baseURL = "https://example.org/"
title = "Blog"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404", "home", "section"]
"""
HUGO_SINGLE = """\
<!DOCTYPE html><html><head><title>{{ .Title }}</title></head><body>
<time datetime="{{ .Date.Format "2006-01-02T15:04:05-07:00" }}">{{ .Date }}</time>
<p class="url">{{ .Permalink }}</p><div class="content">{{ .Content }}</div></body></html>
"""


def test_hugo_builds_the_post_at_its_address(tmp_path: Path) -> None:
    """Hugo puts the page at /roundup/<slug>/ with the post's title, date and links."""
    hugo = shutil.which("hugo")
    require("" if hugo else "hugo is not installed (apt-get install hugo)")
    assert hugo is not None
    post = sample_post(tmp_path, "hugo")
    site = tmp_path / "hugo"
    (site / "content" / "posts").mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "config.toml").write_text(HUGO_CONFIG)
    (site / "layouts" / "_default" / "single.html").write_text(HUGO_SINGLE)
    shutil.copy(post, site / "content" / "posts" / post.name)
    done = subprocess.run(
        [hugo, "--quiet", "--source", str(site), "--destination", str(site / "public")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    page = site / "public" / URL_PATH / "index.html"
    check_page(page, date_text="2015-08-14T00:00:00-04:00")
    links = lxml_html.fromstring(page.read_bytes()).xpath("//div[@class='content']//h3/a/@href")
    assert links == item_links(post.read_text(encoding="utf-8"))


PELICAN_CONFIG = """\
SITEURL = "https://example.org"
SITENAME = "Blog"
TIMEZONE = "America/New_York"
PATH = "content"
THEME = "theme"
DIRECT_TEMPLATES = []
TAG_SAVE_AS = CATEGORY_SAVE_AS = AUTHOR_SAVE_AS = ARCHIVES_SAVE_AS = ""
FEED_ALL_ATOM = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
"""
PELICAN_ARTICLE = """\
<!DOCTYPE html><html><head><title>{{ article.title }}</title></head><body>
<time datetime="{{ article.date.isoformat() }}">{{ article.locale_date }}</time>
<p class="url">{{ SITEURL }}/{{ article.url }}</p><ul class="tags">{% for tag in article.tags %}
<li>{{ tag }}</li>{% endfor %}</ul><div class="content">{{ article.content }}</div></body></html>
"""


def test_pelican_builds_the_post_at_its_address(tmp_path: Path) -> None:
    """Pelican reads its own metadata: title unquoted, URL and file name, tags one by one."""
    missing = [name for name in ("pelican", "markdown") if importlib.util.find_spec(name) is None]
    require(f"{' and '.join(missing)} not installed (pip install -e '.[test]')" if missing else "")
    post = sample_post(tmp_path, "pelican")
    site = tmp_path / "pelican"
    (site / "content").mkdir(parents=True)
    (site / "theme" / "templates").mkdir(parents=True)
    (site / "pelicanconf.py").write_text(PELICAN_CONFIG)
    (site / "theme" / "templates" / "article.html").write_text(PELICAN_ARTICLE)
    shutil.copy(post, site / "content" / post.name)
    done = subprocess.run(
        [sys.executable, "-m", "pelican", "content", "-o", "output", "-s", "pelicanconf.py"],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(str(p.relative_to(site / "output")) for p in site.rglob("output/**/*.html"))
    assert written == [f"{URL_PATH}index.html"]
    page = site / "output" / URL_PATH / "index.html"
    check_page(page, date_text="2015-08-14T00:00:00-04:00")
    document = lxml_html.fromstring(page.read_bytes())
    assert document.xpath("//ul[@class='tags']/li/text()") == [
        "From The Elicitor",
        "Analysis",
        "Regional",
    ]
    links = document.xpath("//div[@class='content']//h3/a/@href")
    assert links == item_links(post.read_text(encoding="utf-8"))


def test_the_post_file_has_the_name_generators_expect(tmp_path: Path) -> None:
    """Jekyll needs YYYY-MM-DD-title.md; the slug starts with the date, so all get it."""
    assert file_name(issue_view(sample_draft(), sample_config())) == "2015-08-14-weekly-roundup.md"
    assert sample_post(tmp_path, "jekyll").name == f"{SLUG}.md"


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        ("---\ntitle: x\n---\n\nplain\n", "---\ntitle: x\n---\n\nplain\n"),
        (
            "---\ntitle: x\n---\n\n`{{ site.title }}` and `{% if %}`\n",
            "---\ntitle: x\n---\n{% raw %}\n\n`{{ site.title }}` and `{% if %}`\n{% endraw %}\n",
        ),
    ],
)
def test_jekyll_body_with_liquid_marks_is_raw(post: str, expected: str) -> None:
    """Code in an editor's note may hold "{{" or "{%": Liquid must not run it."""
    assert liquid_safe(post) == expected
