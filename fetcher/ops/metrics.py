"""Metrics: each source's latest run as a Prometheus text file, for node_exporter's textfile collector.

After every run, `write` puts one file per source, `fetcher_<source>.prom`, in `[metrics]
textfile_dir` (no key, no file). One file per source because each cron job runs one source in its
own process: no two processes ever write one file together (a second run of a source is skipped
while the first holds its lock), so no file lock is needed. The file is written whole under a
temporary name that starts with `.` and does not end in `.prom`, synced, then renamed over the
old one: node_exporter, which reads `*.prom` only, sees the old file or the new, never a part.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from fetcher.config.model import Config, Source
from fetcher.ops.outcomes import Outcome


def write(config: Config, source: Source, outcome: Outcome, previous: Outcome | None) -> None:
    """The signal after a run: write the source's metrics file, if `textfile_dir` is set."""
    directory = config.metrics.textfile_dir
    if directory is None:
        return
    os.makedirs(directory, exist_ok=True)
    _save_atomic(
        os.path.join(directory, f"fetcher_{source.name}.prom"), generate_latest(registry_of(outcome))
    )


def registry_of(outcome: Outcome) -> CollectorRegistry:
    """The outcome's metrics, each a gauge labelled with the source."""
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, ["source"], registry=registry).labels(source=outcome.source).set(value)

    gauge(
        "fetcher_last_run_timestamp_seconds",
        "When the last run ended, in Unix time.",
        _seconds(outcome.finished_at),
    )
    gauge("fetcher_last_run_success", "1 if the last run succeeded, else 0.", 1 if outcome.succeeded else 0)
    gauge("fetcher_last_run_duration_seconds", "How long the last run took.", outcome.duration_s)
    gauge("fetcher_last_run_records", "Records the last run landed.", outcome.records)
    gauge("fetcher_last_run_pages", "Pages the last run fetched.", outcome.pages)
    gauge("fetcher_last_run_retries", "Requests the last run retried.", outcome.retries)
    gauge("fetcher_last_run_files", "Files the last run published.", outcome.files)
    if outcome.last_success_at is not None:
        gauge(
            "fetcher_last_success_timestamp_seconds",
            "When the last successful run ended, in Unix time.",
            _seconds(outcome.last_success_at),
        )
    cursor = _as_time(outcome.cursor)
    if cursor is not None:
        gauge(
            "fetcher_cursor_timestamp_seconds",
            "The incremental cursor, when it is a time, in Unix time.",
            cursor,
        )
    return registry


def _as_time(cursor: Any) -> float | None:
    """An ISO 8601 cursor (`2026-11-21T10:00:00Z`) in Unix time; None for any other cursor.

    A number is never read as a time: an id and an epoch cannot be told apart.
    """
    if not isinstance(cursor, str):
        return None
    try:
        return _seconds(datetime.fromisoformat(cursor))
    except ValueError:
        return None


def _seconds(moment: datetime) -> float:
    """Unix time; a time without a zone is UTC, as the fetcher writes every time."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _save_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` through `.<name>.<pid>.tmp` beside it: a reader sees all of it or none."""
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
