"""A parse job: one body in, the rows the store writes out, in a worker that stays small."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roundup.parse import parse_feed
from roundup.parse_job import (
    WORKER_CODE,
    FeedRows,
    ParseJob,
    frame,
    parse_job,
    parse_jobs,
    read_frame,
    serve,
)
from roundup.store import FeedUpdate, Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2015, 8, 14, tzinfo=UTC)
RSS = (ROOT / "samples" / "feeds" / "elicitor.rss").read_bytes()
URL = "https://example.org/1.rss"


def test_a_parse_comes_back_as_the_rows_the_store_writes(tmp_path: Path) -> None:
    """The worker sends back the feed's entries as rows, which pickle unchanged and store
    the same entries as the parse itself."""
    parsed = parse_feed(RSS, key="k", url=URL, fetched_at=NOW, name=None)
    rows = parse_job(ParseJob(RSS, "k", URL, NOW, None, None))
    assert isinstance(rows, FeedRows) and rows.meta == parsed.meta
    assert pickle.loads(pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)) == rows
    with Store.open(tmp_path / "a.sqlite3") as a, Store.open(tmp_path / "b.sqlite3") as b:
        a.record_feed(FeedUpdate("k", "k", ok=True, entries=parsed.entries), now=NOW)
        b.record_feed(FeedUpdate("k", "k", ok=True, entries=rows.entries), now=NOW)
        assert b.entries_for("k") == a.entries_for("k") != []


def test_a_batch_keeps_its_order_and_reports_a_bad_body_as_its_reason() -> None:
    jobs = [ParseJob(RSS, "a", URL, NOW, None, None), ParseJob(b"<p>hi", "b", URL, NOW, None, None)]
    first, second = parse_jobs(jobs)
    assert isinstance(first, FeedRows) and first.entries.rows
    assert isinstance(second, str) and second


def test_a_worker_imports_the_parsers_and_not_asyncio() -> None:
    """What a worker process loads to run a batch: asyncio (and the ssl it brings) would
    add 11 MB to every worker."""
    script = (
        "import sys, pickle\n"
        "from roundup.parse_job import parse_jobs, ParseJob\n"
        f"parse_jobs(pickle.loads({pickle.dumps([ParseJob(RSS, 'k', URL, NOW, None, None)])!r}))\n"
        "print(sorted(m for m in ('asyncio', 'ssl', 'sqlite3', 'lxml.etree') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["['lxml.etree',", "'sqlite3']"]


def test_a_worker_answers_each_batch_in_order_and_ends_with_its_stdin() -> None:
    """The worker process itself: two batches in on stdin, two answers out on stdout, and
    it exits when stdin ends. A print by anything it runs lands on stderr."""
    script = (
        "import sys\n"
        "from roundup import parse_job\n"
        "real = parse_job.parse_jobs\n"
        "def noisy(jobs):\n"
        "    print('a library chatting on stdout')\n"
        "    return real(jobs)\n"
        "parse_job.parse_jobs = noisy\n"
        "parse_job.main()\n"
    )
    batches = [
        [ParseJob(RSS, "a", URL, NOW, None, None)],
        [ParseJob(b"<p>", "b", URL, NOW, None, None)],
    ]
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=b"".join(frame(batch) for batch in batches),
        capture_output=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    stream = io.BytesIO(out.stdout)
    first, second = (pickle.loads(read_frame(stream) or b"") for _ in batches)
    assert read_frame(stream) is None
    assert first[0] == "parsed" and isinstance(first[1][0], FeedRows)
    assert second[0] == "parsed" and isinstance(second[1][0], str)
    assert out.stderr.count(b"a library chatting on stdout") == 2


def test_a_bug_goes_back_as_its_traceback() -> None:
    sink = io.BytesIO()
    serve(io.BytesIO(frame([42])), sink)
    kind, text = pickle.loads(read_frame(io.BytesIO(sink.getvalue())) or b"")
    assert kind == "failed" and "AttributeError" in text and "parse_job" in text


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"", None),
        (frame("x"), "x"),
        (frame("x")[:3], EOFError),
        (frame("x")[:-1], EOFError),
    ],
)
def test_read_frame(stream: bytes, expected: object) -> None:
    source = io.BytesIO(stream)
    if expected is EOFError:
        with pytest.raises(EOFError, match="ended inside a frame"):
            read_frame(source)
        return
    payload = read_frame(source)
    assert (payload if payload is None else pickle.loads(payload)) == expected


@pytest.mark.parametrize("cut", [3, 12])
def test_a_worker_whose_parent_goes_mid_frame_exits_quietly(cut: int) -> None:
    batch = frame([ParseJob(RSS, "a", URL, NOW, None, None)])
    out = subprocess.run(
        [sys.executable, "-c", WORKER_CODE],
        input=batch[:cut],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, b"", b"")
