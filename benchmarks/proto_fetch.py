"""Prototype, not roundup code: ``roundup fetch`` with one of the changes the benchmarks weigh.

    .venv/bin/python -m benchmarks.proto_fetch CONFIG [--inline] [--batch] [--sync-normal]

It runs roundup's own ``roundup.pipeline.fetch_feeds`` and changes only what is asked:

* ``--inline``      parse in this process (roundup's ``InlineExecutor``) instead of the
                    process pool: the baseline that shows what the pool gains.
* ``--batch``       record every 304 / unchanged feed (an update without entries) in one
                    transaction at the end of the run, instead of one transaction, and one
                    commit, per feed.
* ``--sync-normal`` ``PRAGMA synchronous=NORMAL``: safe with WAL (a power cut loses at most
                    the last commits, never corrupts the file) and no fsync on every commit.
* ``--shard``       one small httpx client per host (at most ``per_host`` connections each)
                    instead of one client with ``concurrency`` connections: httpcore scans
                    every connection of its pool on each request and response, so one big
                    pool costs O(requests x connections) of event-loop time.
* ``--switch MS``   ``sys.setswitchinterval``: every ``executor.submit`` wakes the pool's
                    manager thread, and the event loop then waits up to the switch interval
                    (5 ms by default) to get the GIL back.
* ``--drain``       store each parsed feed as soon as its parse finishes (checked whenever a
                    download completes), instead of keeping every parse result until all
                    downloads are done: memory stays bounded by the feeds in flight, and
                    storing overlaps the network. A copy of ``pipeline.fetch_feeds`` with
                    that one change.

Exit code 0, or 3 when some feed failed, as ``roundup fetch --quiet``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proto_fetch")
    parser.add_argument("config", type=Path)
    parser.add_argument("--inline", action="store_true")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--sync-normal", action="store_true")
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--shard", action="store_true")
    parser.add_argument("--switch", type=float, metavar="MS")
    args = parser.parse_args(argv)
    if args.switch:
        sys.setswitchinterval(args.switch / 1000)
    if args.shard:
        import roundup.fetch

        roundup.fetch.__dict__["_original_client"] = roundup.fetch._client
        roundup.fetch._client = _ShardedClient  # type: ignore[assignment]

    from roundup import pipeline
    from roundup.config import load_config
    from roundup.store import Store, locked

    if args.inline:
        from roundup._parallel import InlineExecutor

        pipeline.parse_executor = lambda feeds: InlineExecutor()  # type: ignore[assignment]

    config = load_config(args.config)
    with locked(config.state), Store.open(config.state) as store:
        if args.sync_normal:
            store.db.execute("PRAGMA synchronous=NORMAL")
        fetch_feeds = _fetch_feeds_draining if args.drain else pipeline.fetch_feeds
        with _batched(store, enabled=args.batch):
            report = fetch_feeds(config, store, now=datetime.now(UTC))
    for feed in report.failed[:10]:
        print(f"{feed.key}: {feed.error}", file=sys.stderr)
    return 3 if report.failed else 0


def _fetch_feeds_draining(config: Any, store: Any, *, now: datetime) -> Any:
    """``roundup.pipeline.fetch_feeds``, storing each parse result as soon as it is ready."""
    from concurrent.futures import Future, as_completed

    from roundup import pipeline

    states = store.feed_states()
    feeds = {feed.key: feed for feed in config.enabled_feeds}
    gone = [key for key in feeds if (s := states.get(key)) is not None and s.gone]
    requests = [
        pipeline._request(feed, states.get(feed.key))
        for key, feed in feeds.items()
        if key not in gone
    ]
    reports = [pipeline._gone_report(feeds[key], states[key]) for key in gone]
    parsing: dict[Future[Any], Any] = {}

    def finish(result: Any, parsed: Any) -> None:
        feed = feeds[result.key]
        reports.append(pipeline._record(result, feed, states.get(feed.key), store, now, parsed))

    def drain() -> None:
        for job in [job for job in parsing if job.done()]:
            finish(parsing.pop(job), job.result())

    with pipeline.parse_executor(len(requests)) as executor:

        def on_result(result: Any) -> None:
            if result.status != "fetched" or result.body is None:
                finish(result, None)
            else:
                feed = feeds[result.key]
                url = result.moved_to or result.url
                job = executor.submit(
                    pipeline.parse_job,
                    result.body,
                    feed.key,
                    url,
                    now,
                    feed.name,
                    result.content_type,
                )
                parsing[job] = pipeline._without_body(result)
            drain()

        pipeline.fetch_many(requests, config.fetch, on_result=on_result)
        for job in as_completed(list(parsing)):
            finish(parsing.pop(job), job.result())
    order = {key: index for index, key in enumerate(feeds)}
    return pipeline.FetchReport(tuple(sorted(reports, key=lambda r: order[r.key])))


class _ShardedClient:
    """Stands in for roundup.fetch's one httpx.AsyncClient: one client per host."""

    def __init__(self, settings: Any, transport: Any) -> None:
        import httpx

        import roundup.fetch

        # roundup's own client settings, taken once; its SSL context is shared by every
        # shard (building one reads the whole CA bundle: about 20 ms)
        self.template = roundup.fetch.__dict__["_original_client"](settings, transport)
        self.ssl = httpx.create_ssl_context()
        self.per_host = settings.per_host
        self.transport = transport
        self.clients: dict[str, Any] = {}

    def stream(self, method: str, url: str, **kwargs: Any) -> Any:
        import httpx

        host = httpx.URL(url).netloc.decode("ascii")
        client = self.clients.get(host)
        if client is None:
            client = self.clients[host] = httpx.AsyncClient(
                transport=self.transport,
                verify=self.ssl,
                timeout=self.template.timeout,
                limits=httpx.Limits(max_connections=self.per_host),
                headers=self.template.headers,
                follow_redirects=False,
            )
        return client.stream(method, url, **kwargs)

    async def __aenter__(self) -> _ShardedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients.values():
            await client.aclose()


@contextlib.contextmanager
def _batched(store: Any, *, enabled: bool) -> Iterator[None]:
    """Queue the updates that carry no entries; write them all in one transaction at the end."""
    if not enabled:
        yield
        return
    record = store.record_feed
    queued: list[tuple[Any, datetime]] = []

    def record_feed(update: Any, *, now: datetime) -> int:
        if update.ok and update.entries is None:
            queued.append((update, now))
            return 0
        result: int = record(update, now=now)
        return result

    store.record_feed = record_feed
    try:
        yield
    finally:
        del store.record_feed
    if queued:
        with store.transaction():
            store.transaction = contextlib.nullcontext  # record_feed's own: already inside one
            try:
                for update, now in queued:
                    record(update, now=now)
            finally:
                del store.transaction


if __name__ == "__main__":
    sys.exit(main())
