"""Walking the pages: drive a pagination kind from the first request to the last page.

`walk` holds what no kind can see alone: the requests already made (a loop), the page before (an
API that ignores the page parameter), the page count (`max_pages`), and the stop signals that
arrive instead of a page (a status such as DRF's 404 past the last page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from fetcher.errors import FetchError, PaginationError
from fetcher.pagination.kinds import Paginator
from fetcher.pagination.pages import Page, PageRequest

logger = logging.getLogger(__name__)


def walk(paginator: Paginator, request: PageRequest, fetch: Callable[[PageRequest], Page]) -> Iterator[Page]:
    """Fetch page after page until the paginator stops.

    Ends cleanly when a page after the first answers a status in `stop_on_status`, or repeats the
    page before under `repeated_page = "stop"`. Raises PaginationError when a request would repeat
    (a cursor or next URL that loops), when a page repeats the previous one byte for byte (an API
    that ignores the page parameter), or when more pages remain after `max_pages`.
    """
    seen: set[str] = set()
    previous: bytes | None = None
    number = 1
    next_request: PageRequest | None = paginator.first(request)
    while next_request is not None:
        if next_request.identity in seen:
            raise PaginationError(
                f"pagination loops: page {number} would request {next_request.describe()} again"
            )
        if number > paginator.max_pages:
            raise PaginationError(
                f"more pages remain after max_pages={paginator.max_pages}; "
                "raise [sources.pagination] max_pages"
            )
        seen.add(next_request.identity)
        page = _fetch(paginator, next_request, fetch, number)
        if page is None or _ends_on_repeat(paginator, page, previous, number):
            return
        previous = page.content
        yield page
        next_request = paginator.next(page)
        number += 1


def _fetch(
    paginator: Paginator, request: PageRequest, fetch: Callable[[PageRequest], Page], number: int
) -> Page | None:
    """The page `request` answers, or None when its status says that paging is over."""
    try:
        return fetch(request)
    except FetchError as exc:
        if number == 1 or exc.status is None or not paginator.ends_on_status(exc.status):
            raise
        logger.debug("event=paging_end page=%d status=%d", number, exc.status)
        return None


def _ends_on_repeat(paginator: Paginator, page: Page, previous: bytes | None, number: int) -> bool:
    """Whether `page` repeats the page before and that ends paging; PaginationError if it is a loop."""
    if not page.record_count or page.content != previous:
        return False
    if paginator.ends_on_repeat:
        logger.debug("event=paging_end page=%d repeats=%d", number, number - 1)
        return True
    raise PaginationError(
        f"pagination loops: page {number} ({page.request.describe()}) repeats page {number - 1} exactly"
    )
