"""Fetching ahead: the same pages, errors and stops as the walk one page at a time, whatever the
order the requests complete in, and never more than `concurrency` requests past the end."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.errors import FetcherError, FetchError
from fetcher.pagination.ahead import walk_ahead
from fetcher.pagination.kinds import Offset, PageNumber, Paginator
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk
from fetcher.run.fanout import in_order

START = PageRequest("https://api.example.com/items", {"q": "x"})


@dataclass
class FakeApi:
    """`records` records, `size` a page; past the last page an empty page, a 404, or the last page
    again; an error (HTTP 500) on page `failing` if set; a random latency on every request."""

    paginator: Paginator
    records: int
    size: int
    past_end: str  # "empty" | "404" | "repeat"
    failing: int | None
    seed: int
    asked: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._latency = random.Random(self.seed)

    @property
    def pages(self) -> int:
        return -(-self.records // self.size)

    def fetch(self, request: PageRequest) -> Page:
        index = self._index(request)
        with self._lock:
            self.asked.append(index)
            delay = self._latency.random() / 1000  # server latency, so completions come in any order
        time.sleep(delay)
        if index == self.failing:
            raise FetchError(request.describe(), "HTTP 500 Internal Server Error", status=500)
        last = max(self.pages - 1, 0)
        if index > last and self.past_end == "404":
            raise FetchError(request.describe(), "HTTP 404 Not Found", status=404)
        shown = min(index, last) if self.past_end == "repeat" else index
        ids = list(range(shown * self.size, min((shown + 1) * self.size, self.records)))
        body = {
            "data": [{"id": n} for n in ids],
            "has_more": shown < self.pages - 1,
            "total_pages": self.pages,
            "total": self.records,
        }
        return Page(request, request.full_url, {}, body, body["data"], json.dumps(body).encode())

    def _index(self, request: PageRequest) -> int:
        if isinstance(self.paginator, Offset):
            return int(request.params["offset"]) // self.paginator.limit
        return int(request.params["page"]) - 1


@st.composite
def walks(draw: st.DrawFn) -> tuple[Paginator, dict[str, Any]]:
    """A page or offset paginator with random stop signals, and the API it walks."""
    size = draw(st.integers(1, 6))
    signals = {
        "has_more_path": draw(st.sampled_from([None, "has_more"])),
        "total_pages_path": draw(st.sampled_from([None, "total_pages"])),
        "stop_on_status": draw(st.sampled_from([(), (404,)])),
        "repeated_page": draw(st.sampled_from(["fail", "stop"])),
        "max_pages": draw(st.integers(1, 14)),
        "concurrency": draw(st.integers(1, 8)),
    }
    paginator: Paginator
    if draw(st.booleans()):
        sized = {"size_param": "size", "size": size} if draw(st.booleans()) else {}
        paginator = PageNumber(**signals, **sized)
    else:
        paginator = Offset(**signals, limit=size, total_path=draw(st.sampled_from([None, "total"])))
    api = {
        "records": draw(st.integers(0, 40)),
        "size": size,
        "past_end": draw(st.sampled_from(["empty", "404", "repeat"])),
        "failing": draw(st.none() | st.integers(0, 10)),
        "seed": draw(st.integers(0, 2**32)),
    }
    return paginator, api


def _outcome(pages: Callable[[], Iterable[Page]]) -> tuple[list[tuple[str, bytes]], str | None]:
    """The pages walked (request, body), and the error that ended the walk, if any."""
    taken: list[tuple[str, bytes]] = []
    try:
        for page in pages():
            taken.append((page.request.identity, page.content))
    except FetcherError as exc:
        return taken, f"{type(exc).__name__}: {exc}"
    return taken, None


def _ahead(paginator: Paginator, fetch: Callable[[PageRequest], Page]) -> Iterator[Page]:
    fetch_in_order = partial(in_order, workers=paginator.concurrency, stop=lambda: None, name="test")
    return walk_ahead(paginator, START, fetch, fetch_in_order)


@settings(max_examples=300, deadline=None)
@given(walks())
def test_ahead_walks_the_pages_of_the_walk_one_at_a_time(case: tuple[Paginator, dict[str, Any]]) -> None:
    paginator, settings_ = case
    alone = FakeApi(paginator, **settings_)
    ahead = FakeApi(paginator, **settings_)

    expected = _outcome(lambda: walk(paginator, START, alone.fetch))
    got = _outcome(lambda: _ahead(paginator, ahead.fetch))

    assert got == expected
    assert len(ahead.asked) == len(set(ahead.asked))  # each page asked once
    assert set(alone.asked) <= set(ahead.asked)
    assert max(ahead.asked) <= max(alone.asked) + paginator.concurrency
    assert max(ahead.asked) < paginator.max_pages
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("fetcher-test")]


def test_ahead_error_before_the_end_is_the_walks_error() -> None:
    """An error on page 3 of 10 fails the walk as it does one page at a time; the pages before
    come first."""
    paginator = PageNumber(size_param="size", size=5, concurrency=4)
    api = FakeApi(paginator, records=50, size=5, past_end="empty", failing=2, seed=1)

    taken, error = _outcome(lambda: _ahead(paginator, api.fetch))

    assert len(taken) == 2
    assert (
        error == "FetchError: https://api.example.com/items?page=3&q=x&size=5: HTTP 500 Internal Server Error"
    )
    assert max(api.asked) <= 2 + 4  # at most concurrency past the page that failed


def test_ahead_stops_at_the_page_count_a_page_announced() -> None:
    """Page 1 says there are 3 pages: nothing is asked past the third, though every page is full."""
    paginator = PageNumber(total_pages_path="total_pages", concurrency=2)
    api = FakeApi(paginator, records=9, size=3, past_end="empty", failing=None, seed=2)

    assert len(list(_ahead(paginator, api.fetch))) == 3
    assert sorted(api.asked) == [0, 1, 2]


@pytest.mark.parametrize(
    "paginator", [PageNumber(size=100, concurrency=1), Offset(concurrency=1)], ids=["page", "offset"]
)
def test_concurrency_one_has_at_most_one_request_under_way_past_a_page_taken(paginator: Paginator) -> None:
    """(A run at `concurrency = 1` walks one page at a time, without fetching ahead: fetcher.run.walks.)"""
    api = FakeApi(paginator, records=10, size=100, past_end="empty", failing=None, seed=3)

    assert len(list(_ahead(paginator, api.fetch))) == 1
    assert sorted(api.asked) in ([0], [0, 1])  # the second is cancelled if it had not started
