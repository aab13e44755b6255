"""Run the benchmarks from the project root.

    .venv/bin/python -m benchmarks [NAME ...|all] [--quick]


Each benchmark prints a table and writes ``benchmarks/results/<name>.json``; at the end
``benchmarks/results/latest.md`` gathers every saved result as Markdown for the README
(``-quick`` suffixed files in quick mode, so a smoke run never overwrites real figures).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import CORPORA, ROOT, Options, machine, write_latest

BENCHMARKS = ("startup", "yaml", "parse", "build", "fetch", "scale", "onehost", "idle", "store")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="roundup's benchmarks (run from the project root; never part of the tests).",
    )
    parser.add_argument(
        "names",
        nargs="*",
        default=["all"],
        metavar="NAME",
        help=f"which to run: {', '.join(BENCHMARKS)} or all (default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one run each: a smoke test"
    )
    parser.add_argument(
        "--repeat", type=int, help="timed runs per figure (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPORA, help=f"folder of real feeds (default {CORPORA})"
    )
    parser.add_argument(
        "--feeds", type=int, help="fetch: number of feeds (default 300; 30 with --quick)"
    )
    parser.add_argument("--latency", type=float, help="fetch/scale: seconds per request")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args(argv)

    names = list(BENCHMARKS) if "all" in args.names else args.names
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}, all"
        )
    options = Options(
        quick=args.quick,
        repeat=args.repeat or (1 if args.quick else 3),
        corpus=args.corpus.resolve(),
        keep=args.keep,
        extra={"feeds": args.feeds, "latency": args.latency},
    )
    info = machine()
    print(
        f"roundup benchmarks in {ROOT}: {info['cpu']}, {info['cores']} cores,"
        f" Python {info['python']},"
        f" load {info['load_avg_at_start']:.2f}, {options.repeat} run(s) per figure"
        + (" [quick]" if options.quick else "")
    )
    failed = []
    for name in names:
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        try:
            result = module.run(options)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        result.params["benchmark_seconds"] = round(time.perf_counter() - started, 1)
        result.show()
        print(f"  -> {result.save(options).relative_to(ROOT)}")
    latest = write_latest(quick=options.quick)
    print(f"\nMarkdown for the README: {latest.relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
