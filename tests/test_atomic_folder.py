"""Replacing a folder whole: readers see the old site or the new one, never half of one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from roundup.atomic import replace_folder


def write(files: dict[str, str]) -> object:
    def fill(new: Path) -> None:
        for name, text in files.items():
            (new / name).parent.mkdir(parents=True, exist_ok=True)
            (new / name).write_text(text)

    return fill


def listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_a_new_folder_is_created(tmp_path: Path) -> None:
    replace_folder(tmp_path / "site", write({"index.html": "1", "a/index.html": "a"}))  # type: ignore[arg-type]
    assert listing(tmp_path / "site") == {"index.html": "1", "a/index.html": "a"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_the_old_folder_stays_whole_until_the_swap(tmp_path: Path) -> None:
    """While the new folder is written the old one is untouched; after, only the new is."""
    site = tmp_path / "site"
    replace_folder(site, write({"index.html": "old", "stale.html": "old"}))  # type: ignore[arg-type]
    seen: list[dict[str, str]] = []

    def fill(new: Path) -> None:
        (new / "index.html").write_text("new")
        seen.append(listing(site))  # what a reader sees mid-way

    replace_folder(site, fill)
    assert seen == [{"index.html": "old", "stale.html": "old"}]
    assert listing(site) == {"index.html": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_failed_fill_leaves_the_old_folder_and_no_leftovers(tmp_path: Path) -> None:
    site = tmp_path / "site"
    replace_folder(site, write({"index.html": "old"}))  # type: ignore[arg-type]

    def fill(new: Path) -> None:
        (new / "index.html").write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        replace_folder(site, fill)
    assert listing(site) == {"index.html": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_web_server_never_misses_a_page(tmp_path: Path) -> None:
    """A reader opening pages by path (as a web server does) during 30 replacements always
    finds each one whole: the path is never missing or half-filled (Linux swaps it in one
    step, so there is not even a moment without it)."""
    site = tmp_path / "site"
    names = [f"page{n:02}.html" for n in range(20)]
    replace_folder(site, write(dict.fromkeys(names, "x" * 5000)))  # type: ignore[arg-type]
    stop = threading.Event()
    bad: list[str] = []
    reads = 0

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            for name in names:
                try:
                    text = (site / name).read_text()
                except OSError as exc:
                    bad.append(f"{name}: {exc}")
                    continue
                reads += 1
                if len(text) != 5000:
                    bad.append(f"{name}: {len(text)} characters")

    reader = threading.Thread(target=read)
    reader.start()
    for version in range(30):
        text = "abcdefghijklmnopqrstuvwxyz0123"[version] * 5000
        replace_folder(site, write(dict.fromkeys(names, text)))  # type: ignore[arg-type]
    stop.set()
    reader.join()
    assert bad == [] and reads > 0
    assert set(listing(site).values()) == {"3" * 5000}
