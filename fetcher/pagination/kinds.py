"""Pagination kinds: how the next request follows from the last page, for each kind the config names.

Each kind is a frozen msgspec struct of its settings, tagged with its name (`type = "page"`), that
checks its own settings and has two methods: `first` builds the first request and `next` derives
the following one from the page just fetched, or returns None at the end. The kinds hold no state;
`fetcher.pagination.walk` drives them and stops loops and runaway paging. A new kind is one class
and one entry in `Paginator`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import urljoin

import msgspec

from fetcher import dotted
from fetcher.errors import ConfigError, RecordsError
from fetcher.pagination.pages import Page, PageRequest
from fetcher.redact import redact

DEFAULT_MAX_PAGES = 1000
DEFAULT_CONCURRENCY = 4
# 429 is retried, never an answer; a 5xx is a failure. Any other 4xx may mean "past the last page".
_STOP_STATUSES = frozenset(range(400, 500)) - {429}


class _Kind(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    """What every kind shares: `max_pages`, the bound on runaway paging, and `concurrency`, the
    requests a walk may have out at once (fetcher.pagination.ahead; 1 walks one page at a time)."""

    max_pages: int = DEFAULT_MAX_PAGES
    concurrency: int = DEFAULT_CONCURRENCY

    # The keys naming paths into the body that paging reads (an NDJSON body has none to read).
    _BODY_PATHS: ClassVar[tuple[str, ...]] = ()

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless the settings make sense."""
        _check_positive(self.max_pages, f"{where}.max_pages")
        _check_positive(self.concurrency, f"{where}.concurrency")

    @property
    def body_path(self) -> str | None:
        """The first key set that names a path into the body, if any."""
        return next((key for key in self._BODY_PATHS if getattr(self, key) is not None), None)

    @property
    def sends_body(self) -> bool:
        """Whether paging puts its values in the request's JSON body (which needs a POST)."""
        return False

    def ends_on_status(self, status: int) -> bool:
        """Whether HTTP `status`, answered after the first page, means there are no more pages."""
        return False

    @property
    def ends_on_repeat(self) -> bool:
        """Whether a page identical to the one before means the end, rather than a loop."""
        return False

    def request_at(self, first: PageRequest, index: int) -> PageRequest | None:
        """The request for the page `index` pages after `first`, as `next` would build it, or None
        for a kind that learns its next request only from the page before."""
        return None

    def page_count(self, page: Page) -> int | None:
        """How many pages `page` says there are in all, when it says (a cap on fetching ahead)."""
        return None


class NoPagination(_Kind, tag="none"):
    """`none`: a single request."""

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        return None


class _Sent(_Kind, kw_only=True):
    """Kinds that send a value of their own: in the query or the JSON body (`in`), and that may
    read from the body whether more pages follow (`has_more_path`, a boolean)."""

    in_: Literal["query", "body"] = msgspec.field(default="query", name="in")
    has_more_path: str | None = None

    @property
    def sends_body(self) -> bool:
        return self.in_ == "body"

    def _send(self, request: PageRequest, **values: Any) -> PageRequest:
        """`request` with `values` in its body (as JSON values) or its query (as text)."""
        if self.sends_body:
            return request.with_body(**values)
        return request.with_params(**{name: _text(value) for name, value in values.items()})

    def _sent(self, request: PageRequest, name: str) -> Any:
        """The value `name` that `request` sends."""
        return (request.body or {})[name] if self.sends_body else request.params[name]

    def _has_more(self, page: Page) -> bool:
        if self.has_more_path is None:
            return True
        more = dotted.get(page.body, self.has_more_path)
        if not isinstance(more, bool):
            raise RecordsError(
                f"{redact(page.url)}: has_more_path {self.has_more_path!r} holds {more!r}, not true or false"
            )
        return more


class _Numbered(_Sent, kw_only=True):
    """Kinds that count their way through the pages, and the signals that say where they end."""

    total_pages_path: str | None = None
    stop_on_status: tuple[int, ...] = ()
    repeated_page: Literal["fail", "stop"] = "fail"

    def check(self, where: str) -> None:
        super().check(where)
        for status in self.stop_on_status:
            if status not in _STOP_STATUSES:
                raise ConfigError(f"{where}.stop_on_status", f"{status} is not a 4xx status other than 429")

    def ends_on_status(self, status: int) -> bool:
        return status in self.stop_on_status

    @property
    def ends_on_repeat(self) -> bool:
        return self.repeated_page == "stop"

    def _more(self, page: Page, fetched: int, size: int | None) -> bool:
        """Whether pages remain after `page`, the `fetched`th: it is not empty or short, and the
        body (`has_more_path`, `total_pages_path`) does not say it is the last."""
        if _is_last(page.record_count, size) or not self._has_more(page):
            return False
        return self.total_pages_path is None or fetched < self._total_pages(page)

    def _total_pages(self, page: Page) -> int:
        return _integer(page, "total_pages_path", self.total_pages_path)

    def page_count(self, page: Page) -> int | None:
        try:
            return self._total_pages(page) if self.total_pages_path is not None else None
        except RecordsError:
            return None  # `next` raises it, in the walk's turn


class PageNumber(_Numbered, tag="page"):
    """`page`: `?page=1,2,3…`; stops on an empty page, a page shorter than `size`, or a stop signal."""

    param: str = "page"
    start: int = 1
    size_param: str | None = None
    size: int | None = None

    _BODY_PATHS = ("has_more_path", "total_pages_path")

    def check(self, where: str) -> None:
        super().check(where)
        if self.size is not None:
            _check_positive(self.size, f"{where}.size")
        if self.size_param and self.size is None:
            raise ConfigError(f"{where}.size", "is required with size_param")

    def first(self, request: PageRequest) -> PageRequest:
        sizing = {self.size_param: self.size} if self.size_param else {}
        return self._send(request, **{self.param: self.start}, **sizing)

    def next(self, page: Page) -> PageRequest | None:
        number = int(self._sent(page.request, self.param))
        if not self._more(page, number - self.start + 1, self.size):
            return None
        return self._send(page.request, **{self.param: number + 1})

    def request_at(self, first: PageRequest, index: int) -> PageRequest:
        return self._send(first, **{self.param: int(self._sent(first, self.param)) + index})


class Offset(_Numbered, tag="offset"):
    """`offset`: `?offset=0&limit=100`; stops on an empty or short page, at `total_path`, or a stop signal."""

    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = 100
    total_path: str | None = None

    _BODY_PATHS = ("total_path", "has_more_path", "total_pages_path")

    def check(self, where: str) -> None:
        super().check(where)
        _check_positive(self.limit, f"{where}.limit")

    def first(self, request: PageRequest) -> PageRequest:
        return self._send(request, **{self.offset_param: 0, self.limit_param: self.limit})

    def next(self, page: Page) -> PageRequest | None:
        offset = int(self._sent(page.request, self.offset_param))
        if not self._more(page, offset // self.limit + 1, self.limit):
            return None
        offset += self.limit
        if self.total_path is not None and offset >= _integer(page, "total_path", self.total_path):
            return None
        return self._send(page.request, **{self.offset_param: offset})

    def request_at(self, first: PageRequest, index: int) -> PageRequest:
        return self._send(
            first, **{self.offset_param: int(self._sent(first, self.offset_param)) + index * self.limit}
        )

    def page_count(self, page: Page) -> int | None:
        counts = [super().page_count(page)]
        if self.total_path is not None:
            with suppress(RecordsError):  # `next` raises it, in the walk's turn
                counts.append(-(-_integer(page, "total_path", self.total_path) // self.limit))
        return min((count for count in counts if count is not None), default=None)


class Cursor(_Sent, tag="cursor"):
    """`cursor`: sends the body's `cursor_path` value as `cursor_param`, or as the GraphQL variable
    `cursor_variable`; stops when it is empty, or when `has_more_path` is false."""

    cursor_path: str
    cursor_param: str | None = None
    cursor_variable: str | None = None

    _BODY_PATHS = ("cursor_path", "has_more_path")

    def check(self, where: str) -> None:
        super().check(where)
        if (self.cursor_param is None) == (self.cursor_variable is None):
            raise ConfigError(f"{where}.cursor_param", "set cursor_param, or cursor_variable for GraphQL")
        if self.cursor_variable is not None and self.sends_body:
            raise ConfigError(
                f"{where}.in", "cursor_variable already sends the cursor in the body's variables"
            )

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        if not self._has_more(page):
            return None
        cursor = dotted.get(page.body, self.cursor_path)
        if cursor is None or cursor == "":
            return None
        if self.cursor_variable is not None:
            return page.request.with_variables(**{self.cursor_variable: cursor})
        return self._send(page.request, **{str(self.cursor_param): cursor})


class Link(_Kind, tag="link"):
    """`link`: follows the RFC 8288 header `Link: <url>; rel="next"`."""

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        from requests.utils import parse_header_links

        for link in parse_header_links(page.headers.get("Link", "")):
            if "next" in link.get("rel", "").split() and link.get("url"):
                return _follow(page, link["url"])
        return None


class NextUrl(_Kind, tag="next_url"):
    """`next_url`: follows the URL at `next_path` in the body, absolute or relative."""

    next_path: str

    _BODY_PATHS = ("next_path",)

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        url = dotted.get(page.body, self.next_path)
        if url is None or url == "":
            return None
        if not isinstance(url, str):
            raise RecordsError(f"{redact(page.url)}: next_path {self.next_path!r} holds {url!r}")
        return _follow(page, url)


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


def _follow(page: Page, url: str) -> PageRequest:
    """The request for `url`, relative to the page's final URL: the API's URL carries its own
    query; a POST body goes again."""
    return PageRequest(urljoin(page.url, url), body=page.request.body)


def _check_positive(value: int, key: str) -> None:
    if value <= 0:
        raise ConfigError(key, f"{value} must be greater than 0")


def _is_last(record_count: int, size: int | None) -> bool:
    return record_count == 0 or (size is not None and record_count < size)


def _integer(page: Page, key: str, path: str | None) -> int:
    """The integer at `path` in the page's body; RecordsError naming `key` if it is not one."""
    value = dotted.get(page.body, str(path))
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordsError(f"{redact(page.url)}: {key} {path!r} holds {value!r}, not an integer")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
