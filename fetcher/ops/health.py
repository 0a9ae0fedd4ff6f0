"""Health: is the scheduler alive, does cron run what is configured, and is every source fresh?

A source is fresh when its latest run succeeded no longer ago than twice its schedule's interval.
Its latest run is the newer of its run records and the outcome kept on this host, so a run that
failed before it could write a run record (a read-only output) makes it unhealthy at once, saying
why. A source that has not run yet counts as fresh while the container is younger than twice its
interval. A source whose schedule in cron is not the configured one says "restart to apply".
A source is due (for the catch-up run at start) when its last success is older than one interval.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fetcher.config import schedule
from fetcher.config.model import Config, Source
from fetcher.ops import installed, latest
from fetcher.ops.installed import Installed
from fetcher.run import history
from fetcher.storage import open_storage
from fetcher.storage.base import Storage

STALE_AFTER_INTERVALS = 2


@dataclass(frozen=True)
class Report:
    """The verdict, and one line saying why."""

    healthy: bool
    summary: str


def check(
    config: Config,
    *,
    now: datetime,
    started_at: datetime,
    scheduler_running: bool,
    schedules: Installed | None = None,
) -> Report:
    """Judge the container: the scheduler runs, as configured (`schedules`: what cron was given,
    None when unknown), and every source is fresh."""
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    problems = [] if scheduler_running else ["cron is not running"]
    for source in config.sources:
        found = [_problem(storage, source, now, started_at), installed.pending(schedules, source)]
        problems += [f"{source.name}: {problem}" for problem in found if problem]
    if problems:
        return Report(False, "unhealthy: " + "; ".join(problems))
    return Report(True, f"healthy: cron running, {len(config.sources)} source(s) fresh")


def due(config: Config, now: datetime) -> list[Source]:
    """The sources whose last success is older than one interval, or that never succeeded."""
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    result = []
    for source in config.sources:
        last = history.last_success(storage, source.name)
        interval = schedule.interval_at(source.schedule, now)
        if last is None or now - last.ended_at > interval:
            result.append(source)
    return result


def container_started_at() -> datetime:
    """When PID 1 started: the container's start, read from /proc."""
    with open("/proc/stat") as stat:
        boot = next(int(line.split()[1]) for line in stat if line.startswith("btime "))
    with open("/proc/1/stat") as stat:
        ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def scheduler_running(names: Iterable[str] = ("cron",)) -> bool:
    """Whether a process with one of `names` runs in this PID namespace."""
    wanted = set(names)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() in wanted:
                    return True
        except OSError:
            continue  # the process ended while we looked
    return False


def _problem(storage: Storage, source: Source, now: datetime, started_at: datetime) -> str | None:
    allowed = STALE_AFTER_INTERVALS * schedule.interval_at(source.schedule, now)
    last = latest.read(storage, source.name)
    if last is None:
        if now - started_at > allowed:
            return f"no run yet, {ago(now - started_at)} after start (allowed {ago(allowed)})"
        return None
    if not last.succeeded:
        run = last.run_id or f"at {last.finished_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        return f"last run {run} failed: {last.error or 'unknown error'}"
    age = now - last.finished_at
    if age > allowed:
        limit = f"{ago(allowed)} ({STALE_AFTER_INTERVALS}x its interval)"
        return f"last success {ago(age)} ago, older than {limit}"
    return None


def ago(span: timedelta) -> str:
    """A span as a person reads it: `45s`, `12m`, `3h05m`."""
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
