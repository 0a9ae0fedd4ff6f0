"""Pagination kinds: every kind's next request, its stop rules and the checks of its settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fetcher.errors import ConfigError, RecordsError
from fetcher.pagination.kinds import (
    PAGINATORS,
    Cursor,
    Link,
    NextUrl,
    NoPagination,
    Offset,
    PageNumber,
    Paginator,
    kind_of,
)
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk

BASE = PageRequest("https://api.example.com/items", {"q": "x"})


def _page(
    request: PageRequest,
    body: Any,
    records: int,
    headers: dict[str, str] | None = None,
    url: str | None = None,
) -> Page:
    rows = [{"n": index} for index in range(records)]
    content = json.dumps([request.full_url, body]).encode()  # distinct per request, as real pages are
    return Page(request, url or request.full_url, headers or {}, body, rows, content)


def _walk(paginator: Paginator, serve: Callable[[PageRequest], Page]) -> list[PageRequest]:
    return [page.request for page in walk(paginator, BASE, serve)]


class TestKinds:
    def test_none_makes_one_request(self) -> None:
        requests = _walk(NoPagination(), lambda r: _page(r, {}, 10))

        assert requests == [BASE]

    def test_page_counts_from_start_until_empty_page(self) -> None:
        sizes = {1: 3, 2: 3, 3: 0}

        requests = _walk(PageNumber(start=1), lambda r: _page(r, {}, sizes[int(r.params["page"])]))

        assert [r.params["page"] for r in requests] == ["1", "2", "3"]
        assert requests[0].params["q"] == "x"

    def test_page_stops_on_short_page_and_sends_size(self) -> None:
        requests = _walk(
            PageNumber(param="p", start=0, size_param="per_page", size=3),
            lambda r: _page(r, {}, 3 if r.params["p"] == "0" else 2),
        )

        assert [(r.params["p"], r.params["per_page"]) for r in requests] == [("0", "3"), ("1", "3")]

    def test_offset_advances_by_limit_until_short_page(self) -> None:
        requests = _walk(Offset(limit=2), lambda r: _page(r, {}, 2 if int(r.params["offset"]) < 4 else 1))

        assert [r.params["offset"] for r in requests] == ["0", "2", "4"]
        assert {r.params["limit"] for r in requests} == {"2"}

    def test_offset_stops_at_total(self) -> None:
        requests = _walk(
            Offset(limit=2, total_path="meta.total"), lambda r: _page(r, {"meta": {"total": 4}}, 2)
        )

        assert [r.params["offset"] for r in requests] == ["0", "2"]

    def test_offset_total_not_integer_is_records_error(self) -> None:
        with pytest.raises(RecordsError, match="total_path 'total' holds 'many', not an integer"):
            _walk(Offset(limit=2, total_path="total"), lambda r: _page(r, {"total": "many"}, 2))

    @pytest.mark.parametrize("end", [None, "", "absent"])
    def test_cursor_sends_cursor_until_empty(self, end: object) -> None:
        cursors = {None: "c2", "c2": "c3", "c3": end}

        def serve(request: PageRequest) -> Page:
            following = cursors[request.params.get("after")]
            return _page(request, {"meta": {} if following == "absent" else {"next": following}}, 5)

        requests = _walk(Cursor(cursor_path="meta.next", cursor_param="after"), serve)

        assert [r.params.get("after") for r in requests] == [None, "c2", "c3"]

    def test_link_follows_rel_next_relative_and_absolute(self) -> None:
        links = {
            "https://api.example.com/items": '</items?page=2>; rel="next", </items?page=9>; rel="last"',
            "https://api.example.com/items?page=2": '<https://api.example.com/items?page=3>; rel="next"',
            "https://api.example.com/items?page=3": '</items?page=1>; rel="first"',
        }

        requests = _walk(Link(), lambda r: _page(r, {}, 1, {"Link": links[r.url]}, url=r.url))

        assert [r.url for r in requests] == [
            "https://api.example.com/items",
            "https://api.example.com/items?page=2",
            "https://api.example.com/items?page=3",
        ]

    def test_next_url_joins_relative_to_final_url(self) -> None:
        bodies = {
            "https://api.example.com/items?q=x": {"next": "items?cursor=b"},
            "https://api.example.com/items?cursor=b": {"next": None},
        }

        requests = _walk(NextUrl(next_path="next"), lambda r: _page(r, bodies[r.full_url], 1))

        assert [r.full_url for r in requests] == [
            "https://api.example.com/items?q=x",
            "https://api.example.com/items?cursor=b",
        ]

    def test_next_url_not_string_is_records_error(self) -> None:
        with pytest.raises(RecordsError, match="next_path 'next' holds 5"):
            _walk(NextUrl(next_path="next"), lambda r: _page(r, {"next": 5}, 1))

    def test_kind_of_names_each_kind(self) -> None:
        assert [kind_of(kind()) for kind in (NoPagination, PageNumber, Offset, Link)] == [
            "none",
            "page",
            "offset",
            "link",
        ]
        assert list(PAGINATORS) == ["none", "page", "offset", "cursor", "link", "next_url"]


class TestCheck:
    @pytest.mark.parametrize(
        ("paginator", "key", "words"),
        [
            pytest.param(PageNumber(max_pages=0), "p.max_pages", "0 must be greater than 0", id="max-pages"),
            pytest.param(PageNumber(size=0), "p.size", "0 must be greater than 0", id="size"),
            pytest.param(
                PageNumber(size_param="n"), "p.size", "is required with size_param", id="size-param"
            ),
            pytest.param(Offset(limit=-1), "p.limit", "-1 must be greater than 0", id="limit"),
            pytest.param(Link(max_pages=-5), "p.max_pages", "-5 must be greater than 0", id="every-kind"),
        ],
    )
    def test_kind_checks_its_own_settings(self, paginator: Paginator, key: str, words: str) -> None:
        with pytest.raises(ConfigError) as caught:
            paginator.check("p")

        assert str(caught.value) == f"{key}: {words}"

    @pytest.mark.parametrize(
        "paginator",
        [NoPagination(), PageNumber(size_param="n", size=5), Offset(limit=1), NextUrl(next_path="n")],
    )
    def test_kind_accepts_sound_settings(self, paginator: Paginator) -> None:
        paginator.check("p")
