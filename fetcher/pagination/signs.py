"""Signs that the one response of a source that does not page is the first page of several.

An API that pages answers its first page as if it were everything: 100 records and a 200. The run
looks complete, and is not. These signs, checked only when `pagination` is `none` and the run got
one page, say so and what to set: a `Link: rel="next"` header; a body field naming the next page
(`next`, `next_url`, `next_cursor`, `has_more: true`, a total larger than the records), at the top
of the body or in one of the tables APIs keep them in (`meta`, `pagination`, `links`, ...); or,
failing those, a record count that is a typical page size. None is proof: the run is never failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fetcher.pagination.pages import Page

TYPICAL_PAGE_SIZES = frozenset({10, 20, 25, 50, 100, 200, 250, 500, 1000})
_NEXT_URL_FIELDS = frozenset({"next", "next_url", "nextUrl", "next_page_url", "nextPageUrl", "next_link"})
_CURSOR_FIELDS = frozenset(
    {"next_cursor", "nextCursor", "next_token", "nextToken", "next_page_token", "nextPageToken"}
)
_MORE_FIELDS = frozenset({"has_more", "hasMore", "has_next", "hasNext", "has_next_page", "hasNextPage"})
_TOTAL_FIELDS = frozenset({"total", "total_count", "totalCount", "total_results", "totalResults", "count"})
_HOLDERS = ("meta", "pagination", "paging", "links", "_links", "page_info", "pageInfo")


@dataclass(frozen=True)
class Sign:
    """Why the page looks like the first of several, and the setting that would fetch the rest."""

    reason: str
    setting: str


def more_pages(page: Page) -> Sign | None:
    """The strongest sign that `page` is the first of several, or None for an ordinary response."""
    from requests.utils import parse_header_links

    if any(
        "next" in link.get("rel", "").split() for link in parse_header_links(page.headers.get("Link", ""))
    ):
        return Sign('the Link header has rel="next"', 'type = "link" (FETCH_PAGINATION=link)')
    for name, path, value in _fields(page.body):
        if name in _NEXT_URL_FIELDS and isinstance(value, str) and value:
            setting = f'type = "next_url", next_path = "{path}"'
            return Sign(f"the body's {path} names a next page", f"{setting} (FETCH_PAGINATION=next_url)")
        if name in _CURSOR_FIELDS and value not in (None, ""):
            setting = f'type = "cursor", cursor_path = "{path}", cursor_param = <the API\'s parameter>'
            return Sign(f"the body's {path} holds a cursor", f"{setting} (FETCH_PAGINATION=cursor)")
        if name in _MORE_FIELDS and value is True:
            return Sign(f"the body's {path} is true", _PAGE_OR_OFFSET)
        if name in _TOTAL_FIELDS and _is_count(value) and value > page.record_count:
            setting = f'type = "offset", total_path = "{path}" (FETCH_PAGINATION=offset)'
            return Sign(f"the body's {path} is {value}, more than the {page.record_count} records", setting)
    if page.record_count in TYPICAL_PAGE_SIZES:
        return Sign(f"{page.record_count} records is a typical page size", _PAGE_OR_OFFSET)
    return None


_PAGE_OR_OFFSET = 'type = "page" or "offset", with the API\'s page-size parameter (FETCH_PAGINATION=page)'


def _fields(body: Any) -> Iterator[tuple[str, str, Any]]:
    """(name, dotted path, value) of the body's top-level fields, then of the tables that usually
    hold paging links; a HAL link (`"next": {"href": url}`) is its URL."""
    if not isinstance(body, dict):
        return
    for name, value in body.items():
        yield name, name, value
    for holder in _HOLDERS:
        table = body.get(holder)
        for name, value in table.items() if isinstance(table, dict) else ():
            if isinstance(value, dict) and isinstance(value.get("href"), str):
                yield name, f"{holder}.{name}.href", value["href"]
            else:
                yield name, f"{holder}.{name}", value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
