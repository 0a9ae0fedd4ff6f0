"""A run of one source: lock, fetch every page, write the files, then the run record and state.

Order matters for safety. Data files are published first, then the run record, then the state: a
crash at any point leaves complete files or none, and state never runs ahead of the files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime

from fetcher.config.model import Config, Source
from fetcher.errors import DeadlineExceeded, FetcherError, FetchError, RecordsError
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.http.decode import NotJson, decode
from fetcher.logs import quote
from fetcher.output.spool import Spool
from fetcher.output.writers import Streamer, write_files
from fetcher.pagination import kinds as pagination
from fetcher.pagination.kinds import Page, PageRequest
from fetcher.records import flatten as records
from fetcher.records import schema
from fetcher.redact import redact
from fetcher.run import history, lock, state
from fetcher.storage import open_storage
from fetcher.storage.local import Storage

logger = logging.getLogger(__name__)


def run(config: Config, source: Source) -> history.RunRecord:
    """Run `source` once and return its run record; raise Locked if a run is in progress.

    Expected failures (FetcherError) end in a failed run record, not an exception. Anything else
    is a bug, or a signal: the run record still says failed, and the exception propagates.
    """
    storage = open_storage(config.output_dir, config.s3_endpoint_url)
    with closing(storage), lock.hold(storage.lock_path(f"{source.name}/.lock"), source.name):
        removed = storage.remove_temps(source.name)
        if removed:
            logger.info("event=cleanup source=%s removed_temp_files=%d", source.name, len(removed))
        record = history.RunRecord(source=source.name, started_at=_unique_start(storage, source.name))
        logger.info(
            "event=start source=%s run_id=%s url=%s", source.name, record.run_id, quote(redact(source.url))
        )
        advance = False
        try:
            advance = _fetch_and_write(storage, source, record)
        except FetcherError as exc:
            record.finish(exc)
        except BaseException as exc:
            record.finish(exc)
            _save(storage, record)
            _log_summary(record)
            raise
        else:
            record.finish()
        _save(storage, record)
        if record.status == history.SUCCEEDED and advance:
            _advance_state(storage, source, record)
        _log_summary(record)
    return record


def _advance_state(storage: Storage, source: Source, record: history.RunRecord) -> None:
    """Save the run's cursor, last: a crash before it repeats the run's records, never skips any."""
    assert source.incremental is not None
    try:
        state.save_cursor(storage, source.name, source.incremental, record.cursor, record.run_id)
    except FetcherError as exc:
        record.finish(FetcherError(f"the files were published, but the state was not saved: {exc}"))
        _save(storage, record)


def _fetch_and_write(storage: Storage, source: Source, record: history.RunRecord) -> bool:
    """Fetch every page and publish the files; True when the state should advance to record.cursor."""
    deadline = Deadline.after(source.run_timeout_s)
    incremental = source.incremental
    params = dict(source.params)
    tracker = None
    if incremental is not None:
        cursor = state.load_cursor(storage, source.name, incremental)
        if cursor is not None:
            params[incremental.param] = state.as_param(cursor)
        tracker = state.CursorTracker(incremental.cursor_field, cursor)
    dedupe = records.Deduplicator(incremental.primary_key if incremental else ())
    unifier = schema.Unifier(source.name)
    stamp = record.run_id
    date = record.started_at.strftime("%Y-%m-%d")
    targets = {fmt: f"{source.name}/date={date}/{source.name}_{stamp}.{fmt}" for fmt in source.formats}

    observe = tracker
    with (
        Client(source, deadline) as client,
        Spool(storage.scratch_dir(source.name), f"{source.name}_{stamp}") as spool,
        Streamer(storage, targets, observe) as streamer,
    ):
        pages = pagination.walk(source.pagination, PageRequest(source.url, params), _fetcher(client, source))
        try:
            for page in pages:
                table = records.to_table(dedupe(page.records), exact=page.exact)
                unifier.observe(table)
                spool.append(table)
                streamer.offer(table, unifier.schema)
                record.pages += 1
                record.records = spool.rows
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "event=page source=%s page=%d records=%d url=%s",
                        source.name,
                        record.pages,
                        page.record_count,
                        quote(redact(page.url)),
                    )
                if deadline.expired():
                    raise DeadlineExceeded(
                        f"run_timeout_s={source.run_timeout_s:g} reached after {record.pages} pages"
                    )
        finally:
            record.attempts, record.retries = client.attempts, client.retries
            record.duplicates_dropped = dedupe.dropped

        run_schema = unifier.schema
        if spool.rows == 0 or not run_schema.names:
            what = "no records" if spool.rows == 0 else f"{spool.rows} record(s), none with a field"
            logger.info(
                "event=empty source=%s message=%s", source.name, quote(f"{what}; no data file written")
            )
            return False
        record.columns = {item.name: str(item.type) for item in run_schema}
        logger.info("event=schema source=%s columns=%s", source.name, quote(schema.describe(run_schema)))
        if tracker is not None and tracker.field not in run_schema.names:
            raise RecordsError(
                f"cursor_field {tracker.field!r} is in no record; columns are: {', '.join(run_schema.names)}"
            )
        if streamer.active and streamer.schema == run_schema:
            record.files = streamer.publish()
        else:
            # The schema widened after streaming began: write again, from the spool, at the end.
            if tracker is not None:
                tracker.reset()
            record.files = write_files(storage, spool.tables(), run_schema, targets, observe=observe)

    if tracker is None or not tracker.seen:
        return False
    record.cursor = tracker.value
    return True


def _fetcher(client: Client, source: Source) -> Callable[[PageRequest], Page]:
    def fetch(request: PageRequest) -> Page:
        response = client.get(request)
        shown = redact(response.url)
        try:
            document = decode(response.content, response.headers.get("Content-Type", ""))
        except NotJson as exc:
            raise FetchError(shown, str(exc), status=200) from None
        found = records.extract(document.value, source.records, shown)
        return Page(
            request, response.url, response.headers, document.value, found, response.content, document.exact
        )

    return fetch


def probe(config: Config, source: Source) -> tuple[dict[str, str], int]:
    """Fetch the first page of `source` as a run would, and return the columns and types a run
    would write for it, and its number of records. Writes nothing."""
    params = dict(source.params)
    if source.incremental is not None:
        with closing(open_storage(config.output_dir, config.s3_endpoint_url)) as storage:
            cursor = state.load_cursor(storage, source.name, source.incremental)
        if cursor is not None:
            params[source.incremental.param] = state.as_param(cursor)
    request = source.pagination.first(PageRequest(source.url, params))
    with Client(source, Deadline.after(source.run_timeout_s)) as client:
        page = _fetcher(client, source)(request)
    unifier = schema.Unifier(source.name)
    unifier.observe(records.to_table(page.records, exact=page.exact))
    return {item.name: str(item.type) for item in unifier.schema}, page.record_count


def _save(storage: Storage, record: history.RunRecord) -> None:
    try:
        history.save(storage, record)
    except FetcherError as exc:
        logger.error("event=run_record_failed source=%s error=%s", record.source, quote(str(exc)))


def _log_summary(record: history.RunRecord) -> None:
    """The one line a run ends with."""
    error = record.error["message"] if record.error else None
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
        stamp = history.run_id(started)
        published = storage.list(f"{source}/date={started:%Y-%m-%d}")
        if not history.exists(storage, source, started) and not any(stamp in name for name in published):
            return started
        time.sleep(1.0 - datetime.now(UTC).microsecond / 1e6)
