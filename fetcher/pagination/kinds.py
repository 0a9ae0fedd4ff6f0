"""Pagination: how the next request follows from the last page, for each kind the config names.

Each kind is a frozen msgspec struct of its settings, tagged with its name (`type = "page"`), that
checks its own settings and has two methods: `first` builds the first request and `next` derives
the following one from the page just fetched, or returns None at the end. The kinds hold no state;
`walk` drives them and stops loops and runaway paging. A new kind is one class and one entry in
`Paginator`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import msgspec

from fetcher import dotted
from fetcher.errors import ConfigError, PaginationError, RecordsError
from fetcher.redact import redact

DEFAULT_MAX_PAGES = 1000


@dataclass(frozen=True)
class PageRequest:
    """One request to make: a URL and the query parameters added to it."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)

    def with_params(self, **changes: str) -> PageRequest:
        return PageRequest(self.url, {**self.params, **changes})

    @property
    def full_url(self) -> str:
        """The URL with `params` merged into its query, canonically ordered: equal requests match."""
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True) + list(self.params.items())
        return urlunsplit(parts._replace(query=urlencode(sorted(query)), fragment=""))


@dataclass(frozen=True)
class Page:
    """One fetched page: the request, the final URL after redirects, headers, body and records.

    `exact` says the body needed the exact JSON parser (NaN, huge integers); `content` is the raw
    body, kept to spot an API that serves the same page forever.
    """

    request: PageRequest
    url: str
    headers: Mapping[str, str]
    body: Any
    records: list[dict[str, Any]]
    content: bytes = field(repr=False)
    exact: bool = False

    @property
    def record_count(self) -> int:
        return len(self.records)


class _Kind(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    """What every kind shares: `max_pages`, the bound on runaway paging."""

    max_pages: int = DEFAULT_MAX_PAGES

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless the settings make sense."""
        _check_positive(self.max_pages, f"{where}.max_pages")

    @property
    def body_path(self) -> str | None:
        """The key naming a path into the body that paging reads (an NDJSON body has none)."""
        return None


class NoPagination(_Kind, tag="none"):
    """`none`: a single request."""

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        return None


class PageNumber(_Kind, tag="page"):
    """`page`: `?page=1,2,3…`; stops on an empty page, or on a page shorter than `size`."""

    param: str = "page"
    start: int = 1
    size_param: str | None = None
    size: int | None = None

    def check(self, where: str) -> None:
        super().check(where)
        if self.size is not None:
            _check_positive(self.size, f"{where}.size")
        if self.size_param and self.size is None:
            raise ConfigError(f"{where}.size", "is required with size_param")

    def first(self, request: PageRequest) -> PageRequest:
        sizing = {self.size_param: str(self.size)} if self.size_param else {}
        return request.with_params(**{self.param: str(self.start)}, **sizing)

    def next(self, page: Page) -> PageRequest | None:
        if _is_last(page.record_count, self.size):
            return None
        number = int(page.request.params[self.param]) + 1
        return page.request.with_params(**{self.param: str(number)})


class Offset(_Kind, tag="offset"):
    """`offset`: `?offset=0&limit=100`; stops on an empty or short page, or at `total_path`."""

    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = 100
    total_path: str | None = None

    def check(self, where: str) -> None:
        super().check(where)
        _check_positive(self.limit, f"{where}.limit")

    @property
    def body_path(self) -> str | None:
        return "total_path" if self.total_path is not None else None

    def first(self, request: PageRequest) -> PageRequest:
        return request.with_params(**{self.offset_param: "0", self.limit_param: str(self.limit)})

    def next(self, page: Page) -> PageRequest | None:
        if _is_last(page.record_count, self.limit):
            return None
        offset = int(page.request.params[self.offset_param]) + self.limit
        if self.total_path is not None and offset >= self._total(page):
            return None
        return page.request.with_params(**{self.offset_param: str(offset)})

    def _total(self, page: Page) -> int:
        total = dotted.get(page.body, self.total_path)
        if isinstance(total, bool) or not isinstance(total, int):
            raise RecordsError(
                f"{redact(page.url)}: total_path {self.total_path!r} holds {total!r}, not an integer"
            )
        return total


class Cursor(_Kind, tag="cursor"):
    """`cursor`: sends the body's `cursor_path` value as `cursor_param`; stops when it is empty."""

    cursor_path: str
    cursor_param: str
    body_path = "cursor_path"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        cursor = dotted.get(page.body, self.cursor_path)
        if cursor is None or cursor == "":
            return None
        return page.request.with_params(**{self.cursor_param: _text(cursor)})


class Link(_Kind, tag="link"):
    """`link`: follows the RFC 8288 header `Link: <url>; rel="next"`."""

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        from requests.utils import parse_header_links

        for link in parse_header_links(page.headers.get("Link", "")):
            if "next" in link.get("rel", "").split() and link.get("url"):
                return PageRequest(urljoin(page.url, link["url"]))
        return None


class NextUrl(_Kind, tag="next_url"):
    """`next_url`: follows the URL at `next_path` in the body, absolute or relative."""

    next_path: str
    body_path = "next_path"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        url = dotted.get(page.body, self.next_path)
        if url is None or url == "":
            return None
        if not isinstance(url, str):
            raise RecordsError(f"{redact(page.url)}: next_path {self.next_path!r} holds {url!r}")
        return PageRequest(urljoin(page.url, url))


# Every kind; the configuration offers them by their tags, in this order.
Paginator = NoPagination | PageNumber | Offset | Cursor | Link | NextUrl

PAGINATORS: dict[str, type[Paginator]] = {kind.__struct_config__.tag: kind for kind in get_args(Paginator)}


def kind_of(paginator: Paginator) -> str:
    """The configuration name of `paginator`'s kind: `page`, `cursor`, …"""
    return paginator.__struct_config__.tag


def integer_keys(name: str) -> frozenset[str]:
    """The keys of the kind called `name` that hold integers (`size`, `max_pages`); none if unknown."""
    kind = PAGINATORS.get(name)
    fields = msgspec.structs.fields(kind) if kind is not None else ()
    return frozenset(info.encode_name for info in fields if int in (get_args(info.type) or (info.type,)))


def walk(paginator: Paginator, request: PageRequest, fetch: Callable[[PageRequest], Page]) -> Iterator[Page]:
    """Fetch page after page until the paginator stops.

    Raises PaginationError when a request would repeat (a cursor or next URL that loops), when a
    page repeats the previous one byte for byte (an API that ignores the page parameter), or when
    more pages remain after `max_pages`.
    """
    seen: set[str] = set()
    previous: bytes | None = None
    number = 1
    next_request: PageRequest | None = paginator.first(request)
    while next_request is not None:
        url = next_request.full_url
        if url in seen:
            raise PaginationError(
                f"pagination loops: page {number} would request {_describe(next_request)} again"
            )
        if number > paginator.max_pages:
            raise PaginationError(
                f"more pages remain after max_pages={paginator.max_pages}; "
                "raise [sources.pagination] max_pages"
            )
        seen.add(url)
        page = fetch(next_request)
        if page.record_count and page.content == previous:
            raise PaginationError(
                f"pagination loops: page {number} ({_describe(next_request)}) "
                f"repeats page {number - 1} exactly"
            )
        previous = page.content
        yield page
        next_request = paginator.next(page)
        number += 1


def _check_positive(value: int, key: str) -> None:
    if value <= 0:
        raise ConfigError(key, f"{value} must be greater than 0")


def _is_last(record_count: int, size: int | None) -> bool:
    return record_count == 0 or (size is not None and record_count < size)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe(request: PageRequest) -> str:
    return redact(request.full_url)
