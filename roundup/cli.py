"""The ``roundup`` command: a thin click layer over :mod:`roundup.pipeline`.

Each command parses its options, calls the library and prints; library errors become a
one-line ``Error: ...`` and the exit code from :class:`roundup.errors.ExitCode`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from roundup import __version__
from roundup.config import CONFIG_ENV, Config, default_config_path, load_config
from roundup.errors import ExitCode, RoundupError

F = TypeVar("F", bound=Callable[..., Any])


def now() -> datetime:
    """The one place roundup reads the clock (tests replace it)."""
    return datetime.now(UTC)


class Context:
    """What every command shares: where the config is, and the loaded config."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


def handle_errors(func: F) -> F:
    """Turn a RoundupError into ``Error: <message>`` and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RoundupError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(int(exc.exit_code))

    return wrapper  # type: ignore[return-value]


week_option = click.option(
    "--week",
    "-w",
    default="current",
    show_default=True,
    metavar="WEEK",
    help="ISO week like 2015-W33, 'current' (the window containing now) or 'last'.",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print only errors.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Path to feeds.yaml (default: ${CONFIG_ENV}, else ./feeds.yaml).",
)
@click.version_option(__version__, prog_name="roundup")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Turn a list of RSS, Atom and JSON feeds into a weekly roundup newsletter."""
    ctx.obj = Context(config_path or default_config_path())


pass_context = click.make_pass_decorator(Context)


@contextmanager
def _store(config: Config) -> Iterator[Any]:
    from roundup.store import Store, locked

    with locked(config.state), Store.open(config.state) as store:
        yield store


@cli.command()
@pass_context
@handle_errors
def check(ctx: Context) -> None:
    """Validate feeds.yaml (and the templates folder, if set) without fetching."""
    from roundup.render import check_templates

    config = ctx.config
    check_templates(config)
    enabled = len(config.enabled_feeds)
    click.echo(
        f"{config.path}: OK ({enabled} feeds enabled, {len(config.feeds) - enabled} disabled, "
        f"{len(config.sections)} sections)"
    )


@cli.command()
@quiet_option
@pass_context
@handle_errors
def fetch(ctx: Context, quiet: bool) -> None:
    """Fetch every enabled feed and store new entries.

    Exit code 0 when every feed succeeded, 3 when the run completed but some feeds failed.
    """
    from roundup.reporting import fetch_with_progress, format_fetch_summary

    config = ctx.config
    with _store(config) as store:
        report = fetch_with_progress(config, store, now=now(), quiet=quiet)
    if not quiet or report.failed:
        click.echo(format_fetch_summary(report, quiet=quiet), nl=False)
    if report.failed:
        sys.exit(int(ExitCode.FEEDS_FAILED))


@cli.command()
@week_option
@pass_context
@handle_errors
def draft(ctx: Context, week: str) -> None:
    """Write or refresh <output_dir>/<week>/draft.yaml for the editor, keeping their edits."""
    from roundup.pipeline import make_draft, resolve_window
    from roundup.reporting import format_draft_summary

    config = ctx.config
    window = resolve_window(config, week, now=now())
    with _store(config) as store:
        result = make_draft(config, store, window=window)
    click.echo(format_draft_summary(result), nl=False)


@cli.command()
@week_option
@pass_context
@handle_errors
def render(ctx: Context, week: str) -> None:
    """Render the week's draft into email.html, email.txt, post.md and post.html."""
    from roundup.pipeline import render_week, resolve_window
    from roundup.reporting import format_render_summary

    config = ctx.config
    window = resolve_window(config, week, now=now())
    result = render_week(config, week=window.week)
    click.echo(format_render_summary(result, config.path.parent), nl=False)


@cli.command()
@week_option
@quiet_option
@pass_context
@handle_errors
def build(ctx: Context, week: str, quiet: bool) -> None:
    """Fetch, draft and render the week's issue in one go (fetch + draft + render)."""
    from roundup.pipeline import make_draft, render_week, resolve_window
    from roundup.reporting import (
        fetch_with_progress,
        format_draft_summary,
        format_fetch_summary,
        format_render_summary,
    )

    config = ctx.config
    started = now()
    window = resolve_window(config, week, now=started)
    with _store(config) as store:
        report = fetch_with_progress(config, store, now=started, quiet=quiet)
        drafted = make_draft(config, store, window=window)
    rendered = render_week(config, week=window.week)
    if not quiet or report.failed:
        click.echo(format_fetch_summary(report, quiet=quiet), nl=False)
    if not quiet:
        click.echo(format_draft_summary(drafted), nl=False)
        click.echo(format_render_summary(rendered, config.path.parent), nl=False)
    if report.failed:
        sys.exit(int(ExitCode.FEEDS_FAILED))


@cli.command()
@click.argument("url")
@week_option
@pass_context
@handle_errors
def explain(ctx: Context, url: str, week: str) -> None:
    """Say why the post at URL is in the week's issue, or why it is not."""
    from roundup.explain import explain as do_explain
    from roundup.pipeline import draft_path, resolve_window

    config = ctx.config
    window = resolve_window(config, week, now=now())
    with _store(config) as store:
        text = do_explain(
            config, store, window=window, url=url, draft_file=draft_path(config, window.week)
        )
    click.echo(text, nl=False)


@cli.command("import-opml")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
@handle_errors
def import_opml(ctx: Context, opml_file: Path) -> None:
    """Add the feeds of an OPML export to feeds.yaml; outline categories become sections.

    Comments and layout of the existing feeds.yaml survive; feeds already listed are skipped.
    """
    from roundup.opml import import_opml as do_import

    result = do_import(ctx.config_path, opml_file)
    click.echo(
        f"Added {result.added} feeds and {len(result.new_sections)} sections to "
        f"{ctx.config_path} ({result.skipped} already listed)."
    )


def main() -> None:
    """Console-script entry point."""
    cli()
