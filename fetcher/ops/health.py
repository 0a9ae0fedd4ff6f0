"""Health: is the scheduler alive, and is every source's data fresh?

A source is fresh when its latest run succeeded no longer ago than twice its schedule's interval.
A source that has not run yet counts as fresh while the container is younger than that. A source
is due (for the catch-up run at start) when its last success is older than one interval.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fetcher.config import schedule
from fetcher.config.model import Config, Source
from fetcher.run import history
from fetcher.storage import open_storage
from fetcher.storage.base import Storage

STALE_AFTER_INTERVALS = 2


@dataclass(frozen=True)
class Report:
    """The verdict, and one line saying why."""

    healthy: bool
    summary: str


def check(config: Config, *, now: datetime, started_at: datetime, scheduler_running: bool) -> Report:
    """Judge the container: the scheduler runs and every source is fresh."""
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    problems = [] if scheduler_running else ["cron is not running"]
    for source in config.sources:
        problem = _problem(storage, source, now, started_at)
        if problem:
            problems.append(f"{source.name}: {problem}")
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
    latest = history.latest(storage, source.name)
    if latest is None:
        if now - started_at > allowed:
            return f"no run yet, {_ago(now - started_at)} after start (allowed {_ago(allowed)})"
        return None
    if latest.status != history.SUCCEEDED:
        error = latest.error.message if latest.error else "unknown error"
        return f"last run {latest.run_id} failed: {error}"
    age = now - latest.ended_at
    if age > allowed:
        limit = f"{_ago(allowed)} ({STALE_AFTER_INTERVALS}x its interval)"
        return f"last success {_ago(age)} ago, older than {limit}"
    return None


def _ago(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
