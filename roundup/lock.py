"""The run lock: an advisory ``flock`` on ``<state>.lock`` keeps overlapping runs apart.

The second run (cron overlapping a slow one, or the desk) waits briefly, then raises
:class:`StoreLocked`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from roundup.errors import StoreError, StoreLocked


@contextlib.contextmanager
def locked(
    state: Path, *, wait: float = 5.0, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Hold the run lock beside ``state`` (``<state>.lock``); wait up to ``wait`` seconds."""
    lock_path = state.with_name(state.name + ".lock")
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"{lock_path}: cannot create the run lock ({exc.strerror or exc}); make"
            f" {state.parent} writable by the user running roundup, or point state: in"
            " feeds.yaml elsewhere"
        ) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLocked(
                        f"{state}: another roundup run is in progress (it holds {lock_path});"
                        " try again when it has finished"
                    ) from None
                sleep(0.1)
        yield
    finally:
        os.close(fd)
