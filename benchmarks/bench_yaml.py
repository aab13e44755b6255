"""yaml: reading feeds.yaml, and reading and writing draft.yaml, beside ruamel's round trip.

In-process, on synthetic files made here (seeded):

* ``feeds.yaml`` with 3,000 feeds, twice: the plain layout of :func:`benchmarks.common.feeds_yaml`
  (a ``url`` per feed, as in the issue that set the target), and a fuller one (name,
  section, options, end-of-line comments). roundup's figure is ``parse_config``: libyaml's
  events, the values built with line marks, and the whole validation. The reference is
  ruamel.yaml's round-trip loader alone (``YAML(typ="rt").load``, no validation), which is
  what roundup used before.
* ``draft.yaml`` with 1,000 items: ``parse_draft`` (read and validate) beside the round-trip
  loader, and ``dump_draft`` beside ruamel's round-trip dumper writing the same layout
  (comment header, flow ``window`` and ``also_via``, ``|`` blocks), whose bytes it matches.
* An alias bomb (9**9 strings if expanded): how long roundup takes to refuse it. ruamel is
  not run on it (it would take gigabytes).

Every figure is the median of ``--repeat`` timed runs after one untimed run.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import Options, Result, feeds_yaml, median, ratio

FEEDS = 3000
ITEMS = 1000
FEEDS_TARGET_MS = 100.0
# The deleted hand-written draft.yaml writer and reader (roundup/draft_yaml.py), on this
# benchmark's draft, measured on this machine just before they were deleted (fastest of 40
# runs): the new code should be about as fast, which is taken as within twice the time.
FAST_PATH_MS = {"write": 28.0, "read": 100.0}
TEXT = (
    "news policy report climate market city review the of and a to in on for week election "
    "budget court science data health school river energy café naïve — Ukraine's 2025 #1 "
    "analysis 🎉 yes no"
)
WORDS = TEXT.split()


def run(options: Options) -> Result:
    feeds = 300 if options.quick else FEEDS
    items = 100 if options.quick else ITEMS
    result = Result(
        "yaml",
        "feeds.yaml and draft.yaml: roundup (libyaml) beside ruamel.yaml's round trip",
        ["file", "operation", "size_kb", "roundup_ms", "reference_ms", "speedup", "same"],
        params={"feeds": feeds, "draft_items": items, "repeat": options.repeat},
    )
    folder = Path(tempfile.mkdtemp(prefix="roundup-bench-yaml-"))
    plain = feeds_yaml([f"https://h{i % 50}.example/{i}.xml" for i in range(feeds)], folder)
    fuller = folder / "fuller.yaml"
    fuller.write_text(_fuller_feeds(feeds), encoding="utf-8")
    for label, path in (
        (f"feeds.yaml, {feeds} urls", plain),
        (f"feeds.yaml, {feeds} full", fuller),
    ):
        result.rows.append(_read_feeds(label, path, options))
    draft = _draft(items)
    result.rows += _draft_rows(draft, folder / "draft.yaml", options)
    result.rows.append(_bomb(options))

    plain_row = result.rows[0]
    result.target(
        f"{feeds}-feed feeds.yaml (urls) loaded < {FEEDS_TARGET_MS:g} ms",
        f"{plain_row['roundup_ms']:.1f} ms",
        plain_row["roundup_ms"] < FEEDS_TARGET_MS if not options.quick else None,
    )
    result.target(
        f"{feeds}-feed feeds.yaml (full) loaded < {FEEDS_TARGET_MS:g} ms",
        f"{result.rows[1]['roundup_ms']:.1f} ms",
        result.rows[1]["roundup_ms"] < FEEDS_TARGET_MS if not options.quick else None,
    )
    for row in result.rows[2:4]:
        before = FAST_PATH_MS[row["operation"]]
        result.target(
            f"{items}-item draft.yaml {row['operation']} within 2x the deleted fast path "
            f"({before:g} ms)",
            f"{row['roundup_ms']:.1f} ms",
            row["roundup_ms"] < 2 * before if not options.quick else None,
        )
    result.notes.append(
        "reference = ruamel.yaml round trip (typ='rt', pure Python), without roundup's "
        "validation; roundup's figures include it"
    )
    result.notes.append("in-process timings on a shared 2-core machine: noisy, see --repeat")
    return result


def _timed(function: Callable[[], Any], repeat: int) -> float:
    """Milliseconds: the median of ``repeat`` runs, after one untimed run."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def _row(
    file: str, operation: str, size: int, mine: float, reference: float | None, same: Any
) -> dict[str, Any]:
    return {
        "file": file,
        "operation": operation,
        "size_kb": round(size / 1024),
        "roundup_ms": mine,
        "reference_ms": reference,
        "speedup": ratio(reference, mine) if reference is not None else None,
        "same": same,
    }


def _read_feeds(label: str, path: Path, options: Options) -> dict[str, Any]:
    from ruamel.yaml import YAML

    from roundup.config import parse_config

    text = path.read_text(encoding="utf-8")
    mine = _timed(lambda: parse_config(text, path), options.repeat)
    reference = _timed(lambda: YAML(typ="rt").load(text), options.repeat)
    config = parse_config(text, path)
    urls = [feed["url"] for feed in YAML(typ="rt").load(text)["feeds"]]
    return _row(
        label, "read", len(text.encode()), mine, reference, [f.url for f in config.feeds] == urls
    )


def _draft_rows(draft: Any, path: Path, options: Options) -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    from roundup.draft_file import dump_draft, parse_draft

    text = dump_draft(draft)
    size = len(text.encode())
    label = f"draft.yaml, {len(draft.items)} items"
    write = _timed(lambda: dump_draft(draft), options.repeat)
    write_reference = _timed(lambda: _ruamel_dump(draft), options.repeat)
    read = _timed(lambda: parse_draft(text, path), options.repeat)
    read_reference = _timed(lambda: YAML(typ="rt").load(text), options.repeat)
    return [
        _row(label, "write", size, write, write_reference, text == _ruamel_dump(draft)),
        _row(label, "read", size, read, read_reference, parse_draft(text, path) == draft),
    ]


def _bomb(options: Options) -> dict[str, Any]:
    from roundup.config import parse_config
    from roundup.errors import ConfigError

    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    text = "\n".join(lines) + "\n"

    def refuse() -> str:
        try:
            parse_config(text, Path("bomb.yaml"))
        except ConfigError as exc:
            return str(exc)
        return "accepted"

    refused = refuse().startswith("bomb.yaml:1: anchor &a0:")
    return _row(
        "alias bomb (9**9 strings)",
        "refuse",
        len(text),
        _timed(refuse, options.repeat),
        None,
        refused,
    )


# --- the files -----------------------------------------------------------------------------------


def _sentence(rnd: random.Random, words: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(words))


def _fuller_feeds(count: int) -> str:
    """feeds.yaml with a name, a section and sometimes options per feed, and comments."""
    rnd = random.Random(3)
    sections = ["News", "Analysis", "Regional", "Science", "Culture"]
    lines = [
        "# a large feeds.yaml",
        "newsletter:",
        "  title: Benchmark Weekly",
        "  url: https://bench.invalid/",
        "  timezone: Europe/Paris",
        "  week_ends: friday",
        "  language: en",
        '  from: "Bench <bench@example.org>"',
        "sections:",
    ]
    lines += [f"  - name: {name}\n    description: {_sentence(rnd, 4)}" for name in sections]
    lines.append("feeds:")
    for index in range(count):
        lines.append(f"  - url: https://host{index % 300}.example.org/feeds/{index}.xml  # {index}")
        lines.append(f"    name: {json.dumps(_sentence(rnd, 3), ensure_ascii=False)}")
        lines.append(f"    section: {sections[index % len(sections)]}")
        if index % 7 == 0:
            lines.append("    max_items: 5")
        if index % 11 == 0:
            lines.append("    include: [climate, energy]")
        if index % 13 == 0:
            lines.append("    enabled: false")
    return "\n".join(lines) + "\n"


def _draft(count: int) -> Any:
    """A draft of ``count`` items in four sections, with notes, images and also_via."""
    from roundup.models import Draft, DraftItem, DraftSection

    rnd = random.Random(5)
    tz = timezone(timedelta(hours=2))
    sections = []
    number = 0
    for name in ("News", "Analysis", "Regional", "Science"):
        items = []
        for _ in range(count // 4):
            number += 1
            site = f"https://site{number % 97}.example.org"
            items.append(
                DraftItem(
                    key=f"{site}/2025/06/story-{number}",
                    title=_sentence(rnd, 8),
                    link=f"{site}/2025/06/story-{number}?utm_source=rss",
                    source=f"Site {number % 97}",
                    published=datetime(2025, 6, 3, 9, number % 60, tzinfo=tz),
                    excerpt=_sentence(rnd, 40),
                    note=f"{_sentence(rnd, 10)}\n\n{_sentence(rnd, 6)}" if number % 5 == 0 else "",
                    image=f"{site}/img/{number}.jpg" if number % 2 else None,
                    also_via=(f"Other {number % 7}", "Third: blog") if number % 9 == 0 else (),
                    new=number % 4 == 0,
                )
            )
        sections.append(DraftSection(name, _sentence(rnd, 5), tuple(items)))
    return Draft(
        week="2025-W23",
        number=120,
        subject="Benchmark Weekly: June 6, 2025",
        preheader=_sentence(rnd, 12),
        intro="Hello *readers*.\n\nA long week.\n",
        sections=tuple(sections),
        window_start=datetime(2025, 5, 31, tzinfo=tz),
        window_end=datetime(2025, 6, 7, tzinfo=tz),
        known=tuple(item.key for section in sections for item in section.items),
    )


def _ruamel_dump(draft: Any) -> str:
    """The draft written by ruamel.yaml's round-trip dumper in roundup's layout (what
    roundup did before), for the reference timing and the byte comparison."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    from roundup.draft_file import HEADER, KNOWN_COMMENT

    def text(value: str) -> str:
        return LiteralScalarString(value) if "\n" in value else value

    def flow(node: Any) -> Any:
        node.fa.set_flow_style()
        return node

    def item_node(item: Any) -> CommentedMap:
        node = CommentedMap()
        node["title"] = text(item.title)
        node["link"] = item.link
        node["source"] = text(item.source)
        if item.published is not None:
            node["date"] = item.published.isoformat()
        node["excerpt"] = text(item.excerpt)
        node["note"] = text(item.note)
        if item.image:
            node["image"] = item.image
        if item.also_via:
            node["also_via"] = flow(CommentedSeq(item.also_via))
        if item.new:
            node["new"] = True
        node["key"] = item.key
        return node

    top = CommentedMap()
    top["week"] = draft.week
    top["number"] = draft.number
    window = {"start": draft.window_start.isoformat(), "end": draft.window_end.isoformat()}
    top["window"] = flow(CommentedMap(window))
    for key in ("subject", "preheader", "intro"):
        top[key] = text(getattr(draft, key))
    top["sections"] = CommentedSeq(
        CommentedMap(
            name=text(section.name),
            description=text(section.description),
            items=CommentedSeq(item_node(item) for item in section.items),
        )
        for section in draft.sections
    )
    top["known"] = CommentedSeq(draft.known)
    top.yaml_set_start_comment(HEADER.format(week=draft.week))
    top.yaml_add_eol_comment(KNOWN_COMMENT, "known")
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 1 << 20
    out = io.StringIO()
    yaml.dump(top, out)
    return out.getvalue()
