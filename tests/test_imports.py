"""The package's import graph: no private names cross modules, no façades, no cycles.

Rules 17 and 17c of the house style: a name two modules need is public and lives in the
module whose concept it is; a module never re-exports another's names; the import graph
has no cycle, not even one hidden behind ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "roundup"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every roundup import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "roundup":
                for alias in node.names:
                    yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "roundup":
                    yield alias.name, None, node.lineno


def target(module: str, name: str | None) -> str:
    """The module an import refers to: ``from roundup import pipeline`` is roundup.pipeline."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def test_the_walk_sees_the_package() -> None:
    """The walk finds the modules it is meant to police (a guard against a vacuous pass)."""
    assert {"roundup.pipeline", "roundup.mailer", "roundup.desk.app"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_crosses_modules(name: str) -> None:
    """No module imports another module's ``_name``, nor a private module."""
    offences = [
        f"{MODULES[name].name}:{line}: {module}.{imported}"
        for module, imported, line in imports(MODULES[name])
        if ((imported or "").startswith("_") and not (imported or "").endswith("__"))
        or any(part.startswith("_") and part != "__init__" for part in module.split("."))
    ]
    assert offences == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_reexport_facades(name: str) -> None:
    """``from x import y as y`` and ``__all__`` lists of imported names are re-exports.

    A package's ``__init__`` is the one documented place that re-exports its public API.
    """
    if MODULES[name].name == "__init__.py":
        return
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    redundant_aliases = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    ]
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = [ast.literal_eval(element) for element in node.value.elts]  # type: ignore[attr-defined]
    assert redundant_aliases == []
    assert [n for n in exported if n in imported] == []


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, imported, _line in imports(path):
            found = target(module, imported)
            if found in MODULES and found != name:
                edges[name].add(found)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk, each once, as the path that closes it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    """The finder itself works: a known three-module loop is reported."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles() -> None:
    """Counting imports inside functions and under TYPE_CHECKING; the package's ``__init__``
    (which only names the public API) is left out, as every module is inside it."""
    edges = {name: targets - {"roundup"} for name, targets in graph().items() if name != "roundup"}
    assert cycles(edges) == []


def test_only_the_orchestrator_opens_the_store_and_the_lock() -> None:
    """``Store.open`` and ``locked(`` appear in pipeline.py and nowhere else in the package
    (store.py and lock.py define them)."""
    users = sorted(
        name
        for name, path in MODULES.items()
        if name not in {"roundup.pipeline", "roundup.store", "roundup.lock"}
        and ("Store.open(" in (text := path.read_text(encoding="utf-8")) or "locked(" in text)
    )
    assert users == []


def third_party_private_uses(path: Path) -> list[str]:
    """``lib._name`` attribute uses where ``lib`` is an imported third-party module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    libraries: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            libraries.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            libraries.update(a.asname or a.name for a in node.names)
    libraries -= {"roundup", *sys.stdlib_module_names}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
            continue
        if node.attr.startswith("__") and node.attr.endswith("__"):
            continue
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in libraries:
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_of_other_libraries(name: str) -> None:
    """No ``lxml.etree._Element``, ``yaml._something`` and the like: they change unannounced."""
    assert third_party_private_uses(MODULES[name]) == []


def test_private_use_finder_finds_one(tmp_path: Path) -> None:
    """The finder itself works on a known offence, and ignores dunders and our own names."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import lxml.etree\nimport roundup\nx: lxml.etree._Element\ny = lxml.__version__\n"
        "z = roundup._EXPORTS\n",
        encoding="utf-8",
    )
    assert third_party_private_uses(sample) == ["sample.py:3: lxml.etree._Element"]
