"""Whether a week's draft and files are up to date: a fingerprint of what they are made of.

An hourly ``roundup run`` with nothing new would re-draft and re-render the current week
only to write the same bytes again. The orchestrator records :func:`fingerprint` after it
renders, and skips the next draft and render while the fingerprint is the same: the
store's revision (it grows with every write to entries, issues and sent links), feeds.yaml's
bytes, the theme's files and the week's own files (draft.yaml edited in the desk, an
output deleted by hand), the week, and roundup's version. Files are compared by name, size
and modification time, which costs a ``stat`` each, not a read.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from collections.abc import Iterable
from pathlib import Path

from roundup import __version__


def fingerprint(
    *, revision: int, week: str, config_file: Path, folders: Iterable[Path | None]
) -> str:
    """A digest of what the week's files are made of (see the module's docstring).

    ``folders`` are the theme folders and the week's own folder; a missing one counts as
    empty, and None is skipped.
    """
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{week}\0{revision}\0".encode())
    try:
        digest.update(config_file.read_bytes())
    except OSError:
        digest.update(b"\0no config\0")
    for folder in folders:
        if folder is not None:
            digest.update(f"\0{folder}\0".encode())
            for line in _listing(folder):
                digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def default_theme() -> Path:
    """Where the default theme's files are, found as :mod:`roundup.theme` finds them,
    without importing Jinja."""
    packaged = importlib.resources.files("roundup") / "templates"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def _listing(folder: Path) -> list[str]:
    """One line per file under ``folder``: its relative path, size and mtime, sorted."""
    lines = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            relative = os.path.relpath(path, folder)
            lines.append(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n")
    return lines
