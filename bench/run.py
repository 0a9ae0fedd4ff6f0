"""Benchmark orchestrator: runs the clients against the local API and writes RESULTS.md.

Sections (``--sections``, all by default):

- throughput: raw, fetcher (Parquet+CSV), fetcher-parquet and dlt against one
  server, interleaved (the order rotates each round), median of ``--rounds``; with
  ``--profile``, one more fetcher run sampled by py-spy, its top functions in the report;
- latency: ``--latency-pages`` pages of ``--latency-page-size`` from a server waiting
  ``--latency-delay-ms`` per request: raw (sequential), the fetcher at its default
  concurrency and at each of ``--latency-concurrency``, and dlt; interleaved, median of ``--rounds``;
- many-sources: ``--many-sources`` sources of ``--many-pages`` pages of ``--many-page-size``,
  due at once, run as the container's crontab line runs them (one job process) and by one
  process in turn; wall and the process tree's peak RSS, median of ``--rounds``;
- memory: peak RSS of fetcher runs at each of ``--memory-records`` (``--memory-rounds`` each);
- coldstart: ``python -m fetcher --help`` and a 1-page run, median of ``--coldstart-runs``;
- image: our image against ``bench/naive.Dockerfile``, in size and code-only rebuild time
  (needs a Docker engine: ``../shared/docker/ensure-docker``).

Each section also checks the issue's targets; the report opens with them, met or missed.
If any is missed, the report ends with bench/MISSES.md, the measured explanation.

Every client runs as a child process; its wall time is taken around the child and
its peak RSS is the ``ru_maxrss`` that ``os.wait4`` reports for that child alone (the
many-sources section sums its whole process tree's instead).
Every run's record count is checked against what the server served, and its
output is deleted before the next run::

    python bench/run.py --records 1000000 --page-size 1000 --rounds 3 \\
        --clients raw,dlt,fetcher,fetcher-parquet --out bench/RESULTS.md

The raw client, the dlt client and the row counter run under bench/.venv-dlt (see
Makefile), so they need nothing from the project's environment; the fetcher and the
server run under the interpreter running this script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clients
import processes
import report
import sections
from harness import Bench, log


def _csv_list(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    return lambda text: [kind(item) for item in text.split(",") if item]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    known_clients, known_sections = ",".join(clients.CLIENTS), ",".join(sections.SECTIONS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records served for throughput")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per client (median reported)")
    parser.add_argument("--clients", type=_csv_list(str), default=list(clients.CLIENTS), help=known_clients)
    parser.add_argument(
        "--sections", type=_csv_list(str), default=list(sections.SECTIONS), help=known_sections
    )
    parser.add_argument("--memory-records", type=_csv_list(int), default=[100_000, 2_000_000])
    parser.add_argument("--memory-rounds", type=int, default=1, help="fetcher runs per memory size")
    parser.add_argument("--coldstart-runs", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="sample one fetcher run with py-spy")
    parser.add_argument("--latency-pages", type=int, default=200)
    parser.add_argument("--latency-page-size", type=int, default=1000)
    parser.add_argument("--latency-delay-ms", type=int, default=50)
    parser.add_argument(
        "--latency-concurrency",
        type=_csv_list(int),
        default=[1, 8],
        help="fetcher rows with `concurrency = N` besides its default (skipped if it has no such key)",
    )
    parser.add_argument("--many-sources", type=int, default=50)
    parser.add_argument("--many-pages", type=int, default=5)
    parser.add_argument("--many-page-size", type=int, default=100)
    parser.add_argument("--out", type=Path, default=processes.BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)
    if not args.clients or not args.sections or not args.memory_records:
        parser.error("--clients, --sections and --memory-records each need at least one value")
    positive = ("rounds", "memory_rounds", "coldstart_runs", "records", "page_size", "latency_pages")
    positive += ("latency_page_size", "latency_delay_ms", "many_sources", "many_pages", "many_page_size")
    for option in positive:
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if any(n < 1 for n in args.latency_concurrency):
        parser.error("--latency-concurrency values must be at least 1")
    for name in args.clients:
        if name not in clients.CLIENTS:
            parser.error(f"unknown client {name!r}; choose from {known_clients}")
    for name in args.sections:
        if name not in sections.SECTIONS:
            parser.error(f"unknown section {name!r}; choose from {known_sections}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not clients.VENV_PYTHON.exists():
        log(f"{clients.VENV_PYTHON} is missing: run `make -C bench venv` first")
        return 2
    started, start = datetime.now(UTC), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fetcher-bench-") as scratch:
        bench = Bench(args, Path(scratch))
        try:
            rendered = [sections.SECTIONS[name](bench) for name in args.sections]
        except processes.BenchError as error:
            log(f"benchmark failed: {error}")
            return 1
        except KeyboardInterrupt:
            log("interrupted; every child process has been stopped")
            return 130
    elapsed_s = time.perf_counter() - start
    misses = processes.BENCH_DIR / "MISSES.md"
    explanation = misses.read_text() if misses.exists() else ""
    args.out.write_text(
        report.render_report(bench.notes, bench.checks, rendered, started, elapsed_s, explanation)
    )
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
