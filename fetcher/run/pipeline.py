"""The pipeline of one run: pages in, published files out.

Each page is fetched, its records extracted, deduplicated and flattened into a table whose schema
is unified with the run's; the table is spooled to local disk, and streamed into the files for as
long as the run's schema holds. At the end the data guards judge the run (fetcher.run.guards);
then the streamed files are published, or, when a page widened the schema after streaming began,
the files are written again from the spool, under the final schema. The incremental cursor is
taken from the pages as they are written; a windowed source's cursor is the end of its last
time window (fetcher.run.windows).

The pages come from fetcher.run.walks: one request sequence, or one per time window, each walked
once, or once per parent row for a child source (`[sources.parent]`); they go through the same
stages in order, each with the parent columns it carries (`_parent__id`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from fetcher.config import environment
from fetcher.config.model import Source
from fetcher.errors import DeadlineExceeded, RecordsError
from fetcher.http.budget import Budget
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.logs import quote
from fetcher.output.spool import Spool
from fetcher.output.writers import Streamer, WrittenFile, write_files
from fetcher.pagination import signs
from fetcher.pagination.kinds import NoPagination
from fetcher.pagination.pages import Page
from fetcher.records import flatten as records
from fetcher.records import schema
from fetcher.records.landing import RunStamp, with_run_fields
from fetcher.records.names import Namer
from fetcher.records.rules import ColumnRules
from fetcher.redact import redact
from fetcher.run import guards, parents, state, walks
from fetcher.run.history import BACKFILL, RunRecord
from fetcher.run.walks import Pages
from fetcher.run.windows import Window, next_cursor
from fetcher.storage import layout
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


class _Counted(Protocol):
    attempts: int
    retries: int


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
    cursor = walks.load_cursor(storage, source)
    planned = windows is None and source.windowed
    if planned:
        windows = walks.run_windows(source, cursor, record.started_at)
    tracker = _tracker(source, rules, cursor)
    record.primary_key = landed_key(source, rules)
    targets = {fmt: layout.data_file(source.name, record.started_at, fmt) for fmt in source.formats}
    stamp = RunStamp(record.run_id, record.started_at)
    with (
        Spool(scratch_dir, layout.run_stem(source.name, record.started_at)) as spool,
        Streamer(storage, targets, stamp) as streamer,
    ):
        stages = _Stages(source, rules, spool, streamer, tracker)
        _fetch_all(storage, stages, cursor, windows, deadline, record)
        run_schema = stages.unifier.schema
        has_rows = _describe(source, spool.rows, run_schema, stamp, record, tracker)
        moved = next_cursor(cursor, windows) if planned and windows is not None else None
        end = (moved or cursor) if windows is not None else (tracker.value if tracker else None)
        _enforce_guards(storage, source, record, cursor, end)
        if has_rows:
            record.files = _publish(storage, stages, run_schema, targets, stamp)
    if windows is not None:
        # An empty window moves the cursor too, so that it is not asked for again.
        record.cursor = moved
        return moved is not None
    if tracker is None or not tracker.seen or not record.files:
        return False
    record.cursor = tracker.value
    return True


def _fetch_all(
    storage: Storage,
    stages: _Stages,
    cursor: Any,
    windows: list[Window] | None,
    deadline: Deadline,
    record: RunRecord,
) -> None:
    """Take every page of the run through the stages, through the one client its threads share."""
    source = stages.source
    budget = Budget(source.name, source.rate_limit, source.run_timeout_s, walks.concurrency(source))
    rows = parents.read_rows(storage, source) if source.parent is not None else []
    with Client(source, deadline, budget, in_container=environment.in_container()) as client:
        try:
            if source.parent is None:
                pages = walks.plain_pages(client, source, cursor, windows, record)
            else:
                pages = walks.child_pages(source, rows, cursor, windows, client, record)
            _fetch_pages(pages, client, deadline, stages, record)
        finally:
            budget.close()  # no request of a thread still running waits for its turn


def _enforce_guards(storage: Storage, source: Source, record: RunRecord, start: Any, end: Any) -> None:
    """Judge the run by the data guards before anything is published (fetcher.run.guards).

    The cursor they watch moves from `start` to `end`, the one the run would save: a windowed
    run's is its last window's end. A backfill leaves the cursor alone, so `stale_cursor_runs`
    does not judge it.
    """
    guards.enforce(storage, source, record, start, end, watch_cursor=record.kind != BACKFILL)


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


def columns(page: Page, source: Source) -> dict[str, str]:
    """The columns, as they land, and their types that a run would write for `page` alone."""
    rules = source.rules
    unifier = schema.Unifier(source.name, rules)
    table = (
        page.table
        if page.table is not None
        else records.to_table(page.records, exact=page.exact, rules=rules)
    )
    unifier.observe(table, redact(page.url))
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

    def take(self, page: Page, parent: Mapping[str, Any]) -> None:
        if page.table is not None and not self.dedupe.primary_key:  # fastpages: never with a key
            table = page.table
        else:
            table = records.to_table(self.dedupe(page.records), exact=page.exact, rules=self.rules)
        if parent and table.num_rows:
            table = _with_parent_columns(table, parent)
        self.unifier.observe(table, redact(page.url))
        if self.tracker is not None:
            self.tracker(table)
        self.spool.append(table)
        self.streamer.offer(table, self.unifier.schema)


def _with_parent_columns(table: pa.Table, parent: Mapping[str, Any]) -> pa.Table:
    """`table` with a column for each parent value its records carry; a record field that lands on
    the same name is an error, never merged."""
    extra = records.to_table([dict(parent)] * table.num_rows)
    for field, column in zip(extra.schema, extra.columns, strict=True):
        if field.name in table.column_names:
            raise RecordsError(
                f"a field of the records lands on the column {field.name!r}, which [sources.parent] "
                "include fills; leave the field out with `exclude`"
            )
        table = table.append_column(field, column)
    return table


def _fetch_pages(
    pages: Pages, counted: _Counted, deadline: Deadline, stages: _Stages, record: RunRecord
) -> None:
    """Take every page through the stages, counting them in `record`."""
    source = stages.source
    first: Page | None = None
    try:
        for page, parent in pages:
            first = first or page
            stages.take(page, parent)
            record.pages += 1
            record.records = stages.spool.rows
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "event=page source=%s page=%d records=%d table=%s url=%s",
                    source.name,
                    record.pages,
                    page.record_count,
                    "exact" if page.table is None else "fast",
                    quote(redact(page.url)),
                )
            if deadline.expired():
                raise DeadlineExceeded(
                    f"run_timeout_s={source.run_timeout_s:g} reached after {record.pages} pages"
                )
    finally:
        pages.close()  # the fetching threads stop here, before the client closes
        record.attempts, record.retries = counted.attempts, counted.retries
        record.duplicates_dropped = stages.dedupe.dropped
    if record.pages == 1 and first is not None and isinstance(source.pagination, NoPagination):
        _note_more_pages(source.name, first)


def _note_more_pages(name: str, page: Page) -> None:
    """Warn, in one line, when the one page of a source that does not page looks like the first of several."""
    sign = signs.more_pages(page)
    if sign is not None:
        logger.warning(
            "event=maybe_more_pages source=%s records=%d reason=%s hint=%s",
            name,
            page.record_count,
            quote(sign.reason),
            quote(f"the API may have more; if so, set [sources.pagination] {sign.setting}"),
        )


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
