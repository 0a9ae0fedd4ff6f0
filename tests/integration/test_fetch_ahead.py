"""Fetching ahead against a real threaded server: the same files at any concurrency, requests really
in flight together, fewer after a 429, errors as the walk one page at a time raises them, and the
next page of a cursor walk on its way while the page before is still being written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from fetcher.config.load import load
from fetcher.config.model import Source
from fetcher.run import history, pipeline, runner
from tests.apiserver import ApiServer, Exchange, Reply
from tests.integration.test_real_apis import readme_example
from tests.polling import wait_for

RECORDS = [{"id": n, "name": f"item {n}", "score": n / 7, "tags": [n % 3, n % 5]} for n in range(230)]
SIZE = 10
STARTED = "2026-11-21T10:00:05Z"


class TrackedApi:
    """Pages of SIZE records by `?page=`, noting how many requests were in flight as each arrived.

    `limit`: more than that many in flight at once get a 429 with `Retry-After: 0`. `failing`: that
    page answers 400. `past_end_404`: pages past the last answer 404, not an empty page.
    `hold_first`: page 1 is answered only once a second request is in flight (or after 10 s).
    """

    def __init__(
        self,
        *,
        limit: int | None = None,
        failing: int | None = None,
        past_end_404: bool = False,
        hold_first: bool = False,
        latency_s: float = 0.001,
    ) -> None:
        self.limit, self.failing, self.past_end_404 = limit, failing, past_end_404
        self.hold_first, self.latency_s = hold_first, latency_s
        self.arrivals: list[tuple[int, int]] = []  # (in flight, status) for each request, in arrival order
        self._in_flight = 0
        self._lock = threading.Lock()
        self._second = threading.Event()

    def __call__(self, exchange: Exchange) -> Reply:
        page = int(exchange.query["page"])
        with self._lock:
            self._in_flight += 1
            in_flight = self._in_flight
            if in_flight > 1:
                self._second.set()
        try:
            reply = self._answer(page, in_flight)
            with self._lock:
                self.arrivals.append((in_flight, reply[0]))
            return reply
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, page: int, in_flight: int) -> tuple[int, Any, dict[str, str]]:
        if self.limit is not None and in_flight > self.limit:
            return 429, {"detail": "slow down"}, {"Retry-After": "0"}
        if page == 1 and self.hold_first:
            self._second.wait(10)
        time.sleep(self.latency_s)  # server latency: requests overlap as they would at a real API
        if page == self.failing:
            return 400, {"detail": f"page {page} is broken"}, {}
        records = RECORDS[(page - 1) * SIZE : page * SIZE]
        if not records and self.past_end_404:
            return 404, {"detail": "Invalid page."}, {}
        return 200, {"data": records}, {}

    @property
    def most_in_flight(self) -> int:
        return max(in_flight for in_flight, _ in self.arrivals)


def _source(write_config: Callable[[str], Path], url: str, name: str, paging: str) -> tuple[Any, Source]:
    config = load(
        str(
            write_config(
                f'output_dir = "{{out}}"\n[[sources]]\nname = "{name}"\nurl = "{url}"\nrecords = "data"\n'
                f'[sources.pagination]\ntype = "page"\n{paging}'
            )
        ),
        {},
    )
    return config, config.sources[0]


def _run(
    api: ApiServer,
    tracked: TrackedApi,
    write_config: Callable[[str], Path],
    run_clock: Callable[[str], None],
    concurrency: int,
    paging: str = "",
) -> history.RunRecord:
    api.route(f"/items{concurrency}", tracked)
    config, source = _source(
        write_config,
        api.url(f"/items{concurrency}"),
        f"items{concurrency}",
        f"concurrency = {concurrency}\n{paging}",
    )
    run_clock(STARTED)  # both runs start in the same second: the same run columns, the same bytes
    record = runner.run(config, source)
    assert not _fetching_threads()
    return record


def _fetching_threads() -> list[str]:
    """The run's own threads; the watchdog (fetcher.http.watchdog) serves the whole process."""
    return [
        thread.name
        for thread in threading.enumerate()
        if thread.name.startswith("fetcher-") and thread.name != "fetcher-watchdog"
    ]


def _landed(tmp_path: Path, record: history.RunRecord) -> dict[str, bytes]:
    return {item.format: (tmp_path / "out" / item.path).read_bytes() for item in record.files}


def test_concurrency_8_lands_the_bytes_of_concurrency_1_with_requests_in_flight_together(
    api: ApiServer, write_config: Callable[[str], Path], run_clock: Callable[[str], None], tmp_path: Path
) -> None:
    one, eight = TrackedApi(), TrackedApi(hold_first=True)

    alone = _run(api, one, write_config, run_clock, 1)
    ahead = _run(api, eight, write_config, run_clock, 8)

    assert alone.status == ahead.status == history.SUCCEEDED, (alone.error, ahead.error)
    assert alone.pages == ahead.pages == 24 and ahead.records == len(RECORDS)
    assert sorted(_landed(tmp_path, ahead)) == ["csv", "parquet"]
    assert _landed(tmp_path, ahead) == _landed(tmp_path, alone)
    assert one.most_in_flight == 1 and len(one.arrivals) == 24
    assert eight.most_in_flight > 1
    assert 24 <= len(eight.arrivals) <= 24 + 8  # at most concurrency past the empty page


def test_429s_lower_the_requests_in_flight_and_the_files_stay_the_same(
    api: ApiServer, write_config: Callable[[str], Path], run_clock: Callable[[str], None], tmp_path: Path
) -> None:
    """The server refuses a third request in flight with a 429 (20 ms a page, so that eight
    requests pile up): the run lowers its requests in flight to what the server takes, and still
    lands every page. Sending eight at a time all along, most requests would be refused, and a
    page would run out of attempts."""
    alone = _run(api, TrackedApi(), write_config, run_clock, 1)
    limited = TrackedApi(limit=2, hold_first=True, latency_s=0.02)

    ahead = _run(api, limited, write_config, run_clock, 8)

    assert ahead.status == history.SUCCEEDED, ahead.error
    assert _landed(tmp_path, ahead) == _landed(tmp_path, alone)
    statuses = [status for _, status in limited.arrivals]
    assert limited.most_in_flight >= 3  # the first burst: more than the server takes, refused
    later = statuses[statuses.index(429) + 8 :]  # after the requests sent before the first 429 came back
    assert len(later) >= 20 and later.count(429) * 4 <= len(later)


def test_an_error_before_the_last_page_fails_the_run_as_one_page_at_a_time(
    api: ApiServer, write_config: Callable[[str], Path], run_clock: Callable[[str], None]
) -> None:
    alone = _run(api, TrackedApi(failing=3), write_config, run_clock, 1)
    ahead = _run(api, TrackedApi(failing=3), write_config, run_clock, 4)

    assert alone.status == ahead.status == history.FAILED
    assert alone.error is not None and ahead.error is not None
    assert ahead.error.message == alone.error.message.replace("items1", "items4")
    assert (ahead.error.status, ahead.pages, ahead.files) == (400, 2, [])


def test_404_past_the_end_stops_cleanly(
    api: ApiServer, write_config: Callable[[str], Path], run_clock: Callable[[str], None], tmp_path: Path
) -> None:
    paging = "stop_on_status = [404]\n"
    alone = _run(api, TrackedApi(past_end_404=True), write_config, run_clock, 1, paging)
    ahead = _run(api, TrackedApi(past_end_404=True), write_config, run_clock, 4, paging)

    assert alone.status == ahead.status == history.SUCCEEDED, ahead.error
    assert ahead.pages == 23
    assert _landed(tmp_path, ahead) == _landed(tmp_path, alone)


def test_next_url_asks_for_the_next_page_while_the_page_before_is_taken(
    api: ApiServer, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stages wait, on each page, until the server has seen the next page's request."""

    def items(exchange: Exchange) -> Reply:
        after = int(exchange.query.get("after", "0"))
        following = f"/items?after={after + SIZE}" if after + SIZE < 50 else None
        return 200, {"data": RECORDS[after : after + SIZE], "next": following}

    api.route("/items", items)
    config = load(
        str(
            write_config(
                f'output_dir = "{{out}}"\n[[sources]]\nname = "chain"\nurl = "{api.url("/items")}"\n'
                'records = "data"\n[sources.pagination]\ntype = "next_url"\nnext_path = "next"\n'
            )
        ),
        {},
    )
    take = pipeline._Stages.take
    overlapped: list[int] = []

    def take_when_the_next_is_asked(stages: Any, page: Any, parent: Any) -> None:
        after = int(page.request.full_url.partition("after=")[2] or 0)
        if after + SIZE < 50:
            asked = f"{after + SIZE}"
            wait_for(lambda: any(r.query.get("after") == asked for r in api.requests), 10, f"after={asked}")
            overlapped.append(after)
        take(stages, page, parent)

    monkeypatch.setattr(pipeline._Stages, "take", take_when_the_next_is_asked)

    record = runner.run(config, config.sources[0])

    assert record.status == history.SUCCEEDED, record.error
    assert (record.pages, overlapped) == (5, [0, 10, 20, 30])
    assert not _fetching_threads()


def test_readme_fetch_ahead_example_lands_every_page_and_stops_at_the_announced_count(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """Eight at a time: the first eight go out before any page says how many there are, and
    none after; those past the third page are dropped."""

    def orders(exchange: Exchange) -> Reply:
        page, size = int(exchange.query["page"]), int(exchange.query["per_page"])
        return 200, {"data": RECORDS[(page - 1) * size : page * size], "meta": {"pages": 3}}

    api.route("/orders", orders)
    config = load(str(write_config(readme_example("fetch_ahead", api.url("/orders")))), {})

    record = runner.run(config, config.sources[0])

    assert record.status == history.SUCCEEDED, record.error
    assert (record.pages, record.records) == (3, 230)
    asked = sorted(int(r.query["page"]) for r in api.requests)
    assert asked == list(range(1, len(asked) + 1)) and 3 <= len(asked) <= 8


def test_run_timeout_ends_a_run_whose_pages_ahead_never_come(
    api: ApiServer, write_config: Callable[[str], Path]
) -> None:
    """Page 1 comes back; pages 2 and on stall until the test ends. The run fails on its deadline,
    and no fetching thread is left."""
    stalled = threading.Event()

    def items(exchange: Exchange) -> Reply:
        if exchange.query["page"] != "1":
            stalled.wait(30)
        return 200, {"data": RECORDS[:SIZE]}

    api.route("/items4", items)
    config, source = _source(write_config, api.url("/items4"), "items4", "concurrency = 4\n")
    source = msgspec.structs.replace(source, timeout_s=0.5, run_timeout_s=1.0)
    try:
        record = runner.run(config, source)
        left = _fetching_threads()
    finally:
        stalled.set()

    assert record.status == history.FAILED and record.error is not None
    assert record.error.type == "DeadlineExceeded", record.error
    assert "run_timeout_s=1" in record.error.message
    assert left == []
