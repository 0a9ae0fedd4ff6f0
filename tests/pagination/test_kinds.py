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
    content = json.dumps([request.identity, body]).encode()  # distinct per request, as real pages are
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

    def test_link_and_next_url_send_the_post_body_again(self) -> None:
        base = PageRequest("https://api.example.com/search", {"q": "x"}, {"filter": "a"})
        served = {"https://api.example.com/search?q=x": "/search?cursor=2"}

        def serve(request: PageRequest) -> Page:
            following = served.get(request.full_url)
            links = {"Link": f'<{following}>; rel="next"'} if following else {}
            return _page(request, {"next": following}, 1, links)

        for paginator in (Link(), NextUrl(next_path="next")):
            requests = [page.request for page in walk(paginator, base, serve)]

            assert [(r.full_url, r.body) for r in requests] == [
                ("https://api.example.com/search?q=x", {"filter": "a"}),
                ("https://api.example.com/search?cursor=2", {"filter": "a"}),
            ]

    def test_next_url_not_string_is_records_error(self) -> None:
        with pytest.raises(RecordsError, match="next_path 'next' holds 5"):
            _walk(NextUrl(next_path="next"), lambda r: _page(r, {"next": 5}, 1))

    @pytest.mark.parametrize(
        ("paginator", "body"),
        [
            pytest.param(
                PageNumber(has_more_path="meta.more"), {"meta": {"more": False}}, id="page-has-more"
            ),
            pytest.param(PageNumber(total_pages_path="pages"), {"pages": 1}, id="page-total-pages"),
            pytest.param(Offset(limit=5, has_more_path="more"), {"more": False}, id="offset-has-more"),
            pytest.param(Offset(limit=5, total_pages_path="pages"), {"pages": 1}, id="offset-total-pages"),
            pytest.param(
                Cursor(cursor_path="next", cursor_param="c", has_more_path="more"),
                {"next": "c2", "more": False},
                id="cursor-has-more",
            ),
        ],
    )
    def test_full_page_stops_when_body_says_it_is_the_last(self, paginator: Paginator, body: Any) -> None:
        requests = _walk(paginator, lambda r: _page(r, body, 5))

        assert len(requests) == 1

    def test_page_counts_total_pages_from_start(self) -> None:
        requests = _walk(PageNumber(start=0, total_pages_path="pages"), lambda r: _page(r, {"pages": 3}, 5))

        assert [r.params["page"] for r in requests] == ["0", "1", "2"]

    def test_offset_counts_total_pages_by_limit(self) -> None:
        requests = _walk(Offset(limit=5, total_pages_path="pages"), lambda r: _page(r, {"pages": 2}, 5))

        assert [r.params["offset"] for r in requests] == ["0", "5"]

    def test_page_goes_on_while_has_more_is_true(self) -> None:
        requests = _walk(
            PageNumber(has_more_path="more"), lambda r: _page(r, {"more": r.params["page"] != "3"}, 5)
        )

        assert [r.params["page"] for r in requests] == ["1", "2", "3"]

    @pytest.mark.parametrize("value", ["false", 0, None], ids=["text", "number", "absent"])
    def test_has_more_not_boolean_is_records_error(self, value: object) -> None:
        with pytest.raises(RecordsError, match=f"has_more_path 'more' holds {value!r}, not true or false"):
            _walk(PageNumber(has_more_path="more"), lambda r: _page(r, {"more": value}, 5))

    def test_total_pages_not_integer_is_records_error(self) -> None:
        with pytest.raises(RecordsError, match="total_pages_path 'pages' holds True, not an integer"):
            _walk(PageNumber(total_pages_path="pages"), lambda r: _page(r, {"pages": True}, 5))

    def test_page_in_body_sends_numbers_in_the_json_body(self) -> None:
        base = PageRequest("https://api.example.com/search", {"q": "x"}, {"filter": {"kind": "a"}})
        paginator = PageNumber(in_="body", size_param="per_page", size=2)

        requests = [
            page.request
            for page in walk(paginator, base, lambda r: _page(r, {}, 2 if r.body["page"] == 1 else 1))
        ]

        assert [r.body for r in requests] == [
            {"filter": {"kind": "a"}, "page": 1, "per_page": 2},
            {"filter": {"kind": "a"}, "page": 2, "per_page": 2},
        ]
        assert {r.full_url for r in requests} == {"https://api.example.com/search?q=x"}

    def test_offset_and_cursor_in_body(self) -> None:
        offsets = _walk(Offset(in_="body", limit=2), lambda r: _page(r, {}, 2 if r.body["offset"] < 2 else 0))
        cursors = _walk(
            Cursor(in_="body", cursor_path="next", cursor_param="after"),
            lambda r: _page(r, {"next": None if r.body else 17}, 1),
        )

        assert [r.body for r in offsets] == [{"offset": 0, "limit": 2}, {"offset": 2, "limit": 2}]
        assert [r.body for r in cursors] == [None, {"after": 17}]

    def test_cursor_variable_goes_in_graphql_variables(self) -> None:
        base = PageRequest("https://api.example.com/graphql", body={"query": "q", "variables": {"first": 2}})
        ends = {None: "YQ==", "YQ==": None}
        paginator = Cursor(cursor_path="data.users.pageInfo.endCursor", cursor_variable="after")

        pages = walk(
            paginator,
            base,
            lambda r: _page(
                r, {"data": {"users": {"pageInfo": {"endCursor": ends[r.body["variables"].get("after")]}}}}, 2
            ),
        )

        assert [page.request.body["variables"] for page in pages] == [
            {"first": 2},
            {"first": 2, "after": "YQ=="},
        ]

    @pytest.mark.parametrize(
        ("paginator", "first"),
        [
            pytest.param(PageNumber(), {"page": "1", "q": "x"}, id="page-replaces-param"),
            pytest.param(
                Offset(limit=5), {"offset": "0", "limit": "5", "q": "x"}, id="offset-replaces-params"
            ),
        ],
    )
    def test_paging_values_win_over_same_named_params(
        self, paginator: Paginator, first: dict[str, str]
    ) -> None:
        base = PageRequest(
            "https://api.example.com/items", {"q": "x", "page": "7", "offset": "9", "limit": "1"}
        )

        requests = [page.request for page in walk(paginator, base, lambda r: _page(r, {}, 0))]

        assert {name: requests[0].params[name] for name in first} == first

    def test_cursor_replaces_same_named_param_from_the_second_request(self) -> None:
        base = PageRequest("https://api.example.com/items", {"after": "start"})
        cursors = {"start": "c2", "c2": None}

        requests = [
            page.request
            for page in walk(
                Cursor(cursor_path="next", cursor_param="after"),
                base,
                lambda r: _page(r, {"next": cursors[r.params["after"]]}, 1),
            )
        ]

        assert [r.params["after"] for r in requests] == ["start", "c2"]

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
            pytest.param(
                PageNumber(concurrency=0), "p.concurrency", "0 must be greater than 0", id="concurrency"
            ),
            pytest.param(
                Cursor(cursor_path="c", cursor_param="c", concurrency=-1),
                "p.concurrency",
                "-1 must be greater than 0",
                id="chain",
            ),
            pytest.param(
                PageNumber(stop_on_status=(404, 429)),
                "p.stop_on_status",
                "429 is not a 4xx status other than 429",
                id="stop-on-429",
            ),
            pytest.param(
                Offset(stop_on_status=(503,)),
                "p.stop_on_status",
                "503 is not a 4xx status other than 429",
                id="stop-on-5xx",
            ),
            pytest.param(
                Cursor(cursor_path="n"),
                "p.cursor_param",
                "set cursor_param, or cursor_variable for GraphQL",
                id="cursor-neither",
            ),
            pytest.param(
                Cursor(cursor_path="n", cursor_param="c", cursor_variable="v"),
                "p.cursor_param",
                "set cursor_param, or cursor_variable for GraphQL",
                id="cursor-both",
            ),
            pytest.param(
                Cursor(cursor_path="n", cursor_variable="v", in_="body"),
                "p.in",
                "cursor_variable already sends the cursor in the body's variables",
                id="cursor-variable-in-body",
            ),
        ],
    )
    def test_kind_checks_its_own_settings(self, paginator: Paginator, key: str, words: str) -> None:
        with pytest.raises(ConfigError) as caught:
            paginator.check("p")

        assert str(caught.value) == f"{key}: {words}"

    @pytest.mark.parametrize(
        "paginator",
        [
            NoPagination(),
            PageNumber(size_param="n", size=5, stop_on_status=(404, 400), repeated_page="stop"),
            Offset(limit=1, in_="body", has_more_path="more"),
            Cursor(cursor_path="n", cursor_variable="after"),
            NextUrl(next_path="n"),
        ],
    )
    def test_kind_accepts_sound_settings(self, paginator: Paginator) -> None:
        paginator.check("p")
