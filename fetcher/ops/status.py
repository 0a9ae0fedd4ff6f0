"""`fetcher status`: each source's last run, its error, its last success and next run, as a table.

The last run is the newer of the run records and the outcome kept on this host (see
`fetcher.ops.latest`), so a run that failed before it could write a run record shows at once.
The next run is cron's: when cron was given another schedule than the configured one, the table
says when cron runs it and "restart to apply".
Below it, one line per data guard that warned in a source's last run (a guard that failed
the run is its error).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fetcher.config import schedule
from fetcher.config.model import Config, Source
from fetcher.ops import installed, latest
from fetcher.ops.health import ago
from fetcher.ops.installed import Installed
from fetcher.ops.outcomes import Outcome
from fetcher.storage import open_storage

_HEADER = ("SOURCE", "LAST RUN (UTC)", "STATUS", "RECORDS", "FILES", "LAST SUCCESS", "NEXT RUN", "ERROR")
ERROR_WIDTH = 80  # the whole message is in the log, the run record and `fetcher health`
_CUT = "..."


def render(config: Config, now: datetime | None = None, schedules: Installed | None = None) -> str:
    """One row per source, aligned, with a header. `schedules` is what cron was given, if known."""
    now = now or datetime.now(UTC)
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    rows = [_HEADER]
    notes = []
    for source in config.sources:
        last = latest.read(storage, source.name)
        notes += [f"{source.name}: {warning}" for warning in (last.warnings if last else ())]
        rows.append((source.name, *_last_run(last, now), _next_run(source, schedules, now), _error(last)))
    widths = [max(len(row[index]) for row in rows) for index in range(len(_HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines + (["", *notes] if notes else []))


def cut(text: str, width: int = ERROR_WIDTH) -> str:
    """`text` on one line, at most `width` characters: its start and its end (where the hint is)."""
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    tail = (width - len(_CUT)) // 2
    return line[: width - len(_CUT) - tail] + _CUT + line[-tail:]


def _last_run(last: Outcome | None, now: datetime) -> tuple[str, str, str, str, str]:
    if last is None:
        return ("never", "-", "-", "-", "never")
    success = f"{ago(now - last.last_success_at)} ago" if last.last_success_at else "never"
    finished = f"{last.finished_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
    return (finished, last.status, str(last.records), str(last.files), success)


def _next_run(source: Source, schedules: Installed | None, now: datetime) -> str:
    running = source.schedule if schedules is None else schedules.schedule_of(source.name)
    if running is None:
        return f"not in cron: {installed.RESTART}"
    upcoming = schedule.next_after(running, now).strftime("%Y-%m-%d %H:%M %Z")
    return upcoming if running == source.schedule else f"{upcoming} ({installed.RESTART})"


def _error(last: Outcome | None) -> str:
    return cut(last.error) if last is not None and last.error else ""
