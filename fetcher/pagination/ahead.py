"""Fetching ahead: the pages of a kind that numbers its requests (`page`, `offset`), several at a time.

Page N+1's request is known before page N comes back, so up to `concurrency` of them are sent at
once. `walk` still decides everything, page by page and in order, exactly as it does one page at a
time: its `fetch` is served from the requests sent ahead. Whatever they answered past the page that
ended paging is dropped, errors too, as the walk one page at a time would never have asked; an
error on a page before it is raised as that walk raises it. Requests go out only for pages the
walk may still ask for: never past `max_pages`, never past the page count a page announced
(`total_pages_path`, `total_path`), and never more than `concurrency` past the page being taken,
so at most that many go past the last page.

The threads are the caller's (`InOrder`): fetcher.run.fanout runs them, a client each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing

from fetcher.pagination.kinds import Paginator
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk

# A page, or the error fetching it raised: raised only if the walk asks for that page.
Outcome = Page | Exception
# Runs `work` on each request on a few threads, and hands on `(request, outcome)` in the requests'
# order, at most a few ahead of the one taken; closing it cancels what has not started.
InOrder = Callable[
    [Iterable[PageRequest], Callable[[PageRequest], Outcome]], Iterator[tuple[PageRequest, Outcome]]
]


def walk_ahead(
    paginator: Paginator, request: PageRequest, fetch: Callable[[PageRequest], Page], in_order: InOrder
) -> Iterator[Page]:
    """The pages `walk(paginator, request, fetch)` yields, fetched ahead through `in_order`.

    `paginator` must number its requests (`request_at`); `fetch` is called on `in_order`'s threads.
    """
    served = _Served(paginator, fetch)
    with closing(in_order(served.requests(paginator.first(request)), served.attempt)) as stream:
        served.stream = stream
        yield from walk(paginator, request, served)


class _Served:
    """The `fetch` the walk calls: each page taken from those fetched ahead, in order."""

    def __init__(self, paginator: Paginator, fetch: Callable[[PageRequest], Page]) -> None:
        self.paginator = paginator
        self.fetch = fetch
        self.stream: Iterator[tuple[PageRequest, Outcome]] | None = None
        self._count: int | None = None  # the page count the latest page to arrive announced

    def requests(self, first: PageRequest) -> Iterator[PageRequest]:
        """The requests to send ahead, lazily: the cap may become known while they go out."""
        for index in range(self.paginator.max_pages):
            if self._count is not None and index >= self._count:
                return
            ahead = self.paginator.request_at(first, index)
            if ahead is None:
                return
            yield ahead

    def attempt(self, request: PageRequest) -> Outcome:
        """Fetch `request` (on a thread of `in_order`); an error is kept for the walk to raise.

        A page that announces the page count caps the requests sent ahead as soon as it arrives,
        before the walk takes it: a page the cap then leaves out is fetched when the walk asks.
        """
        try:
            page = self.fetch(request)
        except Exception as exc:
            return exc
        count = self.paginator.page_count(page)
        if count is not None:
            self._count = count
        return page

    def __call__(self, request: PageRequest) -> Page:
        outcome = self._take(request)
        if outcome is None:  # not fetched ahead: the cap was passed, or the stream ended
            outcome = self.attempt(request)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _take(self, request: PageRequest) -> Outcome | None:
        """The outcome of `request` if it is the next fetched ahead; else the rest are dropped."""
        if self.stream is None:
            return None
        for sent, outcome in self.stream:
            if sent.identity == request.identity:
                return outcome
            break
        self.stream = None
        return None
