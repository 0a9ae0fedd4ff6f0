"""What lands beside the records: run columns, and CSV text for timestamps, read back by real readers."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.records.convert import TIMESTAMP_TZ
from fetcher.records.flatten import to_table
from fetcher.records.landing import csv_ready, json_value, with_run_columns, with_run_fields
from fetcher.records.rules import ColumnRules
from fetcher.records.schema import Unifier, conform

START = datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
RECORDS = [
    {"created": "2025-03-01T10:00:00Z", "local": "2025-03-01 10:00", "day": "2025-03-01", "price": "12.30"},
    {
        "created": "2025-03-01T10:00:00.5+01:00",
        "local": "0001-01-01T00:00:00.000001",
        "day": None,
        "price": None,
    },
]


def _landed() -> pa.Table:
    rules = ColumnRules(columns={"price": "decimal(10,2)"})
    page = to_table(RECORDS, rules=rules)
    unifier = Unifier("api", rules)
    unifier.observe(page)
    return with_run_columns(conform(page, unifier.schema), "20250301T100000Z", START)


def test_with_run_columns_appends_start_in_utc_and_run_id() -> None:
    table = _landed()

    assert table.column_names[-2:] == ["_fetched_at", "_run_id"]
    assert table.schema == with_run_fields(table.schema.remove(5).remove(4))
    assert table.column("_fetched_at").to_pylist() == [datetime(2025, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)] * 2
    assert table.column("_run_id").to_pylist() == ["20250301T100000Z"] * 2


def test_with_run_columns_on_empty_page_and_naive_start() -> None:
    assert with_run_columns(pa.table({"a": pa.array([], pa.int64())}), "r", START).num_rows == 0
    with pytest.raises(ValueError, match="time zone"):
        with_run_columns(pa.table({"a": [1]}), "r", datetime(2025, 3, 1))


def test_csv_ready_writes_iso_text_read_back_by_csv_readers(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    pacsv.write_csv(csv_ready(_landed()), path)

    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))

    assert [row["created"] for row in rows] == ["2025-03-01T10:00:00Z", "2025-03-01T09:00:00.500000Z"]
    assert [row["local"] for row in rows] == ["2025-03-01T10:00:00", "0001-01-01T00:00:00.000001"]
    assert [row["day"] for row in rows] == ["2025-03-01", ""]
    assert [row["price"] for row in rows] == ["12.30", ""]
    assert [row["_fetched_at"] for row in rows] == ["2025-03-01T10:00:00.250000Z"] * 2
    created = pd.to_datetime(pd.read_csv(path)["created"], format="ISO8601", utc=True)
    assert list(created) == [pd.Timestamp("2025-03-01T10:00:00Z"), pd.Timestamp("2025-03-01T09:00:00.5Z")]
    read = duckdb.sql(
        f"select epoch_us(created::timestamptz), day from read_csv('{path}') order by 1"
    ).fetchall()
    assert read == [
        (_epoch_us(datetime(2025, 3, 1, 9, 0, 0, 500000, UTC)), None),
        (_epoch_us(datetime(2025, 3, 1, 10, tzinfo=UTC)), date(2025, 3, 1)),
    ]


def test_landed_parquet_read_back_by_pyarrow_pandas_and_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    pq.write_table(_landed(), path)

    table = pq.read_table(path)
    frame = pd.read_parquet(path)
    query = f"select epoch_us(created), day, price from '{path}' order by created"
    at, day, price = duckdb.sql(query).fetchone()  # type: ignore[misc]

    assert str(table.schema.field("created").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("local").type) == "timestamp[us]"
    assert table.column("price").to_pylist() == [Decimal("12.30"), None]
    assert str(frame["created"].dt.tz) == "UTC" and frame["day"][0] == date(2025, 3, 1)
    assert at == _epoch_us(datetime(2025, 3, 1, 9, 0, 0, 500000, tzinfo=UTC))
    assert (day, price) == (None, None)


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(2025, 3, 1, 10, tzinfo=UTC), "2025-03-01T10:00:00Z", id="utc"),
        pytest.param(START, "2025-03-01T10:00:00.250000Z", id="offset-to-utc"),
        pytest.param(datetime(2025, 3, 1, 10, 0, 0, 5), "2025-03-01T10:00:00.000005", id="naive"),
        pytest.param(date(2025, 3, 1), "2025-03-01", id="date"),
        pytest.param(Decimal("12.30"), "12.30", id="decimal"),
        pytest.param(7, 7, id="int-unchanged"),
    ],
)
def test_json_value_matches_csv_text(value: object, expected: object) -> None:
    assert json_value(value) == expected
    if isinstance(value, datetime):
        (text,) = csv_ready(pa.table({"t": [value]})).column("t").to_pylist()
        assert text == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes()), min_size=1, max_size=20))
def test_csv_ready_text_is_json_value_for_any_time(times: list[datetime | None]) -> None:
    aware = [None if value is None else value.replace(tzinfo=UTC) for value in times]
    table = pa.table({"aware": pa.array(aware, TIMESTAMP_TZ), "naive": pa.array(times, pa.timestamp("us"))})

    ready = csv_ready(table)

    for name, values in (("aware", aware), ("naive", times)):
        expected = [None if value is None else json_value(value) for value in values]
        assert ready.column(name).to_pylist() == expected
