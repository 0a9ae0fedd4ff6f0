"""What a run asks the API for: the first request, the cursor it sends, a page fetched, a windowed child."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import responses

from fetcher.config.load import load as load_config
from fetcher.config.model import Source
from fetcher.errors import FetchError
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.pagination.pages import PageRequest
from fetcher.run import history, runner, state, walks
from fetcher.storage.local import LocalStorage
from tests.apiserver import ApiServer

URL = "https://api.example.com/items"
INCREMENTAL = '[sources.incremental]\ncursor_field = "t"\nparam = "since"\ninitial = "a"\n'


class TestFirstRequest:
    def test_first_request_is_the_source_params(self, source_from: Callable[[str], Source]) -> None:
        source = source_from('params = { status = "open" }\n')

        assert walks.first_request(source, None) == PageRequest(URL, {"status": "open"})

    @pytest.mark.parametrize(("cursor", "sent"), [("2026-01-01", "2026-01-01"), (5, "5")])
    def test_first_request_carries_the_cursor(
        self, source_from: Callable[[str], Source], cursor: Any, sent: str
    ) -> None:
        source = source_from(INCREMENTAL)

        assert walks.first_request(source, cursor).params == {"since": sent}
        assert source.params == {}

    def test_first_request_without_cursor_sends_none(self, source_from: Callable[[str], Source]) -> None:
        assert walks.first_request(source_from(INCREMENTAL), None).params == {}


class TestLoadCursor:
    def test_load_cursor_not_incremental_is_none(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        assert walks.load_cursor(LocalStorage(str(tmp_path)), source_from()) is None

    def test_load_cursor_saved_else_initial(
        self, source_from: Callable[[str], Source], tmp_path: Path
    ) -> None:
        source = source_from(INCREMENTAL)
        storage = LocalStorage(str(tmp_path))
        assert source.incremental is not None

        assert walks.load_cursor(storage, source) == "a"
        state.save_cursor(storage, "api", source.incremental, "c", "r", replaces=None)
        assert walks.load_cursor(storage, source) == "c"


class TestPageFetcher:
    @responses.activate
    def test_page_fetcher_non_json_is_fetch_error_with_status_200(
        self, source_from: Callable[[str], Source]
    ) -> None:
        responses.get(URL, body="<html>")
        source = source_from()

        with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
            walks.page_fetcher(client, source)(PageRequest(URL, {}))

        assert caught.value.status == 200 and "not JSON" in str(caught.value)


def test_a_windowed_child_walks_every_parent_row_in_each_window_and_saves_the_last_end(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    text = f"""
        output_dir = "{{out}}"
        [[sources]]
        name = "users"
        url = "{api.url("/users")}"
        [[sources]]
        name = "orders"
        url = "{api.url("/users/{user_id}/orders")}"
        params = {{ from = "{{window_start}}" }}
        [sources.parent]
        source = "users"
        fields = {{ user_id = "id" }}
        include = ["id"]
        [sources.incremental]
        cursor_field = "n"
        initial = "2026-01-01"
        end_param = "to"
        window = "1d"
        end = "2026-01-03"
    """
    config = load_config(str(write_config(text)), {})
    api.route("/users", lambda exchange: (200, [{"id": 2}, {"id": 1}]))
    for user in (1, 2):
        api.route(
            f"/users/{user}/orders", lambda exchange: (200, [{"n": "day " + exchange.query["from"][:10]}])
        )
    assert runner.run(config, config.sources[0]).status == history.SUCCEEDED

    record = runner.run(config, config.sources[1])

    asked = [(r.path, r.query) for r in api.requests if r.path != "/users"]
    day1 = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}
    day2 = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-03T00:00:00Z"}
    # Rows are walked a few at a time, so only the windows' order is the requests' order.
    assert [query for _, query in asked] == [day1, day1, day2, day2]
    assert (
        sorted(path for path, _ in asked[:2])
        == sorted(path for path, _ in asked[2:])
        == [
            "/users/1/orders",
            "/users/2/orders",
        ]
    )
    assert (record.status, record.pages, record.records) == (history.SUCCEEDED, 4, 4)
    assert (record.window_start, record.window_end) == ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")
    storage = LocalStorage(str(tmp_path / "out"))
    assert walks.load_cursor(storage, config.sources[1]) == "2026-01-03T00:00:00Z"
    table = pq.read_table(tmp_path / "out" / record.files[0].path)
    assert table.select(["n", "_parent__id"]).to_pylist() == [
        {"n": "day 2026-01-01", "_parent__id": 2},
        {"n": "day 2026-01-01", "_parent__id": 1},
        {"n": "day 2026-01-02", "_parent__id": 2},
        {"n": "day 2026-01-02", "_parent__id": 1},
    ]
