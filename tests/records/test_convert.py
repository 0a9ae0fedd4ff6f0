"""Typed values: timestamps and dates found among strings only where they convert exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from fetcher.errors import RecordsError
from fetcher.records.convert import TIMESTAMP_NAIVE, TIMESTAMP_TZ, arrow_type, convert, string_kinds
from fetcher.records.rules import parse_type


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        pytest.param(["2025-03-01T10:00:00Z", None], {"ts_tz"}, id="utc"),
        pytest.param(["2025-03-01T10:00:00.123456+01:00", "2025-03-01T10:00-0530"], {"ts_tz"}, id="offsets"),
        pytest.param(["2025-03-01T10:00:00", "2025-03-01 10:00"], {"ts_naive"}, id="naive"),
        pytest.param(["2025-03-01", "2024-02-29"], {"date"}, id="dates"),
        pytest.param(["2025-03-01", "2025-03-01T10:00:00Z"], {"date", "ts_tz"}, id="date-and-timestamp"),
        pytest.param(
            ["2025-03-01T10:00:00Z", "2025-03-01T10:00:00"], {"ts_tz", "ts_naive"}, id="tz-and-naive"
        ),
        # Text that does not even start like a date decides the column at once: it is text.
        pytest.param(["2025-03-01T10:00:00Z", "soon"], {"string"}, id="timestamp-and-text"),
        pytest.param(
            ["2025-03-01T10:00:00Z", "2025-03-01 or so"], {"ts_tz", "string"}, id="timestamp-and-near"
        ),
        pytest.param(["hello", None], {"string"}, id="text"),
        pytest.param(["2025-03-01T10:00:00.1234567Z"], {"string"}, id="nanoseconds"),
        pytest.param(["2016-12-31T23:59:60Z"], {"string"}, id="leap-second"),
        pytest.param(["2025-02-30"], {"string"}, id="no-such-day"),
        pytest.param(["2025-13-01T00:00:00"], {"string"}, id="no-such-month"),
        pytest.param(["0000-01-01"], {"string"}, id="year-zero"),
        pytest.param(["0001-01-01T00:00:00+01:00"], {"string"}, id="before-year-one-in-utc"),
        pytest.param(["9999-12-31T23:59:59-01:00"], {"string"}, id="after-9999-in-utc"),
        pytest.param(["2025-03-01t10:00:00z"], {"string"}, id="lower-case"),
        pytest.param(["2025-03-01T10Z"], {"string"}, id="hour-only"),
        pytest.param(["2025-03-01 "], {"string"}, id="trailing-space"),
        pytest.param(["٢٠٢٥-٠٣-٠١"], {"string"}, id="non-ascii-digits"),
    ],
)
def test_string_kinds(values: list[str | None], kinds: set[str]) -> None:
    assert string_kinds(pa.array(values, pa.string())) == kinds


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        pytest.param(
            "2025-03-01T10:00:00.5+01:00", TIMESTAMP_TZ, datetime(2025, 3, 1, 9, 0, 0, 500000, UTC), id="tz"
        ),
        pytest.param("2025-03-01 10:00", TIMESTAMP_NAIVE, datetime(2025, 3, 1, 10, 0), id="naive"),
        pytest.param("2025-03-01", pa.date32(), date(2025, 3, 1), id="date"),
        pytest.param("1E+2", pa.decimal128(10, 2), Decimal("100.00"), id="decimal-exponent"),
        pytest.param("true", pa.bool_(), True, id="bool-text"),
    ],
)
def test_convert_strings_exactly(text: str, target: pa.DataType, expected: object) -> None:
    (value,) = convert(pa.array([text]), target, "v").to_pylist()

    assert value == expected


def test_convert_declared_timestamp_without_offset_is_utc() -> None:
    column = convert(pa.array(["2025-03-01T10:00:00", "2025-03-01T10:00:00+02:00", None]), TIMESTAMP_TZ, "t")

    assert column.to_pylist() == [
        datetime(2025, 3, 1, 10, tzinfo=UTC),
        datetime(2025, 3, 1, 8, tzinfo=UTC),
        None,
    ]


@pytest.mark.parametrize(
    ("values", "target", "shown"),
    [
        pytest.param(["12.30", "12.345"], pa.decimal128(10, 2), "'12.345'", id="decimal-scale"),
        pytest.param(["1e40"], pa.decimal128(10, 2), "'1e40'", id="decimal-precision"),
        pytest.param([1, 2**53 + 1], pa.float64(), "'9007199254740993'", id="int-not-exact-in-double"),
        pytest.param([1.0, 1.5], pa.int64(), "'1.5'", id="fraction-to-int"),
        pytest.param([True], pa.int64(), "'true'", id="bool-to-int"),
        pytest.param(["1", "0"], pa.bool_(), "'1'", id="digit-to-bool"),
        pytest.param([1], pa.bool_(), "'1'", id="int-to-bool"),
        pytest.param([1700000000], TIMESTAMP_TZ, "'1700000000'", id="int-to-timestamp"),
        pytest.param(["2025-03-01T10:00:00"], pa.date32(), "'2025-03-01T10:00:00'", id="timestamp-to-date"),
        pytest.param(["tomorrow"], TIMESTAMP_TZ, "'tomorrow'", id="text-to-timestamp"),
    ],
)
def test_convert_refuses_naming_column_value_and_url(
    values: list[object], target: pa.DataType, shown: str
) -> None:
    with pytest.raises(
        RecordsError, match=f"^https://h/x: column 'v': value {shown} does not convert to "
    ) as caught:
        convert(pa.array(values), target, "v", "https://h/x")

    assert str(target) in str(caught.value)


def test_convert_failure_cuts_long_value_to_80_characters() -> None:
    with pytest.raises(RecordsError) as caught:
        convert(pa.array(["x" * 500]), pa.int64(), "v", "u")

    shown = str(caught.value).split("value ")[1].split(" does not")[0]
    assert shown == repr("x" * 79 + "…")


def test_arrow_type_of_each_declared_type() -> None:
    names = ["string", "int64", "double", "bool", "timestamp", "date", "decimal(12,3)", "json"]

    assert [str(arrow_type(parse_type(name))) for name in names] == [
        "string",
        "int64",
        "double",
        "bool",
        "timestamp[us, tz=UTC]",
        "date32[day]",
        "decimal128(12, 3)",
        "string",
    ]
