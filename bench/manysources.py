"""The many-sources section: sources due at the same minute, run the way the container's cron runs them.

The container's crontab has one line per schedule, ``run-job --schedule EXPR``, and run-job execs
``python -m fetcher.fetch_data --schedule EXPR``: one process runs every source due at EXPR,
``max_parallel_sources`` at a time (fetcher/ops/container.py, fetcher/ops/job.py). Here that
command runs on the host, from the checkout, with FETCHER_CONFIG naming a config of
``--many-sources`` small sources and FETCHER_STATUS_DIR set as the image sets it. It is measured
against one ``fetcher run`` process running the same sources in turn (max_parallel_sources = 1).

Peak RSS is that of the whole process tree: a thread samples /proc every 20 ms and sums the RSS
of the child and every descendant (``processes.run_child(tree=True)``), so a job that forked per
source would be counted in full, where ``ru_maxrss`` covers only its largest process. The
child's own ``ru_maxrss`` (from os.wait4) is a floor for the sampled figure.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import clients
import processes
import report
from harness import Bench, log, rotated

SCHEDULE = "0 * * * *"
FORMATS = ("parquet", "csv")
MIB_TO_MB = 1.048576


@dataclass(frozen=True)
class _Way:
    """One way of running the sources: its label, its command, and the config keys it adds."""

    name: str
    label: str
    command: Callable[[Path], list[str]]
    top_level: str


_WAYS = (
    _Way(
        "job",
        f"the job: `python -m fetcher.fetch_data --schedule '{SCHEDULE}'`, as run-job runs it "
        "(max_parallel_sources at its default)",
        lambda config: [sys.executable, "-m", "fetcher.fetch_data", "--schedule", SCHEDULE],
        "",
    ),
    _Way(
        "in-turn",
        "one process in turn: `fetcher run`, max_parallel_sources = 1",
        lambda config: clients.fetcher_command(config),
        "max_parallel_sources = 1\n",
    ),
)


def many_sources_section(bench: Bench) -> str:
    """The job against one process in turn, interleaved, median of --rounds each."""
    args = bench.args
    count, pages, size = args.many_sources, args.many_pages, args.many_page_size
    runs: dict[str, list[processes.Finished]] = {way.name: [] for way in _WAYS}
    with processes.api_server(pages * size, size, bench.scratch) as url:
        for round_no in range(args.rounds):
            log(f"many sources round {round_no + 1}/{args.rounds}")
            for way in rotated(_WAYS, round_no):
                runs[way.name].append(_run(bench, way, url))
    job, in_turn = (_Summary.of(runs[way.name]) for way in _WAYS)
    bench.checks.append(
        report.Check(
            f"{count} sources on one schedule: total peak RSS of the job's process tree",
            job.tree_rss_mib * MIB_TO_MB,
            300,
            " MB",
            cause=f"the job's {job.processes} process(es) peaked at {job.tree_rss_mib:.0f} MiB together; "
            f"its largest process alone at {job.own_rss_mib:.0f} MiB; one process running the sources "
            f"in turn peaked at {in_turn.tree_rss_mib:.0f} MiB",
        )
    )
    bench.checks.append(
        report.Check(
            f"{count} sources on one schedule: wall / one process running them in turn",
            job.wall_s / in_turn.wall_s,
            2,
            "x",
            cause=f"the job took {job.wall_s:.2f} s, one process in turn {in_turn.wall_s:.2f} s",
        )
    )
    rows = [
        f"| {way.label} | {summary.wall_s:.2f} | {summary.wall_min_s:.2f}-{summary.wall_max_s:.2f} | "
        f"{summary.tree_rss_mib:.1f} | {summary.processes} | {summary.own_rss_mib:.1f} |"
        for way, summary in zip(_WAYS, (job, in_turn), strict=True)
    ]
    return (
        f"## Many sources\n\n{count} sources due at the same minute, each {pages} pages of {size} records "
        f"({count * pages * size:,} records in all), Parquet + CSV, run as the container's crontab line "
        f"runs them and as one process running them in turn; interleaved, median of {args.rounds} rounds. "
        "Peak RSS is the whole process tree's, summed from /proc every 20 ms (shared pages count once "
        "per process).\n\n"
        "| how | wall (s) | wall min-max (s) | tree peak RSS (MiB) | processes | largest process "
        "ru_maxrss (MiB) |\n|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"The job took {job.wall_s / in_turn.wall_s:.2f}x the wall and "
        f"{job.tree_rss_mib / in_turn.tree_rss_mib:.2f}x the peak RSS of one process in turn.\n"
    )


def _run(bench: Bench, way: _Way, url: str) -> processes.Finished:
    """One run of every source, in a fresh work dir; checks every source landed every record."""
    args = bench.args
    work_dir = bench.work_dir(way.name)
    try:
        config = work_dir / "fetcher.toml"
        out = work_dir / "out"
        config.write_text(_config(out, url, args.many_sources, args.many_page_size, way.top_level))
        env = {**os.environ, "FETCHER_CONFIG": str(config), "FETCHER_STATUS_DIR": str(work_dir / "status")}
        finished = processes.run_child(way.command(config), work_dir, processes.REPO_ROOT, env, tree=True)
        rows = clients.count_rows(out)
        want = args.many_sources * args.many_pages * args.many_page_size
        for fmt in FORMATS:
            clients.expect(way.name, f"the {fmt} written", rows[fmt], want)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    log(f"  {way.name:16} {finished.wall_s:8.2f} s {finished.tree_rss_mib:7.1f} MiB (tree)")
    return finished


def _config(out: Path, url: str, count: int, page_size: int, top_level: str) -> str:
    due = clients.FetcherExtra(source_lines=(f"schedule = {json.dumps(SCHEDULE)}",))
    tables = [clients.source_table(f"s{n:03d}", url, page_size, FORMATS, due) for n in range(count)]
    return f"output_dir = {json.dumps(str(out))}\n{top_level}" + "".join(tables)


@dataclass(frozen=True)
class _Summary:
    """Medians of one way's rounds."""

    wall_s: float
    wall_min_s: float
    wall_max_s: float
    tree_rss_mib: float
    own_rss_mib: float
    processes: int

    @classmethod
    def of(cls, runs: Sequence[processes.Finished]) -> _Summary:
        walls = [run.wall_s for run in runs]
        return cls(
            statistics.median(walls),
            min(walls),
            max(walls),
            statistics.median(run.tree_rss_mib for run in runs),
            statistics.median(run.peak_rss_mib for run in runs),
            max(run.tree_processes for run in runs),
        )
