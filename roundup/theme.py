"""The theme: the templates an issue is rendered with, and the Jinja environment over them.

A template in the user's ``templates`` folder replaces the default theme's template of the
same name; the default one stays reachable as ``default/<name>``. :func:`render_template`
renders one template and turns any template fault into a :class:`RenderError` that names
the template file and line.
"""

from __future__ import annotations

import importlib.resources
import json
import traceback
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from roundup import plain_text, safe_markdown, text
from roundup.config import Config
from roundup.errors import RenderError
from roundup.i18n import format_date, format_month_day

# the files of a theme that are templates (a theme folder may also hold images)
_TEMPLATE_SUFFIXES = (".html", ".htm", ".xml", ".txt", ".md", ".css")


def default_templates_dir() -> Path:
    """The default theme: ``roundup/templates`` in a wheel, ``templates/`` in a checkout."""
    try:
        packaged = importlib.resources.files("roundup") / "templates"
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - zipped installs
        pass
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise RenderError(f"the default templates are missing (looked in {checkout})")


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates, shared by every environment of the process.

    Jinja keys each by template name and file, and checks it against the source's hash, so
    an edited template is compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _MemoryBytecodeCache()


def make_environment(config: Config) -> jinja2.Environment:
    """A Jinja environment for ``config``: the user's templates first, then the default theme.

    A template in ``config.templates`` replaces the default one of the same name; every
    default template is also reachable as ``default/<name>`` so that an override can
    ``{% extends "default/email.html" %}`` and replace single blocks.
    """
    theme = jinja2.FileSystemLoader(default_templates_dir())
    loaders: list[jinja2.BaseLoader] = []
    if config.templates is not None:
        loaders.append(jinja2.FileSystemLoader(config.templates))
    loaders += [jinja2.PrefixLoader({"default": theme}), theme]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_COMPILED,
        autoescape=jinja2.select_autoescape(("html", "htm", "xml")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_date_filters(config))
    env.filters.update(
        wrap=plain_text.wrap,
        underline=plain_text.underline,
        md=safe_markdown.md_escape,
        md_url=safe_markdown.md_url,
        md_link=safe_markdown.md_link,
        md_quote=safe_markdown.md_quote,
        yaml=_yaml_string,
    )
    env.globals.update(
        text_blocks=plain_text.blocks_to_text, md_blocks=safe_markdown.blocks_to_markdown
    )
    return env


def _date_filters(config: Config) -> dict[str, Any]:
    """``date`` and ``month_day``: a day, or the local day of a time, in the newsletter's
    language."""
    language = config.newsletter.language
    tz = config.newsletter.tz

    def local_day(value: date | datetime) -> date:
        return value.astimezone(tz).date() if isinstance(value, datetime) else value

    def date_filter(value: date | datetime, style: str = "long") -> str:
        return format_date(local_day(value), language, style)

    def month_day_filter(value: date | datetime) -> str:
        return format_month_day(local_day(value), language)

    return {"date": date_filter, "month_day": month_day_filter}


def _yaml_string(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text.clean_line(value), ensure_ascii=False)


def template_names(config: Config) -> list[str]:
    """Every template of the default theme and of the user's folder, sorted."""
    names = set(jinja2.FileSystemLoader(default_templates_dir()).list_templates())
    if config.templates is not None:
        names |= set(jinja2.FileSystemLoader(config.templates).list_templates())
    return sorted(name for name in names if name.endswith(_TEMPLATE_SUFFIXES))


def compile_template(env: jinja2.Environment, name: str) -> None:
    """Raise :class:`RenderError` naming the file and line if ``name`` does not parse."""
    try:
        env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None


def render_template(env: jinja2.Environment, name: str, values: dict[str, Any]) -> str:
    """``name`` rendered with ``values``; any template fault becomes a RenderError."""
    try:
        return env.get_template(name).render(values)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {exc.name!r} not found (needed by {name})") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_template_frame(exc, name)}: {exc.message}") from None


def _template_frame(exc: BaseException, name: str) -> str:
    """``file:line`` of the innermost template frame of ``exc`` (Jinja rewrites them)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<")
    ]
    if not frames:
        return name
    return f"{frames[-1].filename}:{frames[-1].lineno}"


def from_default_theme(env: jinja2.Environment, names: Iterable[str]) -> bool:
    """True when every one of ``names`` is the default theme's own file in ``env``, False
    when the user replaced one (or one is missing: rendering will report that)."""
    theme = default_templates_dir()
    for name in names:
        try:
            template = env.get_template(name)
        except jinja2.TemplateError:
            return False
        if template.filename is None or Path(template.filename) != theme / name:
            return False
    return True
