"""Schema unification: the run's types follow from every value it saw, however it was paged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from fetcher.errors import RecordsError
from fetcher.records.flatten import to_table
from fetcher.records.rules import DEFAULT_RULES, ColumnRules
from fetcher.records.schema import Unifier, conform, describe


def _run(*pages: list[dict[str, Any]], rules: ColumnRules = DEFAULT_RULES) -> pa.Table:
    """The pages as one run writes them: unified, then each conformed, then joined."""
    tables = [to_table(page, rules=rules) for page in pages]
    unifier = Unifier("api", rules)
    for table in tables:
        unifier.observe(table)
    return pa.concat_tables([conform(table, unifier.schema) for table in tables])


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param([1], [1.5], "double", id="int-then-float"),
        pytest.param([1.5], [1], "double", id="float-then-int"),
        pytest.param([1], ["x"], "string", id="int-then-string"),
        pytest.param([None], [True], "bool", id="null-then-bool"),
        pytest.param([True], [None], "bool", id="bool-then-null"),
        pytest.param([True], [1], "string", id="bool-then-int"),
        pytest.param([2**60], [0.5], "string", id="wide-int-then-float"),
        pytest.param([2**60], [1], "int64", id="wide-int-then-int"),
        pytest.param(["2025-03-01T10:00Z"], [None], "timestamp[us, tz=UTC]", id="timestamp-then-null"),
        pytest.param(["2025-03-01T10:00"], ["2025-03-02 11:00:00"], "timestamp[us]", id="naive-timestamps"),
        pytest.param(["2025-03-01"], ["2025-03-02"], "date32[day]", id="dates"),
        pytest.param(["2025-03-01"], ["2025-03-01T10:00Z"], "string", id="date-then-timestamp"),
        pytest.param(["2025-03-01T10:00Z"], ["2025-03-01T10:00"], "string", id="tz-then-naive"),
        pytest.param(["2025-03-01T10:00Z"], ["later"], "string", id="timestamp-then-text"),
        pytest.param(["2025-03-01"], [20250301], "string", id="date-then-int"),
    ],
)
def test_observe_joins_kinds_across_pages(first: list[Any], second: list[Any], expected: str) -> None:
    table = _run([{"v": value} for value in first], [{"v": value} for value in second])

    assert str(table.schema.field("v").type) == expected


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([{"k": {"a": 1}}, {"k": 5}], id="object-then-scalar"),
        pytest.param([{"k": {}}, {"k": {"a": 1}}], id="empty-object-then-object"),
        pytest.param([{"k": True}, {"k": 0}, {"k": 0.5}], id="bool-then-int-and-float"),
        pytest.param([{"a": 1, "b": 2**60}, {"b": 0.5, "c": [1]}, {"a": "x"}], id="several-columns"),
    ],
)
def test_same_records_give_the_same_table_however_paged(records: list[dict[str, Any]]) -> None:
    whole = _run(records)

    for cut in range(1, len(records)):
        paged = _run(records[:cut], records[cut:])
        assert _same_rows(paged, whole), cut


def _same_rows(left: pa.Table, right: pa.Table) -> bool:
    """Equal rows, columns compared by name (their order follows first appearance)."""
    names = sorted(left.column_names)
    return (
        names == sorted(right.column_names)
        and left.select(names).to_pylist() == right.select(names).to_pylist()
    )


def test_observe_int_that_shared_a_page_with_a_float_stays_an_int_in_text() -> None:
    table = _run([{"k": True}], [{"k": 0}, {"k": 0.5}])

    assert table.column("k").to_pylist() == ["true", "0", "0.5"]


def test_observe_keeps_first_seen_column_order() -> None:
    table = _run([{"b": 1, "a": 1}], [{"c": 1, "a": 1}])

    assert table.column_names == ["b", "a", "c"]


def test_observe_logs_added_and_widened_columns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    _run([{"v": 1, "n": None}], [{"v": "x", "new": 1.5, "n": 3}])

    lines = [record.getMessage() for record in caplog.records]
    assert "event=schema_drift source=api page=2 column=n change=widened from=null to=int64" in lines
    assert "event=schema_drift source=api page=2 column=v change=widened from=int64 to=string" in lines
    assert "event=schema_drift source=api page=2 column=new change=added type=double" in lines


def test_conform_fills_missing_and_converts_exactly() -> None:
    schema = pa.schema(
        [
            ("i", pa.float64()),
            ("s", pa.string()),
            ("f", pa.string()),
            ("b", pa.string()),
            ("missing", pa.int64()),
        ]
    )
    page = to_table([{"i": 1, "s": 7, "f": 1.5, "b": True}, {"i": None, "s": 2**62, "f": 1e20, "b": False}])

    result = conform(page, schema)

    assert result.schema == schema
    assert result.to_pylist() == [
        {"i": 1.0, "s": "7", "f": "1.5", "b": "true", "missing": None},
        {"i": None, "s": str(2**62), "f": "1e+20", "b": "false", "missing": None},
    ]


def test_conform_mixed_number_text_to_double() -> None:
    page = to_table([{"v": 1}, {"v": 2.5}])

    assert conform(page, pa.schema([("v", pa.float64())])).column("v").to_pylist() == [1.0, 2.5]


def test_describe_lists_name_and_type() -> None:
    assert describe(pa.schema([("id", pa.int64()), ("a.b", pa.string())])) == "id:int64,a.b:string"


def test_observe_mixed_timestamps_stay_as_they_came() -> None:
    table = _run([{"t": "2025-03-01T10:00:00+01:00"}], [{"t": "2025-03-01"}])

    assert table.column("t").to_pylist() == ["2025-03-01T10:00:00+01:00", "2025-03-01"]


def test_observe_declared_type_wins_over_inference() -> None:
    rules = ColumnRules(columns={"id": "string", "t": "string", "n": "double", "d": "timestamp"})

    table = _run([{"id": 1, "t": "2025-03-01", "n": 1, "d": "2025-03-01T10:00:00"}], [{"id": 2}], rules=rules)

    assert describe(table.schema) == "id:string,t:string,n:double,d:timestamp[us, tz=UTC]"
    assert table.to_pylist()[0] == {
        "id": "1",
        "t": "2025-03-01",
        "n": 1.0,
        "d": datetime(2025, 3, 1, 10, tzinfo=UTC),
    }


def test_observe_infer_types_off_keeps_strings() -> None:
    table = _run([{"t": "2025-03-01"}], rules=ColumnRules(infer_types=False))

    assert describe(table.schema) == "t:string"


def test_observe_collision_across_pages_names_both_fields() -> None:
    with pytest.raises(RecordsError, match=r"both land on the column 'a__b': a\.b and a__b"):
        _run([{"a": {"b": 1}}], [{"a__b": 2}])


def test_observe_null_parent_dropped_by_key_path() -> None:
    table = _run([{"a": None, "a__x": 1}], [{"a": {"b": 1}}])

    assert table.column_names == ["a__x", "a__b"]


def test_observe_logs_reserved_rename_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    _run([{"fetch_date": "x"}], [{"fetch_date": "y"}])

    lines = [record.getMessage() for record in caplog.records if "column_renamed" in record.getMessage()]
    assert lines == ["event=column_renamed source=api column=fetch_date to=fetch_date_ reason=reserved"]


def test_observe_declared_value_that_does_not_convert_names_column_value_and_url() -> None:
    rules = ColumnRules(columns={"n": "int64"})
    pages = [to_table([{"n": 1}], rules=rules), to_table([{"n": "12x"}], rules=rules)]
    unifier = Unifier("api", rules)
    unifier.observe(pages[0], "https://h/x?page=1")

    with pytest.raises(
        RecordsError, match=r"^https://h/x\?page=2: column 'n': value '12x' does not convert to int64$"
    ):
        unifier.observe(pages[1], "https://h/x?page=2")


def test_conform_failed_conversion_names_column_value_and_url() -> None:
    page = to_table([{"n": "12x"}])

    with pytest.raises(
        RecordsError, match=r"^https://h/x\?page=2: column 'n': value '12x' does not convert to int64$"
    ):
        conform(page, pa.schema([("n", pa.int64())]), "https://h/x?page=2")
