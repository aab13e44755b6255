"""The package as users get it: the public API and the built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import roundup

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_every_name_resolves() -> None:
    """__all__ is sorted (isort style), and each public name imports to a real object."""
    assert roundup.__all__ == sorted(roundup.__all__)
    for name in roundup.__all__:
        assert getattr(roundup, name) is not None, name


def test_errors_share_one_base() -> None:
    """Every public exception derives from RoundupError."""
    errors = [getattr(roundup, n) for n in roundup.__all__ if n.endswith(("Error", "Locked"))]
    assert errors and all(issubclass(e, roundup.RoundupError) for e in errors)


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A typo in a public name fails like any module attribute."""
    with pytest.raises(AttributeError, match="no attribute 'fetch_feed'"):
        roundup.fetch_feed  # noqa: B018


def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    """The built wheel carries the default theme and the desk's templates."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("roundup-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    theme = {p.name for p in (ROOT / "templates").iterdir()}
    assert {f"roundup/templates/{name}" for name in theme} <= names
    assert "roundup/desk/templates/desk.html" in names
    assert "roundup/cli.py" in names


def test_all_lists_exactly_the_lazy_exports() -> None:
    """__all__ and the lazy-import table name the same things."""
    assert set(roundup.__all__) == set(roundup._EXPORTS)


def test_make_entry_defaults_and_changes() -> None:
    """roundup.testing.make_entry gives a valid entry and takes any field as a change."""
    from roundup.testing import make_entry

    entry = make_entry(title="Minsk, six months on", dated=False)
    assert (entry.title, entry.dated, entry.link) == (
        "Minsk, six months on",
        False,
        "https://example.org/story",
    )
    assert entry.published.tzinfo is not None
