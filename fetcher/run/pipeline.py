"""The pipeline of one run: pages in, published files out.

Each page is fetched, its records extracted, deduplicated and flattened into a table whose schema
is unified with the run's; the table is spooled to local disk, and streamed into the files for as
long as the run's schema holds. At the end the streamed files are published, or, when a page
widened the schema after streaming began, the files are written again from the spool, under the
final schema. The incremental cursor is taken from the pages as they are written. A windowed
source's run is one request sequence per time window (fetcher.run.windows), all into the same files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fetcher.config.model import Source
from fetcher.errors import DeadlineExceeded, FetchError, RecordsError
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.http.decode import NotJson, decode
from fetcher.logs import quote
from fetcher.output.spool import Spool
from fetcher.output.writers import Streamer, WrittenFile, write_files
from fetcher.pagination import kinds as pagination
from fetcher.pagination.kinds import Page, PageRequest
from fetcher.records import flatten as records
from fetcher.records import schema
from fetcher.records.landing import RunStamp, with_run_fields
from fetcher.records.names import Namer
from fetcher.records.rules import ColumnRules
from fetcher.redact import redact
from fetcher.run import state
from fetcher.run.history import RunRecord
from fetcher.run.windows import Window, next_cursor, plan
from fetcher.storage import layout
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


def fetch_and_write(
    storage: Storage, scratch_dir: str, source: Source, record: RunRecord, windows: list[Window] | None = None
) -> bool:
    """Fetch every page of `source` and publish its files, filling in `record` as the run goes.

    The spool lives in `scratch_dir`. A windowed source asks for the windows from its saved
    cursor (fetcher.run.windows), one request sequence each, into the same files; `windows`, when
    given (a backfill), are asked for instead, and the cursor is left alone. Returns True when the
    state should advance to `record.cursor`.
    """
    deadline = Deadline.after(source.run_timeout_s)
    rules = source.rules
    cursor = load_cursor(storage, source)
    planned = windows is None and source.windowed
    if planned:
        assert source.incremental is not None
        windows = plan(source.incremental, cursor, record.started_at)
    tracker = _tracker(source, rules, cursor)
    record.primary_key = landed_key(source, rules)
    targets = {fmt: layout.data_file(source.name, record.started_at, fmt) for fmt in source.formats}
    stamp = RunStamp(record.run_id, record.started_at)
    with (
        Spool(scratch_dir, layout.run_stem(source.name, record.started_at)) as spool,
        Streamer(storage, targets, stamp) as streamer,
    ):
        stages = _Stages(source, rules, spool, streamer, tracker)
        for filled, request in requests_of(source, cursor, windows, record):
            with Client(filled, deadline) as client:
                _fetch_pages(client, request, deadline, stages, record)
        run_schema = stages.unifier.schema
        if _describe(source, spool.rows, run_schema, stamp, record, tracker):
            record.files = _publish(storage, stages, run_schema, targets, stamp)
    if windows is not None:
        record.cursor = next_cursor(cursor, windows) if planned else None
        return record.cursor is not None
    if tracker is None or not tracker.seen or not record.files:
        return False
    record.cursor = tracker.value
    return True


def requests_of(
    source: Source, cursor: Any, windows: list[Window] | None, record: RunRecord | None = None
) -> Iterator[tuple[Source, PageRequest]]:
    """Each request sequence of a run: the source with its placeholders filled, and its first request.

    One sequence without windows, one per window with them; `record` notes the windows' range.
    """
    if windows is None:
        yield (
            (source.filled({"cursor": state.as_param(cursor)}) if cursor is not None else source),
            (first_request(source, cursor)),
        )
        return
    if record is not None and windows:
        record.window_start, record.window_end = (
            windows[0].values["window_start"],
            windows[-1].values["window_end"],
        )
    logger.info("event=windows source=%s windows=%d", source.name, len(windows))
    for window in windows:
        logger.info("event=window source=%s window=%s", source.name, window)
        filled = source.filled(window.values)
        yield filled, first_request(filled, cursor, window)


def load_cursor(storage: Storage, source: Source) -> Any:
    """The cursor the run sends: the saved one, else `initial`; None when there is none to send."""
    if source.incremental is None:
        return None
    return state.load_cursor(storage, source.name, source.incremental)


def landed_key(source: Source, rules: ColumnRules) -> list[str]:
    """The columns the source's `primary_key` lands as (for readers that keep the newest row per key)."""
    if source.incremental is None:
        return []
    namer = Namer(rules)
    return [namer.land(tuple(path.split("."))) for path in source.incremental.primary_key]


def _tracker(source: Source, rules: ColumnRules, cursor: Any) -> state.CursorTracker | None:
    """The tracker of the largest `cursor_field` value, under the column name that field lands as."""
    if source.incremental is None:
        return None
    column = Namer(rules).land(tuple(source.incremental.cursor_field.split(".")))
    return state.CursorTracker(column, cursor)


def first_request(source: Source, cursor: Any, window: Window | None = None) -> PageRequest:
    """The request a sequence starts from: the source's parameters, and the cursor or the window.

    In a window, `param` and `start_param` carry its start and `end_param` its end.
    """
    params = dict(source.params)
    incremental = source.incremental
    if incremental is not None and window is not None:
        values = window.values
        for key, value in (
            (incremental.param, values["cursor"]),
            (incremental.start_param, values["window_start"]),
            (incremental.end_param, values["window_end"]),
        ):
            if key is not None:
                params[key] = value
    elif incremental is not None and incremental.param is not None and cursor is not None:
        params[incremental.param] = state.as_param(cursor)
    return PageRequest(source.url, params)


def page_fetcher(client: Client, source: Source) -> Callable[[PageRequest], Page]:
    """What pagination calls for each request: fetch it, decode the body, find the records."""

    rules = source.rules

    def fetch(request: PageRequest) -> Page:
        response = client.get(request)
        shown = redact(response.url)
        try:
            document = decode(
                response.content,
                response.headers.get("Content-Type", ""),
                format=source.format,
                decimals=rules.needs_decimals,
            )
        except NotJson as exc:
            raise FetchError(shown, str(exc), status=200) from None
        found = records.extract(document.value, source.records, shown)
        return Page(
            request, response.url, response.headers, document.value, found, response.content, document.exact
        )

    return fetch


def columns(page: Page, source: Source) -> dict[str, str]:
    """The columns, as they land, and their types that a run would write for `page` alone."""
    rules = source.rules
    unifier = schema.Unifier(source.name, rules)
    unifier.observe(records.to_table(page.records, exact=page.exact, rules=rules), redact(page.url))
    return {item.name: str(item.type) for item in with_run_fields(unifier.schema)}


@dataclass
class _Stages:
    """Where each page goes: deduplicated, flattened, unified with the run's schema, its cursor
    noted, spooled, streamed."""

    source: Source
    rules: ColumnRules
    spool: Spool
    streamer: Streamer
    tracker: state.CursorTracker | None

    def __post_init__(self) -> None:
        incremental = self.source.incremental
        self.dedupe = records.Deduplicator(incremental.primary_key if incremental else ())
        self.unifier = schema.Unifier(self.source.name, self.rules)

    def take(self, page: Page) -> None:
        table = records.to_table(self.dedupe(page.records), exact=page.exact, rules=self.rules)
        self.unifier.observe(table, redact(page.url))
        if self.tracker is not None:
            self.tracker(table)
        self.spool.append(table)
        self.streamer.offer(table, self.unifier.schema)


def _fetch_pages(
    client: Client, request: PageRequest, deadline: Deadline, stages: _Stages, record: RunRecord
) -> None:
    """Walk every page from `request` through the stages, counting them in `record`."""
    source = stages.source
    pages = pagination.walk(source.pagination, request, page_fetcher(client, source))
    try:
        for page in pages:
            stages.take(page)
            record.pages += 1
            record.records = stages.spool.rows
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
        record.attempts += client.attempts
        record.retries += client.retries
        record.duplicates_dropped = stages.dedupe.dropped


def _describe(
    source: Source,
    rows: int,
    run_schema: pa.Schema,
    stamp: RunStamp,
    record: RunRecord,
    tracker: state.CursorTracker | None,
) -> bool:
    """Log the files' schema and keep it in `record`; False when there is nothing to write.

    Emptiness and the cursor are judged on the run's own columns: the metadata columns are
    always there, and come from no record.
    """
    if rows == 0 or not run_schema.names:
        what = "no records" if rows == 0 else f"{rows} record(s), none with a field"
        logger.info("event=empty source=%s message=%s", source.name, quote(f"{what}; no data file written"))
        return False
    written = stamp.schema(run_schema)
    record.columns = {item.name: str(item.type) for item in written}
    logger.info("event=schema source=%s columns=%s", source.name, quote(schema.describe(written)))
    if tracker is not None and tracker.field not in run_schema.names:
        raise RecordsError(
            f"cursor_field {tracker.field!r} is in no record; columns are: {', '.join(run_schema.names)}"
        )
    return True


def _publish(
    storage: Storage,
    stages: _Stages,
    run_schema: pa.Schema,
    targets: dict[str, str],
    stamp: RunStamp,
) -> list[WrittenFile]:
    """Publish the streamed files, or, if the schema widened after streaming began, write them anew."""
    if stages.streamer.active and stages.streamer.schema == run_schema:
        return stages.streamer.publish()
    return write_files(storage, stages.spool.tables(), run_schema, targets, stamp)
