"""The theme: the Jinja environment over the user's and the default templates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from roundup.errors import RenderError
from roundup.theme import (
    compile_template,
    default_templates_dir,
    from_default_theme,
    make_environment,
    render_template,
    template_names,
)
from tests.test_render import sample_config


def test_default_theme_is_found() -> None:
    """default_templates_dir() finds the theme, with all of its templates."""
    folder = default_templates_dir()
    names = {path.name for path in folder.iterdir()}
    assert {"email.html", "email.css", "email.txt", "post.md", "post.html"} <= names


def test_environment_autoescapes_html_only(tmp_path: Path) -> None:
    """Autoescape is on for .html templates and off for text and Markdown."""
    (tmp_path / "a.html").write_text("{{ v }}")
    (tmp_path / "a.txt").write_text("{{ v }}")
    (tmp_path / "a.md").write_text("{{ v }}")
    env = make_environment(sample_config(tmp_path))
    value = "<b>&</b>"
    assert env.get_template("a.html").render(v=value) == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert env.get_template("a.txt").render(v=value) == value
    assert env.get_template("a.md").render(v=value) == value


def test_environment_filters(tmp_path: Path) -> None:
    """The filters templates use: dates in the newsletter's language, text, Markdown, YAML."""
    (tmp_path / "f.txt").write_text(
        '{{ day | date }}|{{ day | month_day }}|{{ "a b" | wrap(1) }}|{{ "*" | md }}'
        '|{{ "t" | md_link("https://x.org/") }}|{{ "say \\"hi\\"" | yaml }}'
    )
    env = make_environment(sample_config(tmp_path, language="fr"))
    rendered = render_template(env, "f.txt", {"day": date(2015, 8, 14)})
    assert rendered == '14 août 2015|14/08|a\nb|\\*|[t](https://x.org/)|"say \\"hi\\""'


def test_user_template_replaces_the_default_one(tmp_path: Path) -> None:
    """A user's template wins; the default one stays reachable as default/<name>."""
    (tmp_path / "post.md").write_text("mine\n")
    env = make_environment(sample_config(tmp_path))
    assert env.get_template("post.md").render() == "mine\n"
    assert env.get_template("default/post.md").filename == str(default_templates_dir() / "post.md")


def test_from_default_theme(tmp_path: Path) -> None:
    """True only while every template named is the default theme's own file."""
    assert from_default_theme(make_environment(sample_config()), ["email.html", "email.css"])
    (tmp_path / "email.css").write_text("p{color:red}")
    env = make_environment(sample_config(tmp_path))
    assert from_default_theme(env, ["email.html"])
    assert not from_default_theme(env, ["email.html", "email.css"])
    assert not from_default_theme(env, ["missing.html"])


def test_template_names_lists_the_theme_and_the_user_folder(tmp_path: Path) -> None:
    """Templates only: an image in the user's folder is not one."""
    (tmp_path / "extra.html").write_text("")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n")
    names = template_names(sample_config(tmp_path))
    assert names == sorted(names)
    assert {"email.html", "post.md", "extra.html"} <= set(names)
    assert "logo.png" not in names


def test_compile_template_names_file_and_line(tmp_path: Path) -> None:
    """A template that does not parse is a RenderError with its file and line."""
    (tmp_path / "bad.html").write_text("ok\n{% if %}")
    env = make_environment(sample_config(tmp_path))
    with pytest.raises(RenderError, match=rf"{tmp_path / 'bad.html'}:2: "):
        compile_template(env, "bad.html")


def test_render_template_errors_name_the_template(tmp_path: Path) -> None:
    """Undefined values and missing includes are RenderErrors that say where."""
    (tmp_path / "typo.txt").write_text("a\n{{ nope }}\n")
    (tmp_path / "include.txt").write_text('{% include "missing.txt" %}')
    env = make_environment(sample_config(tmp_path))
    with pytest.raises(RenderError, match=rf"{tmp_path / 'typo.txt'}:2: 'nope' is undefined"):
        render_template(env, "typo.txt", {})
    with pytest.raises(RenderError, match=r"'missing\.txt' not found \(needed by include\.txt\)"):
        render_template(env, "include.txt", {})
