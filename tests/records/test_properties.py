"""Property-based: timestamps, dates, declared decimals, separators and snake_case, over 1 to 20 pages.

The expected values come from a small independent reading of the rules (Python's datetime and
decimal, not Arrow): the landed values equal what the API served, and the same records give the
same table however they are paged.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetcher.errors import RecordsError
from fetcher.http.decode import decode
from fetcher.records.flatten import to_table
from fetcher.records.rules import DEFAULT_RULES, ColumnRules
from fetcher.records.schema import Unifier, conform

SETTINGS = settings(max_examples=60, deadline=None)
CUTS = st.lists(st.integers(0, 30), max_size=19)
MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))
OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timedelta(minutes=minutes))


@st.composite
def _timestamp_text(draw: st.DrawFn, *, offset: bool) -> str:
    moment = draw(MOMENTS)
    text = moment.isoformat(
        sep=draw(st.sampled_from("T ")),
        timespec=draw(st.sampled_from(["minutes", "seconds", "microseconds"])),
    )
    if moment.microsecond and draw(st.booleans()) and "." in text:
        text = text.rstrip("0")  # fewer than 6 digits, as many APIs write them
    if not offset:
        return text
    shift = draw(OFFSETS)
    if shift == timedelta(0) and draw(st.booleans()):
        return text + "Z"
    sign, minutes = ("-", -shift) if shift < timedelta(0) else ("+", shift)
    hours, rest = divmod(int(minutes.total_seconds()) // 60, 60)
    return f"{text}{sign}{hours:02d}{draw(st.sampled_from([':', '']))}{rest:02d}"


STRINGS = {
    "ts_tz": _timestamp_text(offset=True),
    "ts_naive": _timestamp_text(offset=False),
    "date": st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    "text": st.text(max_size=12),
}


def _expected(values: list[str | None]) -> tuple[str, list[Any]]:
    """The column's type and values by the documented rules, read with Python's datetime."""
    shapes = {_shape(value) for value in values if value is not None}
    if len(shapes) != 1 or shapes == {"text"}:
        return ("string" if shapes else "null"), values
    (shape,) = shapes
    if shape == "date":
        return "date32[day]", [None if value is None else date.fromisoformat(value) for value in values]
    parsed = [None if value is None else datetime.fromisoformat(value.replace(" ", "T")) for value in values]
    if shape == "ts_naive":
        return "timestamp[us]", parsed
    return "timestamp[us, tz=UTC]", [None if value is None else value.astimezone(UTC) for value in parsed]


def _shape(value: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return "date"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", value):
        return "text"
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # beyond years 0001-9999 in UTC: OverflowError
    except (ValueError, OverflowError):
        return "text"
    return "ts_naive" if parsed.tzinfo is None else "ts_tz"


def _split(records: list[dict[str, Any]], cuts: list[int]) -> list[list[dict[str, Any]]]:
    bounds = [0, *sorted(min(cut, len(records)) for cut in cuts), len(records)]
    return [records[start:end] for start, end in itertools.pairwise(bounds)]


def _run(pages: list[list[dict[str, Any]]], rules: ColumnRules = DEFAULT_RULES) -> pa.Table:
    tables = [to_table(page, rules=rules) for page in pages]
    unifier = Unifier("api", rules)
    for table in tables:
        unifier.observe(table)
    return pa.concat_tables([conform(table, unifier.schema) for table in tables])


@st.composite
def _string_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records with a few string columns, each drawn from one or two shapes of value (or null)."""
    columns = draw(
        st.lists(st.lists(st.sampled_from(sorted(STRINGS)), min_size=1, max_size=2), min_size=1, max_size=3)
    )
    values = [st.one_of(st.none(), *(STRINGS[shape] for shape in shapes)) for shapes in columns]
    rows = st.fixed_dictionaries({f"c{index}": strategy for index, strategy in enumerate(values)})
    return draw(st.lists(rows, min_size=1, max_size=30))


@SETTINGS
@given(records=_string_records(), cuts=CUTS)
def test_properties_timestamps_and_dates_land_as_served_however_paged(
    records: list[dict[str, Any]], cuts: list[int]
) -> None:
    whole = _run([records])
    paged = _run(_split(records, cuts))

    assert paged.equals(whole)
    for name in whole.column_names:
        kind, values = _expected([record[name] for record in records])
        assert str(whole.schema.field(name).type) == kind, name
        assert whole.column(name).to_pylist() == values, name


DECIMALS = st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(
    values=st.lists(st.one_of(st.none(), DECIMALS, st.integers(-(10**6), 10**6)), min_size=1, max_size=30),
    floats=st.lists(st.floats(allow_nan=False), min_size=1, max_size=30),
    cuts=CUTS,
)
def test_properties_declared_decimals_exact_and_floats_unchanged(
    values: list[Any], floats: list[float], cuts: list[int]
) -> None:
    rules = ColumnRules(columns={"price": "decimal(12,3)"})
    rows = zip(values, itertools.cycle(floats))
    body = (
        "["
        + ",".join(f'{{"price": {_number(price)}, "rate": {json.dumps(rate)}}}' for price, rate in rows)
        + "]"
    )
    records = decode(body.encode(), decimals=True).value

    whole = _run([records], rules)
    paged = _run(_split(records, cuts), rules)
    plain = _run([decode(body.encode()).value])

    assert paged.equals(whole)
    assert whole.column("price").to_pylist() == [
        None if value is None else Decimal(value) for value in values
    ]
    assert whole.schema.field("rate").type == plain.schema.field("rate").type
    assert whole.column("rate").to_pylist() == plain.column("rate").to_pylist()


def _number(value: Any) -> str:
    return "null" if value is None else str(value)


KEY_PARTS = st.sampled_from(
    ["id", "createdAt", "HTTPCode", "user_id", "User ID", "a.b", "x-y", "名前", "_", "__"]
)


@st.composite
def _nested_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    shape = draw(
        st.dictionaries(
            KEY_PARTS,
            st.one_of(st.none(), st.dictionaries(KEY_PARTS, st.none(), min_size=1, max_size=3)),
            min_size=1,
            max_size=5,
        )
    )
    rows = []
    for _ in range(draw(st.integers(1, 20))):
        row: dict[str, Any] = {}
        for key, children in shape.items():
            if draw(st.booleans()):
                row[key] = (
                    draw(st.integers(0, 9))
                    if children is None
                    else {child: draw(st.integers(0, 9)) for child in children}
                )
        rows.append(row)
    return rows


def _landed_names(
    records: list[dict[str, Any]], separator: str, snake: bool
) -> dict[str, tuple[str, ...]] | None:
    """Landed name -> key path by the README's naming rules; None when two paths share a name."""
    names: dict[str, tuple[str, ...]] = {}
    for record in records:
        for key, value in record.items():
            for path in [(key, child) for child in value] if isinstance(value, dict) else [(key,)]:
                name = separator.join(_snake(part) if snake else part for part in path)
                if names.setdefault(name, path) != path:
                    return None
    return names


def _snake(key: str) -> str:
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[\W_]+", "_", text).lower()
    stripped = text.strip("_")
    if not stripped:
        return "_"
    return "_" + stripped if text.startswith("_") or stripped[0].isdigit() else stripped


@SETTINGS
@given(
    records=_nested_records(),
    separator=st.sampled_from(["__", "_", ".", "/"]),
    snake=st.booleans(),
    cuts=CUTS,
)
def test_properties_names_by_separator_and_snake_case_or_a_collision(
    records: list[dict[str, Any]], separator: str, snake: bool, cuts: list[int]
) -> None:
    rules = ColumnRules(flatten_separator=separator, column_names="snake_case" if snake else "as_is")
    expected = _landed_names(records, separator, snake)

    if expected is None:
        with pytest.raises(RecordsError, match="both land on the column"):
            _run(_split(records, cuts), rules)
        return
    table = _run(_split(records, cuts), rules)
    assert sorted(table.column_names) == sorted(expected)
    for name, path in expected.items():
        served = [_get(record, path) for record in records]
        assert table.column(name).to_pylist() == served, name


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value
