"""Atomic writes: a crash leaves the old file (or folder) or the new one, never half of
either."""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a flushed, fsynced temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); published pages must be readable as usual.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_folder(path: Path, fill: Callable[[Path], None]) -> None:
    """Make ``path`` a folder holding exactly what ``fill`` writes, all at once.

    ``fill`` writes into a new folder beside ``path``; every file is fsynced, then the new
    folder takes ``path``'s place in one atomic exchange (Linux ``renameat2``), or, where
    that is not available, two renames a moment apart. A reader sees the old folder or the
    new one, never a half-written one; a crash leaves the old folder and a hidden leftover.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent))
    try:
        os.chmod(new, 0o777 & ~_umask())  # mkdtemp makes it private; a site must be readable
        fill(new)
        _sync_tree(new)
        if not path.exists():
            os.rename(new, path)
            return
        if not path.is_dir() or path.is_symlink():
            raise NotADirectoryError(f"{path} is not a folder")
        if not _exchange(new, path):
            old = new.with_suffix(".old")
            os.rename(path, old)
            os.rename(new, path)
            new = old
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(new, ignore_errors=True)  # the old folder, now out of sight


def _sync_tree(folder: Path) -> None:
    for root, _dirs, names in os.walk(folder):
        for name in names:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux 3.15+); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return bool(done == 0)
