"""The pipeline of one run: pages in, published files out.

Each page is fetched, its records extracted, deduplicated and flattened into a table whose schema
is unified with the run's; the table is spooled to local disk, and streamed into the files for as
long as the run's schema holds. At the end the data guards judge the run (fetcher.run.guards);
then the streamed files are published, or, when a page widened the schema after streaming began,
the files are written again from the spool, under the final schema. The incremental cursor is
taken from the pages as they are written.

A child source (`[sources.parent]`) walks its pages once per row of its parent (fetcher.run.parents),
a few rows at a time (fetcher.run.fanout); the pages go through the same stages in the parent's
row order, each with the parent columns it carries (`_parent__id`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from fetcher.config import environment
from fetcher.config.model import Source
from fetcher.config.parent import fill
from fetcher.errors import DeadlineExceeded, FetchError, RecordsError
from fetcher.http import graphql
from fetcher.http.budget import Budget
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.http.decode import NotJson, decode
from fetcher.logs import quote
from fetcher.output.spool import Spool
from fetcher.output.writers import Streamer, WrittenFile, write_files
from fetcher.pagination import signs
from fetcher.pagination.kinds import NoPagination
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk
from fetcher.records import flatten as records
from fetcher.records import schema
from fetcher.records.landing import RunStamp, with_run_fields
from fetcher.records.names import Namer
from fetcher.records.rules import ColumnRules
from fetcher.redact import redact
from fetcher.run import fanout, guards, parents, state
from fetcher.run.history import RunRecord
from fetcher.storage import layout
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)

# A page, and the parent columns each of its records carries (none but for a child source).
Pages = Generator[tuple[Page, Mapping[str, Any]], None, None]


class _Counted(Protocol):
    attempts: int
    retries: int


def fetch_and_write(storage: Storage, scratch_dir: str, source: Source, record: RunRecord) -> bool:
    """Fetch every page of `source` and publish its files, filling in `record` as the run goes.

    The spool lives in `scratch_dir`. Returns True when the state should advance to `record.cursor`.
    """
    deadline = Deadline.after(source.run_timeout_s)
    rules = source.rules
    cursor = load_cursor(storage, source)
    tracker = _tracker(source, rules, cursor)
    record.primary_key = landed_key(source, rules)
    targets = {fmt: layout.data_file(source.name, record.started_at, fmt) for fmt in source.formats}
    stamp = RunStamp(record.run_id, record.started_at)
    budget = Budget(source.name, source.rate_limit, source.run_timeout_s)
    with (
        Spool(scratch_dir, layout.run_stem(source.name, record.started_at)) as spool,
        Streamer(storage, targets, stamp) as streamer,
    ):
        stages = _Stages(source, rules, spool, streamer, tracker)
        if source.parent is None:
            with Client(source, deadline, budget, in_container=environment.in_container()) as client:
                pages = walk(source.pagination, first_request(source, cursor), page_fetcher(client, source))
                _fetch_pages(((page, {}) for page in pages), client, deadline, stages, record)
        else:
            rows = parents.read_rows(storage, source)
            with fanout.ThreadClients(source, deadline, budget) as clients:
                _fetch_pages(_child_pages(source, rows, cursor, clients), clients, deadline, stages, record)
        run_schema = stages.unifier.schema
        has_rows = _describe(source, spool.rows, run_schema, stamp, record, tracker)
        guards.enforce(storage, source, record, cursor, tracker.value if tracker else None)
        if not has_rows:
            return False
        record.files = _publish(storage, stages, run_schema, targets, stamp)
    if tracker is None or not tracker.seen:
        return False
    record.cursor = tracker.value
    return True


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


def first_request(source: Source, cursor: Any) -> PageRequest:
    """The request the run starts from: the source's parameters and body, and the cursor if there is one."""
    params = dict(source.params)
    if source.incremental is not None and cursor is not None:
        params[source.incremental.param] = state.as_param(cursor)
    return PageRequest(source.url, params, source.request_body)


def page_fetcher(client: Client, source: Source) -> Callable[[PageRequest], Page]:
    """What pagination calls for each request: fetch it (as `source` says: a child's is filled in
    for its parent row), decode the body, find the records."""

    rules = source.rules

    def fetch(request: PageRequest) -> Page:
        response = client.get(request, source)
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
        if source.graphql is not None:
            graphql.raise_errors(document.value, shown)
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

    def take(self, page: Page, parent: Mapping[str, Any]) -> None:
        table = records.to_table(self.dedupe(page.records), exact=page.exact, rules=self.rules)
        if parent and table.num_rows:
            table = _with_parent_columns(table, parent)
        self.unifier.observe(table, redact(page.url))
        if self.tracker is not None:
            self.tracker(table)
        self.spool.append(table)
        self.streamer.offer(table, self.unifier.schema)


def _child_pages(
    source: Source, rows: list[parents.ParentRow], cursor: Any, clients: fanout.ThreadClients
) -> Pages:
    """Every page of the walk of every parent row, in the parent's row order."""
    assert source.parent is not None

    def walk_row(row: parents.ParentRow) -> list[Page]:
        endpoint = fill(source, row.values)
        fetch = page_fetcher(clients.get(), endpoint)
        return list(walk(source.pagination, first_request(endpoint, cursor), fetch))

    workers = source.parent.concurrency
    for row, pages in fanout.in_order(
        rows, walk_row, workers=workers, stop=clients.budget.close, name=source.name
    ):
        for page in pages:
            yield page, row.columns


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
        pages.close()  # a child's fan-out stops its threads here, before their clients close
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
