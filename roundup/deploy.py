"""Putting the built site where readers find it: ``publish.to`` or ``publish.command``.

* ``publish.to: /var/www/roundup``: the folder is replaced by a copy of the site in one
  swap (:func:`roundup.atomic.replace_folder`), so a web server never serves half of it;
* ``publish.command: rsync -a --delete {site}/ web:/srv/roundup/``: the program runs (no
  shell) with ``{site}`` replaced by the site's folder, or the folder appended as its last
  argument; it must exit with 0 within ``publish.timeout`` seconds.

A failure raises :class:`~roundup.errors.PublishError` naming the target and what to do; the
orchestrator records it and tries again on the next run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from roundup.atomic import replace_folder
from roundup.config import PublishSettings
from roundup.errors import PublishError


def deliver(site: Path, settings: PublishSettings, *, cwd: Path) -> str | None:
    """Copy or upload ``site`` as ``settings`` say; returns where it went (None: nowhere)."""
    if settings.to is not None:
        copy_site(site, settings.to)
        return str(settings.to)
    if settings.command:
        return run_command(site, settings.command, cwd=cwd, timeout=settings.timeout)
    return None


# Written into every site: a folder is replaced whole only if it is empty or holds this
# file, so that publish.to pointed at a folder of other files never deletes them.
MARKER = ".roundup-site"
MARKER_TEXT = "Written by roundup publish: this folder is replaced whole on every publish.\n"


def copy_site(site: Path, target: Path) -> None:
    """Replace the folder ``target`` with a copy of ``site``, all at once.

    ``target`` must be missing, empty, or a site roundup wrote (it holds :data:`MARKER`).
    """
    if target.resolve() == site.resolve() or site.resolve() in target.resolve().parents:
        raise PublishError(
            f"publish.to: {target} is inside the site itself (choose another folder)"
        )
    if target.is_dir() and not (target / MARKER).exists() and any(target.iterdir()):
        raise PublishError(
            f"publish.to: {target} holds files roundup did not write, and publishing replaces"
            " the folder whole; point publish.to at a folder of its own (or empty this one)"
        )

    def fill(new: Path) -> None:
        shutil.copytree(site, new, dirs_exist_ok=True)

    try:
        replace_folder(target, fill)
    except OSError as exc:
        raise PublishError(
            f"publish.to: cannot replace {target} ({exc.strerror or exc}); the site is in {site},"
            " and the next run tries again"
        ) from None


def command_line(command: tuple[str, ...], site: Path) -> list[str]:
    """``command`` with ``{site}`` replaced by the folder, or the folder appended."""
    if any("{site}" in word for word in command):
        return [word.replace("{site}", str(site)) for word in command]
    return [*command, str(site)]


def run_command(site: Path, command: tuple[str, ...], *, cwd: Path, timeout: float) -> str:
    """Run ``publish.command`` for ``site``; returns the command line as run."""
    args = command_line(command, site)
    shown = " ".join(args)
    retry = f"the site is in {site}, and the next run tries again"
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except FileNotFoundError:
        raise PublishError(
            f"publish.command: {args[0]!r} was not found (install it, or fix the command); {retry}"
        ) from None
    except subprocess.TimeoutExpired:
        raise PublishError(
            f"publish.command: `{shown}` did not finish within {timeout:g} s; {retry}"
        ) from None
    except OSError as exc:
        raise PublishError(f"publish.command: cannot run `{shown}` ({exc}); {retry}") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        detail = f": {said[-1]}" if said else ""
        raise PublishError(
            f"publish.command: `{shown}` exited with {done.returncode}{detail}; {retry}"
        )
    return shown
