"""`fetcher status`: each source's last run and next scheduled time, as a table.

Below it, one line per data guard that tripped in a source's last run, warned or failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fetcher.config import schedule
from fetcher.config.model import Config
from fetcher.run import history
from fetcher.storage import open_storage

_HEADER = ("SOURCE", "LAST RUN (UTC)", "STATUS", "RECORDS", "FILES", "NEXT RUN")


def render(config: Config, now: datetime | None = None) -> str:
    """One row per source, aligned, with a header."""
    now = now or datetime.now(UTC)
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    rows = [_HEADER]
    notes = []
    for source in config.sources:
        last = history.latest(storage, source.name)
        for check in last.guards if last else ():
            if check.tripped:
                notes.append(f"{source.name}: guard {check.guard} ({check.action}): {check.message}")
        upcoming = schedule.next_after(source.schedule, now)
        rows.append(
            (
                source.name,
                f"{last.ended_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if last else "never",
                last.status if last else "-",
                str(last.records) if last else "-",
                str(len(last.files)) if last else "-",
                upcoming.strftime("%Y-%m-%d %H:%M %Z"),
            )
        )
    widths = [max(len(row[index]) for row in rows) for index in range(len(_HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines + (["", *notes] if notes else []))
