"""Walking the pages: the traps walk() refuses and the stop signals that end paging cleanly."""

from __future__ import annotations

import pytest

from fetcher.errors import FetchError, PaginationError
from fetcher.pagination.kinds import Cursor, NextUrl, Offset, PageNumber
from fetcher.pagination.pages import Page, PageRequest
from fetcher.pagination.walk import walk
from tests.pagination.test_kinds import _page, _walk


class TestTraps:
    def test_walk_repeating_cursor_fails_before_max_pages(self) -> None:
        with pytest.raises(
            PaginationError, match=r"pagination loops: page 3 would request .*after=same&q=x again"
        ):
            _walk(
                Cursor(cursor_path="next", cursor_param="after", max_pages=1000),
                lambda r: _page(r, {"next": "same"}, 1),
            )

    def test_walk_next_url_pointing_at_itself_fails(self) -> None:
        with pytest.raises(
            PaginationError, match=r"page 2 would request https://api.example.com/items\?q=x again"
        ):
            _walk(NextUrl(next_path="next"), lambda r: _page(r, {"next": r.full_url}, 1))

    def test_walk_identical_pages_fail(self) -> None:
        def serve(request: PageRequest) -> Page:
            return Page(request, request.full_url, {}, {}, [{"n": 1}], b'{"data":[{"n":1}]}')

        with pytest.raises(PaginationError, match=r"page 2 .* repeats page 1 exactly"):
            _walk(PageNumber(), serve)

    def test_walk_more_pages_than_max_pages_fails(self) -> None:
        served: list[str] = []

        def serve(request: PageRequest) -> Page:
            served.append(request.params["page"])
            return _page(request, {"page": request.params["page"]}, 1)

        with pytest.raises(PaginationError, match="more pages remain after max_pages=3"):
            _walk(PageNumber(max_pages=3), serve)
        assert served == ["1", "2", "3"]

    def test_walk_exactly_max_pages_succeeds(self) -> None:
        requests = _walk(
            PageNumber(max_pages=3),
            lambda r: _page(r, {"p": r.params["page"]}, 0 if r.params["page"] == "3" else 1),
        )

        assert len(requests) == 3

    def test_walk_error_redacts_secret_params(self) -> None:
        with pytest.raises(PaginationError) as caught:
            _walk(Cursor(cursor_path="next", cursor_param="token"), lambda r: _page(r, {"next": "abc"}, 1))

        assert "token=***" in str(caught.value) and "abc" not in str(caught.value)


def _not_found(request: PageRequest) -> FetchError:
    return FetchError(request.full_url, "HTTP 404 Not Found: no such URL", status=404)


class TestStopSignals:
    def test_stop_on_status_after_the_first_page_ends_paging(self) -> None:
        def serve(request: PageRequest) -> Page:
            if request.params["page"] == "3":
                raise _not_found(request)
            return _page(request, {}, 5)

        requests = _walk(PageNumber(stop_on_status=(404,)), serve)

        assert [r.params["page"] for r in requests] == ["1", "2"]

    def test_stop_on_status_on_the_first_page_still_fails(self) -> None:
        def serve(request: PageRequest) -> Page:
            raise _not_found(request)

        with pytest.raises(FetchError, match="HTTP 404"):
            _walk(Offset(stop_on_status=(404,)), serve)

    def test_status_not_listed_still_fails(self) -> None:
        def serve(request: PageRequest) -> Page:
            if request.params["page"] == "2":
                raise FetchError(request.full_url, "HTTP 400 Bad Request", status=400)
            return _page(request, {}, 5)

        with pytest.raises(FetchError, match="HTTP 400"):
            _walk(PageNumber(stop_on_status=(404,)), serve)

    def test_repeated_page_stop_ends_without_the_repeat(self) -> None:
        def serve(request: PageRequest) -> Page:
            last = min(
                int(request.params["page"]), 2
            )  # json-server 1.0 answers past the end with the last page
            return Page(request, request.full_url, {}, {}, [{"n": last}], f'{{"n":{last}}}'.encode())

        pages = list(
            walk(PageNumber(repeated_page="stop"), PageRequest("https://api.example.com/items"), serve)
        )

        assert [page.records for page in pages] == [[{"n": 1}], [{"n": 2}]]

    def test_repeat_in_body_paging_fails_naming_the_body(self) -> None:
        def serve(request: PageRequest) -> Page:
            return Page(request, request.full_url, {}, {}, [{"n": 1}], b'{"data":[{"n":1}]}')

        with pytest.raises(PaginationError, match=r'page 2 \(.* with body \{"page": 2\}\) repeats page 1'):
            _walk(PageNumber(in_="body"), serve)

    def test_body_paging_loop_is_told_by_the_body(self) -> None:
        paginator = Cursor(in_="body", cursor_path="next", cursor_param="after")

        with pytest.raises(
            PaginationError, match=r'page 3 would request .* with body \{"after": "same"\} again'
        ):
            _walk(paginator, lambda r: _page(r, {"next": "same"}, 1))
