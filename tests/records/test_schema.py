"""Schema unification: the run's types follow from every value it saw, however it was paged."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pytest

from fetcher.records.flatten import to_table
from fetcher.records.schema import Unifier, conform, describe


def _run(*pages: list[dict[str, Any]]) -> pa.Table:
    """The pages as one run writes them: unified, then each conformed, then joined."""
    tables = [to_table(page) for page in pages]
    unifier = Unifier("api")
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
