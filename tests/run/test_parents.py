"""A child's parent rows: from the parent's newest successful run, with errors that name the fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fetcher.config.load import load
from fetcher.config.model import Config, Source
from fetcher.config.parent import Parent
from fetcher.errors import FetcherError, RecordsError
from fetcher.output.writers import WrittenFile
from fetcher.run import history, runner
from fetcher.run.parents import read_rows
from fetcher.storage.local import LocalStorage
from tests.apiserver import ApiServer


def _config(write_config: Callable[[str], Path], api: ApiServer, parent: str = "", child: str = "") -> Config:
    text = f"""
        output_dir = "{{out}}"
        [[sources]]
        name = "users"
        url = "{api.url("/users")}"
        {parent}
        [[sources]]
        name = "orders"
        url = "{api.url("/users/{id}/orders")}"
        [sources.parent]
        source = "users"
        fields = {{ id = "id" }}
        {child}
    """
    return load(str(write_config(text)), {})


def _serve_users(api: ApiServer, users: list[dict[str, Any]]) -> None:
    api.route("/users", lambda exchange: (200, users))


def test_a_parent_that_never_ran_fails_the_child_naming_the_parent_and_the_fix(
    api: ApiServer, write_config: Callable[[str], Path]
) -> None:
    config = _config(write_config, api)

    record = runner.run(config, config.sources[1])

    assert record.status == history.FAILED and record.error is not None
    assert record.error.message == (
        "the parent source 'users' has no successful run yet, so 'orders' has no rows to request for; "
        "run it first: fetcher run --source users"
    )
    assert api.requests == []


def test_rows_come_from_the_newest_successful_run_in_its_order(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = _config(write_config, api, child='include = ["id", "name"]')
    _serve_users(api, [{"id": 1, "name": "a"}])
    runner.run(config, config.sources[0])
    _serve_users(api, [{"id": 3, "name": "c"}, {"id": 2, "name": "b"}])
    runner.run(config, config.sources[0])
    api.route("/users", lambda exchange: (500, {}))
    assert runner.run(config, config.sources[0]).status == history.FAILED

    rows = read_rows(LocalStorage(str(tmp_path / "out")), config.sources[1])

    assert [(row.number, row.values, row.columns) for row in rows] == [
        (1, {"id": 3}, {"_parent__id": 3, "_parent__name": "c"}),
        (2, {"id": 2}, {"_parent__id": 2, "_parent__name": "b"}),
    ]


def test_a_parent_row_missing_the_field_fails_naming_the_row_key_and_field(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    parent = '[sources.incremental]\ncursor_field = "at"\nparam = "since"\nprimary_key = "key"'
    config = _config(write_config, api, parent=parent)
    _serve_users(api, [{"key": "u1", "id": 1, "at": 1}, {"key": "u2", "id": None, "at": 2}])
    runner.run(config, config.sources[0])

    with pytest.raises(RecordsError) as caught:
        read_rows(LocalStorage(str(tmp_path / "out")), config.sources[1])

    assert str(caught.value).startswith("parent 'users' row 2 (key='u2') (run_id=")
    assert str(caught.value).endswith("has no value for 'id', which fills {id}")


def test_a_parent_without_the_column_fails_listing_its_columns(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = _config(write_config, api)
    _serve_users(api, [{"user_id": 1}])
    runner.run(config, config.sources[0])

    with pytest.raises(
        RecordsError, match=r"parent 'users' has no column 'id' .*landed columns: user_id, _fetched"
    ):
        read_rows(LocalStorage(str(tmp_path / "out")), config.sources[1])


def test_a_parent_run_with_no_rows_gives_the_child_none(
    api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = _config(write_config, api)
    _serve_users(api, [])
    runner.run(config, config.sources[0])

    record = runner.run(config, config.sources[1])

    assert read_rows(LocalStorage(str(tmp_path / "out")), config.sources[1]) == []
    assert (record.status, record.pages, record.files) == (history.SUCCEEDED, 0, [])


def test_a_parent_whose_newest_run_wrote_no_parquet_says_so(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = history.RunRecord(source="users", started_at=datetime(2026, 11, 21, tzinfo=UTC))
    record.files = [WrittenFile("users/fetch_date=2026-11-21/users_x.csv", "csv", 1, 1, "0")]
    record.finish()
    history.save(storage, record)
    child = Source(name="orders", url="https://x/{id}", parent=Parent(source="users", fields={"id": "id"}))

    with pytest.raises(FetcherError, match="wrote no Parquet file; add parquet to its formats"):
        read_rows(storage, child)


def test_a_child_field_landing_on_a_parent_column_fails_the_run(
    api: ApiServer, write_config: Callable[[str], Path]
) -> None:
    config = _config(write_config, api, child='include = ["id"]')
    _serve_users(api, [{"id": 1}])
    runner.run(config, config.sources[0])
    api.route("/users/1/orders", lambda exchange: (200, [{"_parent": {"id": 9}}]))

    record = runner.run(config, config.sources[1])

    assert record.status == history.FAILED and record.error is not None
    assert "lands on the column '_parent__id', which [sources.parent] include fills" in record.error.message


def test_probe_of_a_child_asks_for_the_first_parent_row(
    api: ApiServer, write_config: Callable[[str], Path]
) -> None:
    config = _config(write_config, api, child='include = ["id"]')
    _serve_users(api, [{"id": 5}, {"id": 6}])
    runner.run(config, config.sources[0])
    api.route("/users/5/orders", lambda exchange: (200, [{"total": 1}]))

    columns, count = runner.probe(config, config.sources[1])

    assert (columns["total"], count) == ("int64", 1)
    assert [exchange.path for exchange in api.requests][-1] == "/users/5/orders"
