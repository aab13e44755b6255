"""The signing secret: $ROUNDUP_SECRET, else a private file roundup makes once."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from roundup.errors import ConfigError
from roundup.secret import SECRET_ENV, secret_path, signing_secret
from tests.test_send import make_config


def test_the_variable_wins_and_no_file_is_made(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    found = signing_secret(config, {SECRET_ENV: "from-the-environment"}, create=True)
    assert (found.value, found.source, found.created) == (
        "from-the-environment",
        "$ROUNDUP_SECRET",
        False,
    )
    assert not secret_path(config).exists()


def test_created_once_private_then_read(tmp_path: Path) -> None:
    """The first use makes a 0600 file and says so; later uses read it and say nothing."""
    config = make_config(tmp_path, None)
    first = signing_secret(config, {}, create=True)
    again = signing_secret(config, {}, create=True)
    path = tmp_path / "state.secret"
    assert (first.created, again.created) == (True, False)
    assert first.value == again.value and len(first.value) >= 40
    assert (first.source, again.source) == (str(path), str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == first.value + "\n"
    assert first.notice.startswith(f"Created the signing secret for unsubscribe links in {path}")
    assert [p.name for p in tmp_path.iterdir()] == ["state.secret"]  # no temporary left


def test_without_create_nothing_is_made(tmp_path: Path) -> None:
    """A dry run needs no secret: none is made, the value is empty."""
    config = make_config(tmp_path, None)
    assert signing_secret(config, {}, create=False).value == ""
    assert not secret_path(config).exists()


def test_two_first_uses_at_once_agree(tmp_path: Path) -> None:
    """Eight threads create it at the same moment: one file, one secret, one creator."""
    config = make_config(tmp_path, None)
    start = threading.Barrier(8)
    found: list[tuple[str, bool]] = []

    def first_use() -> None:
        start.wait()
        secret = signing_secret(config, {}, create=True)
        found.append((secret.value, secret.created))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({value for value, _created in found}) == 1
    assert sum(created for _value, created in found) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("short\n", r"state\.secret: not a signing secret \(at least 16 characters expected\)"),
        ("", r"not a signing secret"),
    ],
)
def test_a_damaged_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    """A file that is not a secret is never replaced: the links signed with it matter."""
    config = make_config(tmp_path, None)
    secret_path(config).write_text(content)
    with pytest.raises(ConfigError, match=message):
        signing_secret(config, {}, create=True)
    assert secret_path(config).read_text() == content


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    config = replace(make_config(tmp_path, None), state=folder / "state.sqlite3")
    with pytest.raises(ConfigError, match=r"cannot create the signing secret .* set \$ROUNDUP"):
        signing_secret(config, {}, create=True)


def test_an_unwritable_folder_is_one_line_even_as_root(tmp_path: Path) -> None:
    """A state folder that is a file: the secret cannot be had; one line says so."""
    (tmp_path / "blocker").write_text("")
    config = replace(make_config(tmp_path, None), state=tmp_path / "blocker" / "state.sqlite3")
    with pytest.raises(
        ConfigError,
        match=r"blocker/state\.secret: cannot read the signing secret .*or set \$ROUNDUP",
    ):
        signing_secret(config, {}, create=True)
