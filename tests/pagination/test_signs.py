"""Signs that one response is the first page of several: each says what to set; ordinary ones do not."""

from __future__ import annotations

from typing import Any

import pytest

from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.signs import more_pages

URL = "https://api.example.com/items"


def _page(body: Any, count: int, headers: dict[str, str] | None = None) -> Page:
    records = [{"id": n} for n in range(count)]
    return Page(PageRequest(URL), URL, headers or {}, body, records, b"")


@pytest.mark.parametrize(
    ("headers", "body", "count", "reason", "setting"),
    [
        pytest.param(
            {"Link": '<https://api.example.com/items?page=2>; rel="next"'},
            [],
            3,
            'the Link header has rel="next"',
            'type = "link"',
            id="link-header",
        ),
        pytest.param(
            {},
            {"next": "/items?page=2"},
            3,
            "the body's next names a next page",
            'next_path = "next"',
            id="next",
        ),
        pytest.param(
            {},
            {"links": {"next_url": "https://api.example.com/items?page=2"}},
            3,
            "the body's links.next_url names a next page",
            'type = "next_url", next_path = "links.next_url"',
            id="nested-next-url",
        ),
        pytest.param(
            {},
            {"_links": {"next": {"href": "/items?page=2"}}},
            3,
            "the body's _links.next.href names a next page",
            'next_path = "_links.next.href"',
            id="hal-link",
        ),
        pytest.param(
            {},
            {"meta": {"next_cursor": "abc"}},
            3,
            "the body's meta.next_cursor holds a cursor",
            'type = "cursor", cursor_path = "meta.next_cursor"',
            id="cursor",
        ),
        pytest.param(
            {}, {"has_more": True}, 3, "the body's has_more is true", 'type = "page" or "offset"', id="more"
        ),
        pytest.param(
            {},
            {"total": 500},
            3,
            "the body's total is 500, more than the 3 records",
            'type = "offset", total_path = "total"',
            id="total",
        ),
        pytest.param(
            {},
            {"data": []},
            100,
            "100 records is a typical page size",
            'type = "page" or "offset"',
            id="page-size",
        ),
        pytest.param(
            [], [], 50, "50 records is a typical page size", "FETCH_PAGINATION=page", id="list-body"
        ),
    ],
)
def test_more_pages_says_why_and_what_to_set(
    headers: dict[str, str], body: Any, count: int, reason: str, setting: str
) -> None:
    sign = more_pages(_page(body, count, headers))

    assert sign is not None
    assert sign.reason == reason
    assert setting in sign.setting


@pytest.mark.parametrize(
    ("headers", "body", "count"),
    [
        pytest.param({}, {"data": []}, 3, id="a-few-records"),
        pytest.param({}, [], 0, id="empty"),
        pytest.param(
            {}, {"next": None, "next_cursor": "", "has_more": False, "total": 37}, 37, id="says-it-is-all"
        ),
        pytest.param({"Link": '<https://api.example.com/about>; rel="help"'}, {}, 7, id="other-links"),
        pytest.param({}, {"count": 99, "total": True}, 99, id="total-as-large-as-the-records"),
    ],
)
def test_more_pages_is_none_for_an_ordinary_response(headers: dict[str, str], body: Any, count: int) -> None:
    assert more_pages(_page(body, count, headers)) is None
