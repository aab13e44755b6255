"""The ``roundup`` command: a thin click layer over the orchestrator, :mod:`roundup.pipeline`.

Each command parses its options, calls the library and prints; library errors become a
one-line ``Error: ...`` and the exit code from :class:`roundup.errors.ExitCode`.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from roundup import __version__
from roundup.config import CONFIG_ENV, Config, default_config_path, load_config
from roundup.errors import ExitCode, RoundupError

if TYPE_CHECKING:
    from roundup.pipeline import PublishReport
    from roundup.secret import Secret

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


@cli.command()
@pass_context
@handle_errors
def check(ctx: Context) -> None:
    """Validate feeds.yaml (and the templates folder, if set) without fetching; name the
    feeds whose title reads like a section of a site."""
    from roundup.pipeline import section_titled_feeds
    from roundup.render import check_templates
    from roundup.reporting import SECTION_ADVICE, section_line

    config = ctx.config
    check_templates(config)
    enabled = len(config.enabled_feeds)
    click.echo(
        f"{config.path}: OK ({enabled} feeds enabled, {len(config.feeds) - enabled} disabled, "
        f"{len(config.sections)} sections)"
    )
    flagged = section_titled_feeds(config)
    if flagged:
        click.echo(SECTION_ADVICE)
        for key, title, shown in flagged:
            click.echo(section_line(key, title, shown))


@cli.command()
@quiet_option
@pass_context
@handle_errors
def fetch(ctx: Context, quiet: bool) -> None:
    """Fetch every enabled feed and store new entries.

    Exit code 0 when every feed succeeded, 3 when the run completed but some feeds failed.
    """
    from roundup import pipeline
    from roundup.reporting import format_fetch_summary, progress

    config = ctx.config
    with progress(len(config.enabled_feeds), quiet=quiet) as on_feed:
        report = pipeline.fetch(config, now=now(), on_feed=on_feed)
    if not quiet or report.failed:
        click.echo(format_fetch_summary(report, quiet=quiet), nl=False)
    if report.failed:
        sys.exit(int(ExitCode.FEEDS_FAILED))


force_option = click.option(
    "--force", is_flag=True, help="Rewrite a week that was already sent (asks first)."
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask before a --force.")


def confirm_forced(yes: bool) -> Callable[[str], None]:
    """What a --force does to a sent issue, printed, then confirmed unless --yes."""

    def before(what: str) -> None:
        click.echo(what)
        if not yes:
            click.confirm("Go ahead?", abort=True)

    return before


@cli.command()
@week_option
@force_option
@yes_option
@pass_context
@handle_errors
def draft(ctx: Context, week: str, force: bool, yes: bool) -> None:
    """Write or refresh <output_dir>/<week>/draft.yaml for the editor, keeping their edits.

    A week that was already sent is left alone unless --force.
    """
    from roundup import pipeline
    from roundup.reporting import format_draft_summary, format_empty_draft

    result = pipeline.draft(
        ctx.config, week=week, now=now(), force=force, before=confirm_forced(yes)
    )
    click.echo(format_draft_summary(result) + format_empty_draft(result), nl=False)


@cli.command()
@week_option
@force_option
@yes_option
@pass_context
@handle_errors
def render(ctx: Context, week: str, force: bool, yes: bool) -> None:
    """Render the week's draft into email.html, email.txt, post.md and post.html.

    A week that was already sent is left alone unless --force.
    """
    from roundup import pipeline
    from roundup.reporting import format_render_summary

    result = pipeline.render(
        ctx.config, week=week, now=now(), force=force, before=confirm_forced(yes)
    )
    click.echo(format_render_summary(result), nl=False)


@cli.command()
@week_option
@quiet_option
@pass_context
@handle_errors
def build(ctx: Context, week: str, quiet: bool) -> None:
    """Fetch, draft and render the week's issue in one go (fetch + draft + render).

    A week with no items is drafted but not rendered, and says so (even with --quiet).
    """
    from roundup import pipeline
    from roundup.reporting import (
        format_draft_summary,
        format_fetch_summary,
        format_render_summary,
        progress,
    )

    config = ctx.config
    with progress(len(config.enabled_feeds), quiet=quiet) as on_feed:
        built = pipeline.build(config, week=week, now=now(), on_feed=on_feed)
    report = built.fetch
    if not quiet or report.failed:
        click.echo(format_fetch_summary(report, quiet=quiet), nl=False)
    if not quiet or built.render.empty:
        click.echo(format_draft_summary(built.draft), nl=False)
        click.echo(format_render_summary(built.render), nl=False)
    if report.failed:
        sys.exit(int(ExitCode.FEEDS_FAILED))


def _secret(config: Config) -> str:
    """``$ROUNDUP_SECRET``, else roundup's own secret file (made on first use, said once)."""
    return _found_secret(config).value


def _found_secret(config: Config) -> Secret:
    import os

    from roundup.secret import signing_secret

    found = signing_secret(config, os.environ, create=True)
    if found.created:
        click.echo(found.notice, err=True)
    return found


@cli.command()
@week_option
@click.option("--by", default=None, help="Who approves (default: the login name).")
@pass_context
@handle_errors
def approve(ctx: Context, week: str, by: str | None) -> None:
    """Approve the week's issue as it renders now; any later edit to the draft voids it."""
    import getpass

    from roundup import pipeline

    who = by or getpass.getuser()
    approved, digest = pipeline.approve(ctx.config, week=week, by=who, now=now())
    click.echo(f"Approved {approved} as {who} (email sha256 {digest[:12]}).")


@cli.command()
@week_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any other than loopback needs the printed access token.",
)
@click.option(
    "--port",
    "-p",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option("--by", default=None, help="Name to approve as (default: the login name).")
@click.option("--open", "open_browser", is_flag=True, help="Open the desk in the web browser.")
@click.option(
    "--allow-private-pages",
    is_flag=True,
    help="Let add-by-URL read pages on loopback and private addresses (local testing).",
)
@pass_context
@handle_errors
def preview(
    ctx: Context,
    week: str,
    host: str,
    port: int,
    by: str | None,
    open_browser: bool,
    allow_private_pages: bool,
) -> None:
    """Open the editor's desk: review, edit, test-send and approve the week's issue.

    Serves a local web page until Ctrl+C; every change is written to draft.yaml at once.
    """
    import getpass

    from roundup.desk import serve

    serve(
        ctx.config,
        week=week,
        host=host,
        port=port,
        clock=now,
        secret=_secret(ctx.config),
        approver=by or getpass.getuser(),
        open_browser=open_browser,
        announce=click.echo,
        allow_private_pages=allow_private_pages,
    )


@cli.command()
@week_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would go to whom and every check that would fail; write message.eml only.",
)
@click.option(
    "--test-to",
    metavar="ADDR",
    help="Send one [TEST] copy (its own Message-ID) to ADDR; the ledger is untouched.",
)
@click.option(
    "--force", is_flag=True, help="Send again to everyone, even those who already have it."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a --force send.")
@click.option(
    "--retry-uncertain",
    is_flag=True,
    help="Also send to recipients whose earlier copy may have arrived (outcome unknown).",
)
@pass_context
@handle_errors
def send(
    ctx: Context,
    week: str,
    dry_run: bool,
    test_to: str | None,
    force: bool,
    yes: bool,
    retry_uncertain: bool,
) -> None:
    """Send the week's issue to the mailing lists, at most once per recipient.

    Every check runs before anything is sent or announced: the delivery settings, the
    message, $ROUNDUP_SECRET, the approval, items, recipients and (with
    newsletter.block_on_broken_links) broken links; --dry-run lists each one that would
    fail. Exit code 1 when a check fails; 5 when some recipients were refused, could not
    be reached, or may not have it (uncertain: --retry-uncertain sends to them).
    """
    from roundup import pipeline
    from roundup.send import format_report

    def before(plan: str) -> None:
        click.echo(plan)
        if force and not dry_run and not yes:
            click.confirm("Go ahead?", abort=True)

    published: list[PublishReport] = []
    report = pipeline.send(
        ctx.config,
        week=week,
        clock=now,
        secret=_secret(ctx.config),
        force=force,
        dry_run=dry_run,
        test_to=test_to,
        before=before,
        retry_uncertain=retry_uncertain,
        on_publish=published.append,
    )
    click.echo(format_report(report))
    failed = [outcome for outcome in published if outcome.error is not None]
    for outcome in failed:  # a published issue is what a finished send means: quiet
        click.echo(format_publish(outcome), nl=False, err=True)
    if not report.complete:
        sys.exit(int(ExitCode.SEND_INCOMPLETE))
    if failed:
        sys.exit(int(ExitCode.PUBLISH_FAILED))


@cli.command()
@quiet_option
@pass_context
@handle_errors
def run(ctx: Context, quiet: bool) -> None:
    """The cron job: fetch, refresh the draft, brief the editors, and send the issue when
    it is due.

    Safe to run every hour: never sends twice, never sends an empty issue, and applies
    newsletter.quiet_week and newsletter.unapproved at send time. With --quiet it prints
    nothing unless something needs attention. Exit code 3 when it names failing feeds, 5
    when some recipients did not surely get the issue.
    """
    from roundup import pipeline
    from roundup.reporting import feeds_worth_reporting, format_run_summary

    config = ctx.config
    report = pipeline.run(config, clock=now, secret=_secret(config))
    nl = config.newsletter
    summary = format_run_summary(
        report,
        report_after=config.fetch.report_after,
        quiet=quiet,
        min_items=nl.min_items,
        quiet_week=nl.quiet_week,
    )
    click.echo(summary, nl=False)
    failed = report.publish is not None and report.publish.error is not None
    if report.publish is not None and (failed or not quiet):
        click.echo(format_publish(report.publish), nl=False, err=failed)
    if report.send is not None and not report.send.complete:
        sys.exit(int(ExitCode.SEND_INCOMPLETE))
    if failed:
        sys.exit(int(ExitCode.PUBLISH_FAILED))
    failing, _recovered = feeds_worth_reporting(report.fetch, after=config.fetch.report_after)
    if failing:
        sys.exit(int(ExitCode.FEEDS_FAILED))


@cli.command("check-links")
@week_option
@click.option("--fresh", is_flag=True, help="Ask every server again, ignoring today's results.")
@pass_context
@handle_errors
def check_links(ctx: Context, week: str, fresh: bool) -> None:
    """Check every link of the week's issue: broken, redirected, or sent to a home page.

    Results are kept for a day, so a second check asks only about new links. Exit code 3
    when some links are broken.
    """
    from roundup import pipeline
    from roundup.linkcheck import format_link_report

    report = pipeline.check_links(ctx.config, week=week, now=now(), fresh=fresh)
    click.echo(format_link_report(report), nl=False)
    if report.broken:
        sys.exit(int(ExitCode.FEEDS_FAILED))


@cli.command()
@click.option(
    "--week",
    "-w",
    default=None,
    metavar="WEEK",
    help="Also publish this week's issue, sent or not (2015-W33, 'current' or 'last').",
)
@pass_context
@handle_errors
def publish(ctx: Context, week: str | None) -> None:
    """Rebuild <output_dir>/site/ (every published issue's page, the archive, the feeds)
    and copy or upload it as publish.to or publish.command say.

    Sent issues are published by send and run; --week publishes one on purpose. Exit code
    6 when the copy or upload failed (the next run tries again).
    """
    from roundup import pipeline

    report = pipeline.publish(ctx.config, now=now(), week=week)
    click.echo(format_publish(report), nl=False)


def format_publish(report: PublishReport) -> str:
    """``Published 2 issues to:`` and the places, one a line; or the failure, one line."""
    from roundup.reporting import shown

    if report.error is not None:
        return f"Publishing failed: {report.error}\n"
    count = len(report.weeks)
    lines = [f"Published {count} issue{'' if count == 1 else 's'} to:"]
    lines += [
        f"  {shown(Path(place)) if Path(place).is_dir() else place}" for place in report.places
    ]
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("url")
@week_option
@pass_context
@handle_errors
def explain(ctx: Context, url: str, week: str) -> None:
    """Say why the post at URL is in the week's issue, or why it is not."""
    from roundup import pipeline

    text = pipeline.explain(ctx.config, url=url, week=week, now=now())
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


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (the reverse proxy's side; keep it on loopback).",
)
@click.option(
    "--port",
    "-p",
    default=8766,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@pass_context
@handle_errors
def serve(ctx: Context, host: str, port: int) -> None:
    """Answer the unsubscribe links of direct sends, behind the website's reverse proxy.

    POST /unsubscribe/TOKEN with List-Unsubscribe=One-Click unsubscribes at once (RFC
    8058); GET shows a page with one button. Unsubscribed addresses are skipped by every
    later send. Runs until Ctrl+C.
    """
    from roundup.serve import serve as run_server

    config = ctx.config
    found = _found_secret(config)
    run_server(
        config,
        secret=found.value,
        secret_source=found.source,
        clock=now,
        host=host,
        port=port,
        announce=click.echo,
    )


@cli.group()
def subscribers() -> None:
    """List, export, import and unsubscribe the subscribers of direct sends."""


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice(["subscribed", "unsubscribed"]),
    default=None,
    help="Show only the addresses in this status.",
)
@pass_context
@handle_errors
def subscribers_list(ctx: Context, status: str | None) -> None:
    """Every address of smtp.subscribers, and every unsubscribed one, with its status."""
    from roundup import pipeline
    from roundup.subscribers import format_subscribers

    people = pipeline.subscriber_list(ctx.config)
    click.echo(format_subscribers(people, status=status), nl=False)


@subscribers.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSV to this file (default: standard output).",
)
@pass_context
@handle_errors
def subscribers_export(ctx: Context, output: Path | None) -> None:
    """Write every address as CSV: email,name,status,since,how."""
    from roundup import pipeline
    from roundup.atomic import write_atomic
    from roundup.subscribers import export_csv

    people = pipeline.subscriber_list(ctx.config)
    text = export_csv(people)
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text)
    click.echo(f"Wrote {len(people)} addresses to {output}.")


@subscribers.command("unsubscribe")
@click.argument("addresses", nargs=-1, required=True)
@pass_context
@handle_errors
def subscribers_unsubscribe(ctx: Context, addresses: tuple[str, ...]) -> None:
    """Unsubscribe ADDRESSES by hand (someone wrote in to leave): no later send goes to them."""
    from roundup import pipeline
    from roundup.subscribers import format_unsubscribed

    moment = now()
    done = pipeline.unsubscribe_by_hand(ctx.config, addresses, now=moment)
    click.echo(format_unsubscribed(done, now=moment), nl=False)


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--status",
    type=click.Choice(["subscribed", "unsubscribed"]),
    default=None,
    help="The status of every row of a file without a status column.",
)
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Subscribe again the addresses that unsubscribed here but are subscribed in the file.",
)
@pass_context
@handle_errors
def subscribers_import(ctx: Context, csv_file: Path, status: str | None, resubscribe: bool) -> None:
    """Import a CSV (another tool's export): unsubscribes and new subscribers.

    It needs an email column, and a status column or --status. Unsubscribed addresses go
    on the suppression list; subscribed ones not yet listed are added to smtp.subscribers.
    """
    from roundup import pipeline
    from roundup.subscribers import format_import

    config = ctx.config
    plan = pipeline.import_subscribers(
        config, csv_file, now=now(), default_status=status, resubscribe=resubscribe
    )
    target = config.smtp.subscribers if config.smtp and config.smtp.subscribers else csv_file
    click.echo(format_import(csv_file, target, plan), nl=False)


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    finally:
        # The process ends here. Without this, the interpreter's last garbage collections
        # walk every object it ever made: 0.12 s of an idle hourly run of 150 feeds, for
        # nothing, since roundup closes its files, store and lock itself and relies on no
        # finalizer at exit (which Python does not promise to run anyway).
        gc.freeze()
