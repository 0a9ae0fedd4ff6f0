"""A backfill: a past time range of one windowed source, fetched window by window.

Each window is a run of its own (kind `backfill` in its run record), published as it completes:
its files, then its run record, then the backfill's progress (`{name}/_backfill.json`: `from`,
`to`, `done_until`). A backfill stopped by a crash is resumed by the same command, from
`done_until`; a window cut short left no file, and one published but not yet in the progress is
fetched again (at least once, as runs are). The backfill holds the source's lock throughout, so a
scheduled run meanwhile skips with exit 75. It never touches the source's cursor (`_state.json`):
a past range is not what the next scheduled run should start from, and a range beyond the cursor
is still asked for by the next run (rows the two share repeat: deduplicate on `primary_key`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fetcher.config import times
from fetcher.config.model import Config, Source
from fetcher.errors import ConfigError, OutputError
from fetcher.run import history, runner
from fetcher.run.windows import split
from fetcher.storage import layout
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """How far a backfill of `start`..`end` got: every window before `done_until` is published."""

    start: datetime
    end: datetime
    done_until: datetime

    @property
    def finished(self) -> bool:
        return self.done_until >= self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "from": times.format_time(self.start),
            "to": times.format_time(self.end),
            "done_until": times.format_time(self.done_until),
            "updated_at": times.format_time(datetime.now(UTC).replace(microsecond=0)),
        }

    @classmethod
    def from_json(cls, document: Any, where: str) -> Progress:
        try:
            return cls(*(times.parse_time(document[key]) for key in ("from", "to", "done_until")))
        except (TypeError, KeyError, ValueError) as exc:
            raise OutputError(f"cannot read {where}: not a backfill's progress ({exc})") from None

    def __str__(self) -> str:
        return f"{times.format_time(self.start)}..{times.format_time(self.end)}"


def backfill(
    config: Config, source: Source, start: datetime, end: datetime, *, now: datetime, restart: bool = False
) -> list[history.RunRecord]:
    """Fetch `start`..`end` of `source` window by window; return the windows' run records.

    Stops at the first window that fails (its record says why). Raises Locked if a run of the
    source is in progress, ConfigError for a range or a source that cannot be backfilled.
    """
    _check(source, start, end, now)
    assert source.incremental is not None
    with runner.opened(config, source) as (storage, workspace):
        progress = _resume(storage, source.name, Progress(start, end, start), restart)
        records: list[history.RunRecord] = []
        for window in split(progress.done_until, end, source.incremental.window_length):
            record = runner.start(storage, source, history.BACKFILL)
            runner.execute(storage, workspace, source, record, [window])
            records.append(record)
            if record.status != history.SUCCEEDED:
                runner.summarize(record)
                break
            progress.done_until = window.end
            save_progress(storage, source.name, progress)
            runner.summarize(record)
        logger.info(
            "event=backfill source=%s range=%s done_until=%s windows=%d finished=%s",
            source.name,
            progress,
            times.format_time(progress.done_until),
            len(records),
            str(progress.finished).lower(),
        )
    return records


def save_progress(storage: Storage, source: str, progress: Progress) -> None:
    """Save how far the backfill got: after the window's files and run record, never before.

    Over whatever version is there: the backfill holds the source's lock (or lease) throughout.
    """
    path = layout.backfill_file(source)
    storage.write_json(path, progress.to_json(), replaces=storage.version(path))


def load_progress(storage: Storage, source: str) -> Progress | None:
    """The saved progress of the latest backfill of `source`, or None."""
    relpath = layout.backfill_file(source)
    document = storage.read_json(relpath)
    return None if document is None else Progress.from_json(document, f"{storage}/{relpath}")


def _check(source: Source, start: datetime, end: datetime, now: datetime) -> None:
    if not source.windowed:
        raise ConfigError(
            "SOURCE",
            f"{source.name} asks for no time windows; a backfill needs [sources.incremental] "
            "with start_param and end_param, or {window_start} and {window_end}",
        )
    if start >= end:
        raise ConfigError(
            "--to", f"{times.format_time(end)} must be later than --from {times.format_time(start)}"
        )
    if end > now:
        raise ConfigError("--to", f"{times.format_time(end)} is in the future; a backfill fetches the past")


def _resume(storage: Storage, source: str, asked: Progress, restart: bool) -> Progress:
    """The saved progress if it is of the same range, else a fresh start; an unfinished other range
    is refused unless `restart` drops it."""
    saved = load_progress(storage, source)
    if saved is None or restart:
        return asked
    if (saved.start, saved.end) == (asked.start, asked.end):
        if saved.finished:
            logger.info(
                "event=backfill_complete source=%s range=%s message=%s",
                source,
                saved,
                '"already fetched; pass --restart to fetch it again"',
            )
        else:
            logger.info(
                "event=backfill_resumed source=%s range=%s done_until=%s",
                source,
                saved,
                times.format_time(saved.done_until),
            )
        return saved
    if not saved.finished:
        raise ConfigError(
            "--from",
            f"the backfill of {saved} is unfinished (done until {times.format_time(saved.done_until)}); "
            "resume it with the same --from and --to, or pass --restart to drop it",
        )
    return asked
