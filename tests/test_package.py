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


def _declared_dependencies() -> set[str]:
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = (re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0] for spec in project["dependencies"])
    return {name.lower().replace("_", "-").replace(".", "-") for name in names}


def _imported_top_level_modules() -> set[str]:
    import ast

    found: set[str] = set()
    for path in (ROOT / "roundup").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"roundup"}


def test_every_imported_package_is_declared() -> None:
    """Each third-party module the package imports comes from a declared dependency."""
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    declared = _declared_dependencies()
    modules = _imported_top_level_modules()
    assert "lxml" in modules  # the walk sees real imports
    undeclared = sorted(
        module
        for module in modules
        if not {d.lower().replace("_", "-").replace(".", "-") for d in owners.get(module, [])}
        & declared
    )
    assert undeclared == []


def test_licence_metadata_matches_the_licence_file() -> None:
    """pyproject's licence is the one LICENSE grants, and no file carries another's notice."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    notices = [
        path.name
        for path in (ROOT / "roundup").rglob("*.py")
        if "Redistribution and use in source and binary forms" in path.read_text(encoding="utf-8")
    ]
    assert notices == []
