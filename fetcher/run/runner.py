"""A run of one source: its lock, its run record, the pipeline, then the record and the state.

Order matters for safety. Data files are published first, then the run record, then the state: a
crash at any point leaves complete files or none, and state never runs ahead of the files. The
pipeline itself (pages in, files out) is `fetcher.run.pipeline`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any

from fetcher.config import environment
from fetcher.config.model import Config, Source
from fetcher.config.placeholders import fill
from fetcher.errors import Conflict, FetcherError
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.logs import quote
from fetcher.redact import redact
from fetcher.run import changes, history, lock, parents, pipeline, state, walks
from fetcher.run.windows import Window
from fetcher.storage import layout, open_storage, open_workspace
from fetcher.storage.base import Storage
from fetcher.storage.workspace import Workspace

logger = logging.getLogger(__name__)


def run(config: Config, source: Source) -> history.RunRecord:
    """Run `source` once and return its run record; raise Locked if a run is in progress.

    Expected failures (FetcherError) end in a failed run record, not an exception. Anything else
    is a bug, or a signal: the run record still says failed, and the exception propagates.
    """
    with opened(config, source) as (storage, workspace):
        record = start(storage, source)
        # The state's version before the pipeline loads the cursor: the save replaces only it.
        saved_state = state.version(storage, source.name) if source.incremental else None
        advance = execute(storage, workspace, source, record)
        if record.status == history.SUCCEEDED and advance:
            _advance_state(storage, source, record, saved_state)
        summarize(record)
    return record


@contextmanager
def opened(config: Config, source: Source) -> Iterator[tuple[Storage, Workspace]]:
    """The output and the workspace of `source`, its lock held and its temporary files removed."""
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    workspace = open_workspace(config.output_dir)
    with closing(storage), closing(workspace), lock.hold_source(config, storage, workspace, source.name):
        removed = storage.remove_temps(source.name)
        if removed:
            logger.info("event=cleanup source=%s removed_temp_files=%d", source.name, len(removed))
        yield storage, workspace


def start(storage: Storage, source: Source, kind: str = history.RUN) -> history.RunRecord:
    """A new run record of `source`, in a start second of its own."""
    record = history.RunRecord(source=source.name, started_at=_unique_start(storage, source.name), kind=kind)
    logger.info(
        "event=start source=%s run_id=%s kind=%s url=%s",
        source.name,
        record.run_id,
        kind,
        quote(redact(source.url)),
    )
    return record


def execute(
    storage: Storage,
    workspace: Workspace,
    source: Source,
    record: history.RunRecord,
    windows: list[Window] | None = None,
) -> bool:
    """Fetch and publish into `record`, then finish and save it; True when the state should advance.

    `windows` are fetched instead of those the source's own cursor asks for (a backfill's).
    """
    advance = False
    previous = history.last_columns(storage, source.name)
    try:
        advance = pipeline.fetch_and_write(
            storage, workspace.scratch_dir(source.name), source, record, windows
        )
    except FetcherError as exc:
        record.finish(exc)
    except BaseException as exc:
        record.finish(exc)
        _save(storage, record)
        summarize(record)
        raise
    else:
        record.finish()
        _note_schema_change(record, previous)
    _save(storage, record)
    return advance


def probe(config: Config, source: Source) -> tuple[dict[str, str], int]:
    """Fetch the first page of `source` as a run would (its first window, if windowed; a child's
    for its parent's first row), and return the columns and types a run would write for it, and
    its number of records. Writes nothing."""
    cursor = None
    row: dict[str, Any] = {}
    if source.incremental is not None or source.parent is not None:
        with closing(open_storage(config.output_dir, config.s3_endpoint_url)) as storage:
            cursor = walks.load_cursor(storage, source)
            row = _first_row(storage, source)
    for filled, window in walks.sequences(
        source, cursor, walks.run_windows(source, cursor, datetime.now(UTC))
    ):
        endpoint = fill(filled, row)
        request = source.pagination.first(walks.first_request(endpoint, cursor, window))
        deadline = Deadline.after(source.run_timeout_s)
        with Client(source, deadline, in_container=environment.in_container()) as client:
            page = walks.page_fetcher(client, endpoint)(request)
        return pipeline.columns(page, source), page.record_count
    raise FetcherError("nothing to probe: the saved cursor is already at the end of the time windows")


def _first_row(storage: Storage, source: Source) -> dict[str, Any]:
    """The placeholder values of a child source's parent's first row (none if no child)."""
    if source.parent is None:
        return {}
    rows = parents.read_rows(storage, source)
    if not rows:
        raise FetcherError(f"the parent source {source.parent.source!r} has no rows to request for")
    return rows[0].values


def _note_schema_change(record: history.RunRecord, previous: dict[str, str] | None) -> None:
    """Keep and log how the run's columns differ from the last successful run that wrote any."""
    if previous is None or not record.columns:
        return
    record.schema_change = changes.compare(previous, record.columns)
    if record.schema_change is not None:
        changes.log(record.source, record.schema_change)


def _advance_state(storage: Storage, source: Source, record: history.RunRecord, replaces: str | None) -> None:
    """Save the run's cursor, last: a crash before it repeats the run's records, never skips any.

    Only over the state version `replaces`, read before the run loaded its cursor: a run that lost
    the race to another fails, with its files published and the other run's cursor kept.
    """
    assert source.incremental is not None
    try:
        state.save_cursor(
            storage, source.name, source.incremental, record.cursor, record.run_id, replaces=replaces
        )
    except FetcherError as exc:
        problem = f"the files were published, but the state was not saved: {exc}"
        record.finish(Conflict(problem) if isinstance(exc, Conflict) else FetcherError(problem))
        _save(storage, record)


def _save(storage: Storage, record: history.RunRecord) -> None:
    """Save the run record; a failure is logged, and one that lost its run id to another run
    (two hosts starting a source in one second) fails the run, so that it never advances the state."""
    try:
        history.save(storage, record)
    except Conflict as exc:
        record.finish(exc)
        logger.error("event=run_record_failed source=%s error=%s", record.source, quote(str(exc)))
    except FetcherError as exc:
        logger.error("event=run_record_failed source=%s error=%s", record.source, quote(str(exc)))


def summarize(record: history.RunRecord) -> None:
    """The one line a run ends with."""
    error = record.error.message if record.error else None
    logger.log(
        logging.INFO if error is None else logging.ERROR,
        "event=run source=%s status=%s pages=%d records=%d duplicates_dropped=%d files=%d "
        "attempts=%d retries=%d duration_s=%.3f run_id=%s%s",
        record.source,
        record.status,
        record.pages,
        record.records,
        record.duplicates_dropped,
        len(record.files),
        record.attempts,
        record.retries,
        record.duration_s or 0.0,
        record.run_id,
        f" error={quote(error)}" if error else "",
    )


def _unique_start(storage: Storage, source: str) -> datetime:
    """Now, to the second, or the next second if a run already started in this one.

    Runs are named by their start second; two runs of a source in one second would otherwise
    write the same file names.
    """
    while True:
        started = datetime.now(UTC).replace(microsecond=0)
        stamp = layout.run_id(started)
        published = storage.list(layout.partition(source, started))
        if not history.exists(storage, source, started) and not any(stamp in name for name in published):
            return started
        time.sleep(1.0 - datetime.now(UTC).microsecond / 1e6)
