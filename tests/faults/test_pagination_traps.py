"""Pagination traps and overlaps (issue cases 8 and 9): loops fail early and clearly; overlaps deduplicate."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pyarrow.parquet as pq
import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit, Route, cursor_pages
from tests.landed import without_run_columns

MAX_PAGES = 50


def _repeating_cursor(hit: Hit, conn: Conn) -> None:
    """Cursors go a -> b -> a -> ...: the third page asks for a page it already had."""
    following = {"": "a", "a": "b", "b": "a"}
    cursor = hit.query.get("cursor", "")
    conn.send(200, {"data": [{"seq": len(cursor) + ord(cursor or "0")}], "next": following[cursor]})


def _self_link(relative: bool) -> Route:
    def route(hit: Hit, conn: Conn) -> None:
        own = f"{hit.path}?{urlencode(hit.query)}"
        conn.send(
            200, {"data": [{"seq": 1}], "next": own if relative else f"http://127.0.0.1:{hit.port}{own}"}
        )

    return route


def _same_page_forever(hit: Hit, conn: Conn) -> None:
    """An API that ignores the page parameter: the same full page every time."""
    conn.send(200, {"data": [{"seq": n} for n in range(10)]})


def _new_page_forever(hit: Hit, conn: Conn) -> None:
    page = int(hit.query["page"])
    conn.send(200, {"data": [{"seq": page * 10 + n} for n in range(10)]})


CURSOR = {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor", "max_pages": MAX_PAGES}
NEXT_URL = {"type": "next_url", "next_path": "next", "max_pages": MAX_PAGES}
PAGES = {"type": "page", "size": 10, "max_pages": MAX_PAGES}


@pytest.mark.parametrize(
    ("route", "pagination", "requests", "problem"),
    [
        pytest.param(
            _repeating_cursor, CURSOR, 3, "pagination loops: page 4 would request", id="cursor-repeats"
        ),
        pytest.param(
            _self_link(False),
            NEXT_URL,
            1,
            "pagination loops: page 2 would request",
            id="next-url-self-absolute",
        ),
        pytest.param(
            _self_link(True),
            NEXT_URL,
            1,
            "pagination loops: page 2 would request",
            id="next-url-self-relative",
        ),
        # One page at a time, so that the requests are counted exactly (fetched ahead, up to
        # up to concurrency more go out past page 2: tests/pagination/test_ahead.py).
        pytest.param(
            _same_page_forever,
            {**PAGES, "concurrency": 1},
            2,
            "repeats page 1 exactly",
            id="page-never-ends",
        ),
    ],
)
def test_pagination_trap_fails_clearly_before_max_pages(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    route: Route,
    pagination: dict[str, Any],
    requests: int,
    problem: str,
) -> None:
    server.route("/items", route)
    config = harness.config(server.url("/items"), pagination=pagination)

    result = harness.run(config)

    assert len(server.hits_to("/items")) == requests < MAX_PAGES
    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem=problem)
    assert record is not None and record["error"]["type"] == "PaginationError"


def test_pagination_endless_new_pages_stop_at_max_pages(
    harness: Workspace, server: FaultServer, earlier: dict[str, str]
) -> None:
    server.route("/items", _new_page_forever)
    config = harness.config(server.url("/items"), pagination={**PAGES, "max_pages": 5})

    result = harness.run(config)

    assert len(server.hits_to("/items")) == 5
    disk.assert_failed_cleanly(harness.out, earlier, result, problem="more pages remain after max_pages=5")


def _row(seq: int, region: str = "eu", name: str = "") -> dict[str, Any]:
    return {"seq": seq, "id": seq, "region": region, "name": name or f"r{seq}"}


@pytest.mark.parametrize(
    ("primary_key", "pages", "expected", "dropped"),
    [
        pytest.param(
            "id",
            [
                [_row(4), _row(5), _row(6)],
                [_row(6, name="again"), _row(7), _row(8)],
                [_row(8), _row(9)],
                [_row(9)],
            ],
            [_row(n) for n in range(4, 10)],
            3,
            id="one-overlap-per-boundary",
        ),
        pytest.param(
            ["id", "region"],
            [[_row(4), _row(4, "us")], [_row(4, "us", "again"), _row(5)], [_row(5), _row(4)]],
            [_row(4), _row(4, "us"), _row(5)],
            3,
            id="composite-key",
        ),
    ],
)
def test_primary_key_overlapping_pages_each_record_written_once(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    primary_key: str | list[str],
    pages: list[list[dict[str, Any]]],
    expected: list[dict[str, Any]],
    dropped: int,
) -> None:
    server.route("/items", cursor_pages(pages))
    config = harness.config(
        server.url("/items"),
        incremental={"primary_key": primary_key},
        pagination={"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"},
    )

    result = harness.run(config)

    record = disk.assert_succeeded_once(harness.out, earlier, result)
    assert (record["records"], record["duplicates_dropped"]) == (len(expected), dropped)
    parquet, csv = disk.new_data(harness.out, earlier)
    # assert_succeeded_once has checked the metadata columns (ondisk.check_published_files)
    assert without_run_columns(pq.read_table(parquet)).to_pylist() == expected
    assert disk.without_run_cells(disk.read_csv(csv)) == [
        {key: str(value) for key, value in row.items()} for row in expected
    ]
