"""The output layout: every path under output_dir, as the README documents it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fetcher.storage import layout

STARTED = datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC)


def test_run_id_is_utc_second() -> None:
    assert layout.run_id(STARTED) == "20261121T100005Z"
    assert layout.run_id(STARTED.astimezone(timezone(timedelta(hours=-11)))) == "20261121T100005Z"


def test_data_file_partitioned_by_utc_day_named_by_run() -> None:
    assert (
        layout.data_file("orders", STARTED, "parquet")
        == "orders/fetch_date=2026-11-21/orders_20261121T100005Z.parquet"
    )
    assert layout.partition("orders", STARTED) == "orders/fetch_date=2026-11-21"
    assert layout.run_stem("orders", STARTED) == "orders_20261121T100005Z"


def test_partition_day_is_the_utc_day() -> None:
    evening = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=-2)))

    assert layout.partition("orders", evening) == "orders/fetch_date=2026-11-22"


def test_source_files_beside_the_data() -> None:
    assert layout.runs_dir("orders") == "orders/_runs"
    assert layout.run_record("orders", "20261121T100005Z") == "orders/_runs/20261121T100005Z.json"
    assert layout.state_file("orders") == "orders/_state.json"
    assert layout.lock_file("orders") == "orders/.lock"
    assert layout.staging_dir("orders") == "orders/_staging"


def test_run_of_record_reads_back_run_record_names_only() -> None:
    name = layout.run_record("orders", "20261121T100005Z").rsplit("/", 1)[1]

    assert layout.run_of_record(name) == "20261121T100005Z"
    assert layout.run_of_record("planted.json") is None
    assert layout.run_of_record(".20261121T100005Z.json.ab12cd34.tmp") is None


def test_staging_key_is_fresh_and_in_its_source_staging_dir() -> None:
    first, second = (layout.staging_key("orders/fetch_date=2026-11-21/orders_1.parquet") for _ in range(2))

    assert first.startswith("orders/_staging/") and first.endswith(".partial")
    assert first != second


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        pytest.param("orders_1.parquet", None, id="staged-file"),
        pytest.param("_state.json", None, id="state"),
        pytest.param("orders_20261121T100005Z", "spool0", id="spool-segment"),
    ],
)
def test_temp_name_is_hidden_and_matches_the_cleanup_pattern(name: str, tag: str | None) -> None:
    temp = layout.temp_name(name, tag)

    assert temp.startswith(f".{name}.") and layout.TEMP_NAME.fullmatch(temp)


def test_temp_name_without_tag_is_fresh() -> None:
    assert layout.temp_name("x.csv") != layout.temp_name("x.csv")


@pytest.mark.parametrize("name", ["orders_1.parquet", ".lock", "_state.json", ".hidden"])
def test_cleanup_pattern_spares_published_names(name: str) -> None:
    assert not layout.TEMP_NAME.fullmatch(name)


def test_source_of_is_the_first_component() -> None:
    assert layout.source_of("orders/fetch_date=2026-11-21/orders_1.csv") == "orders"


def test_report_file_is_in_a_directory_no_source_can_be_named() -> None:
    path = layout.report_file()

    assert path == "_report/index.html"
    assert layout.source_of(path).startswith("_")
    assert layout.staging_key(path).startswith("_report/_staging/")
