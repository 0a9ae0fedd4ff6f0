"""What a run asks the API for: its request sequences, and the pages each one walks.

A run is one request sequence, or, for a windowed source, one per time window (fetcher.run.windows),
with the run's placeholders filled in (`{cursor}`, `{window_start}`, `{window_end}`:
fetcher.config.placeholders) and the cursor or the window in its parameters. The source's
pagination walks each sequence once, or, for a child source (`[sources.parent]`), once per row of
its parent (fetcher.run.parents), a few rows at a time (fetcher.run.fanout), handed on in the
parent's row order with the parent columns its records carry (`_parent__id`). All of a run's
requests share its deadline and its rate budget.

A source without a parent walks each sequence `[sources.pagination] concurrency` requests at a
time: `page` and `offset` fetch that many pages ahead (fetcher.pagination.ahead), and `cursor`,
`link` and `next_url` fetch the next page while the run takes the one before through its stages
(fetcher.run.fanout.in_background). `concurrency = 1`, and a source that does not page, walk one
page at a time on the run's own thread. A child walks each row's pages one at a time: its rows
are what runs at once (`[sources.parent] concurrency`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from datetime import datetime
from functools import partial
from typing import Any

from fetcher.config.model import Source
from fetcher.config.placeholders import fill
from fetcher.errors import FetchError
from fetcher.http import graphql
from fetcher.http.client import Client
from fetcher.http.decode import NotJson, decode
from fetcher.pagination import ahead
from fetcher.pagination.kinds import NoPagination
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk
from fetcher.records import flatten as records
from fetcher.redact import redact
from fetcher.run import fanout, fastpages, parents, state
from fetcher.run.history import RunRecord
from fetcher.run.windows import Window, plan
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)

# A page, and the parent columns each of its records carries (none but for a child source).
Pages = Generator[tuple[Page, Mapping[str, Any]], None, None]


def load_cursor(storage: Storage, source: Source) -> Any:
    """The cursor the run sends: the saved one, else `initial`; None when there is none to send."""
    if source.incremental is None:
        return None
    return state.load_cursor(storage, source.name, source.incremental)


def run_windows(source: Source, cursor: Any, now: datetime) -> list[Window] | None:
    """The time windows a run of `source` starting `now` asks for from `cursor`; None if not windowed."""
    if not source.windowed:
        return None
    assert source.incremental is not None
    return plan(source.incremental, cursor, now)


def sequences(
    source: Source, cursor: Any, windows: list[Window] | None, record: RunRecord | None = None
) -> list[tuple[Source, Window | None]]:
    """Each request sequence of a run: the source with the run's placeholders filled, and its window.

    One sequence without windows, one per window with them; `record` notes the windows' range.
    """
    if windows is None:
        return [(fill(source, {"cursor": state.as_param(cursor)}) if cursor is not None else source, None)]
    if record is not None and windows:
        record.window_start = windows[0].values["window_start"]
        record.window_end = windows[-1].values["window_end"]
    logger.info("event=windows source=%s windows=%d", source.name, len(windows))
    return [(fill(source, window.values), window) for window in windows]


def first_request(source: Source, cursor: Any, window: Window | None = None) -> PageRequest:
    """The request a sequence starts from: the source's parameters and body, and the cursor or the window.

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
    return PageRequest(source.url, params, source.request_body)


def concurrency(source: Source) -> int:
    """The most requests of a run of `source` out at once: its rows' or its pages'."""
    return source.parent.concurrency if source.parent is not None else source.pagination.concurrency


def plain_pages(
    client: Client,
    source: Source,
    cursor: Any,
    windows: list[Window] | None,
    record: RunRecord,
) -> Pages:
    """Every page of every request sequence of a source without a parent, in order.

    When the caller stops taking pages, or a page fails, the run's budget closes, so that no
    request fetched ahead waits any longer for its turn, and the threads are joined.
    """
    for filled, window in sequences(source, cursor, windows, record):
        if window is not None:
            logger.info("event=window source=%s window=%s", source.name, window)
        with closing(_walk(client, filled, first_request(filled, cursor, window))) as pages:
            try:
                for page in pages:
                    yield page, {}
            except BaseException:
                client.budget.close()
                raise


def _walk(client: Client, source: Source, request: PageRequest) -> Iterator[Page]:
    """The pages of one request sequence: fetched ahead, a page ahead, or one at a time."""
    paginator = source.pagination
    if paginator.concurrency == 1 or isinstance(paginator, NoPagination):
        return walk(paginator, request, page_fetcher(client, source))
    if paginator.request_at(paginator.first(request), 0) is not None:
        # When the walk ends, or fails, the requests it sent ahead stop waiting and retrying: it
        # drops their pages, and the run goes on (to another window) or fails without them.
        ended = threading.Event()
        fetch = page_fetcher(client, source, ended)  # one per walk: its pages share the schema hint
        in_order = partial(fanout.in_order, workers=paginator.concurrency, stop=ended.set, name=source.name)
        return ahead.walk_ahead(paginator, request, fetch, in_order)
    return fanout.in_background(walk(paginator, request, page_fetcher(client, source)), name=source.name)


def child_pages(
    source: Source,
    rows: list[parents.ParentRow],
    cursor: Any,
    windows: list[Window] | None,
    client: Client,
    record: RunRecord,
) -> Pages:
    """Every page of the walk of every parent row, in the parent's row order, sequence by sequence."""
    assert source.parent is not None
    for filled, window in sequences(source, cursor, windows, record):
        if window is not None:
            logger.info("event=window source=%s window=%s", source.name, window)

        def walk_row(
            row: parents.ParentRow, template: Source = filled, at: Window | None = window
        ) -> list[Page]:
            endpoint = fill(template, row.values)
            fetch = page_fetcher(client, endpoint)
            return list(walk(source.pagination, first_request(endpoint, cursor, at), fetch))

        for row, pages in fanout.in_order(
            rows, walk_row, workers=source.parent.concurrency, stop=client.budget.close, name=source.name
        ):
            for page in pages:
                yield page, row.columns


def page_fetcher(
    client: Client, source: Source, cancelled: threading.Event | None = None
) -> Callable[[PageRequest], Page]:
    """What pagination calls for each request: fetch it (as `source` says: filled in for a window or
    a parent row), decode the body, find the records; or build the page's table by the fast path.
    `cancelled`, once set, ends the requests still under way (fetcher.http.client)."""

    rules = source.rules
    fast = fastpages.for_source(source)

    def fetch(request: PageRequest) -> Page:
        response = client.get(request, source, cancelled)
        shown = redact(response.url)
        built = fast.page(request, response, shown) if fast is not None else None
        if built is not None:
            return built
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
