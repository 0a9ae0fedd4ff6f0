"""Parent/child sources against a real nested API (Django REST Framework): users, then their orders."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from fetcher import reader
from fetcher.config.load import load as load_config
from fetcher.config.model import Config, Source
from fetcher.run import history, runner
from tests.servers.drf_nested import DrfNested, orders_of

pytest.importorskip(
    "rest_framework", reason="djangorestframework is a test dependency (requirements-test.in)"
)


def _config(write_config: Callable[[str], Path], api: DrfNested, child: str = "") -> Config:
    text = f"""
        output_dir = "{{out}}"

        [[sources]]
        name = "users"
        url = "{api.url("/users/")}"
        records = "results"
        [sources.pagination]
        type = "next_url"
        next_path = "next"

        [[sources]]
        name = "orders"
        url = "{api.url("/users/{user_id}/orders/")}"
        records = "results"
        {child}
        [sources.pagination]
        type = "next_url"
        next_path = "next"
        [sources.parent]
        source = "users"
        fields = {{ user_id = "id" }}
        include = ["id"]
    """
    return load_config(str(write_config(text)), {})


def _with_concurrency(child: Source, concurrency: int, name: str | None = None) -> Source:
    assert child.parent is not None
    parent = msgspec.structs.replace(child.parent, concurrency=concurrency)
    return msgspec.structs.replace(child, name=name or child.name, parent=parent)


@pytest.fixture(scope="module")
def users_200() -> Iterator[DrfNested]:
    with DrfNested(users=200) as api:
        yield api


def test_child_of_200_users_lands_every_order_in_user_order(
    users_200: DrfNested, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = _config(write_config, users_200)
    users, orders = config.sources

    assert runner.run(config, users).status == history.SUCCEEDED
    record = runner.run(config, orders)

    expected = [order for user in range(1, 201) for order in orders_of(user)]
    assert record.status == history.SUCCEEDED, record.error
    assert record.records == len(expected) == 300
    landed = reader.read_table(str(tmp_path / "out"), "orders").to_pylist()
    assert [row["id"] for row in landed] == [order["id"] for order in expected]
    assert all(row["_parent__id"] == row["user_id"] for row in landed)
    assert record.columns["_parent__id"] == "int64"
    # one walk per user: its first page, and a second one for users with three orders
    assert record.pages == 200 + sum(1 for user in range(1, 201) if user % 4 == 3)


def test_child_files_do_not_depend_on_concurrency(
    users_200: DrfNested, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    landed = []
    for concurrency in (1, 8):
        config = _config(write_config, users_200)
        users, orders = config.sources
        runner.run(config, users)
        orders = _with_concurrency(orders, concurrency, name=f"orders{concurrency}")
        assert runner.run(config, orders).status == history.SUCCEEDED
        table = reader.read_table(str(tmp_path / "out"), orders.name)
        landed.append(table.drop_columns(["_fetched_at", "_run_id", "fetch_date"]).to_pylist())

    assert landed[0] == landed[1]


def test_a_failing_child_request_fails_the_run_and_publishes_nothing(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    with DrfNested(users=40, fail_user=17) as api:
        config = _config(write_config, api)
        users, orders = config.sources
        runner.run(config, users)

        record = runner.run(config, orders)

    assert record.status == history.FAILED
    assert record.error is not None and record.error.status == 400
    assert "/users/17/orders/" in record.error.message
    assert record.files == []
    landed = [path.name for path in (tmp_path / "out" / "orders").rglob("*") if path.is_file()]
    assert sorted(landed) == [".lock", f"{record.run_id}.json"]


def test_ten_requests_per_second_is_never_more_in_any_one_second_window(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real time: the server notes when each request arrives, and no one-second window holds more
    than ten. (A correctness test of the limiter; it asserts counts, never a duration.)"""
    monkeypatch.setattr("fetcher.http.budget._clock", time.monotonic)
    monkeypatch.setattr("fetcher.http.budget._pause", lambda closed, seconds: closed.wait(seconds))
    with DrfNested(users=24) as api:
        config = _config(write_config, api, child="[sources.rate_limit]\nrequests_per_second = 10\n")
        users, orders = config.sources
        runner.run(config, users)
        orders = _with_concurrency(orders, 8)

        record = runner.run(config, orders)
        arrivals = sorted(item["at"] for item in api.arrivals() if "/orders/" in item["path"])

    assert record.status == history.SUCCEEDED, record.error
    assert len(arrivals) == record.attempts == 24 + sum(1 for user in range(1, 25) if user % 4 == 3)
    busiest = max(sum(1 for at in arrivals[i:] if at < start + 1.0) for i, start in enumerate(arrivals))
    assert busiest <= 10
