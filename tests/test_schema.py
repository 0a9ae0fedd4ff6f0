"""Schema unification: drift across pages is unified, no value lost, every change logged."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

from fetcher.schema import Unifier, conform, describe


def _unify(*tables: pa.Table) -> pa.Schema:
    unifier = Unifier("api")
    for table in tables:
        unifier.observe(table)
    return unifier.schema


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param(pa.int64(), pa.float64(), pa.float64(), id="int-then-float"),
        pytest.param(pa.float64(), pa.int64(), pa.float64(), id="float-then-int"),
        pytest.param(pa.int64(), pa.string(), pa.string(), id="int-then-string"),
        pytest.param(pa.null(), pa.bool_(), pa.bool_(), id="null-then-bool"),
        pytest.param(pa.bool_(), pa.null(), pa.bool_(), id="bool-then-null"),
        pytest.param(pa.bool_(), pa.int64(), pa.string(), id="bool-then-int"),
    ],
)
def test_observe_joins_types(first: pa.DataType, second: pa.DataType, expected: pa.DataType) -> None:
    one = pa.table({"v": pa.array([None], first)})
    two = pa.table({"v": pa.array([None], second)})

    assert _unify(one, two).field("v").type == expected


def test_observe_wide_ints_with_floats_become_string() -> None:
    schema = _unify(pa.table({"v": [2**60]}), pa.table({"v": [0.5]}))

    assert schema.field("v").type == pa.string()


def test_observe_keeps_first_seen_column_order() -> None:
    schema = _unify(pa.table({"b": [1], "a": [1]}), pa.table({"c": [1], "a": [1]}))

    assert schema.names == ["b", "a", "c"]


def test_observe_logs_added_and_widened_columns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _unify(pa.table({"v": [1]}), pa.table({"v": [1.5], "new": ["x"]}))

    lines = [record.getMessage() for record in caplog.records]
    assert "event=schema_drift source=api page=2 column=v change=widened from=int64 to=double" in lines
    assert "event=schema_drift source=api page=2 column=new change=added type=string" in lines


def test_conform_fills_missing_and_casts_without_loss() -> None:
    schema = pa.schema(
        [
            ("i", pa.float64()),
            ("s", pa.string()),
            ("f", pa.string()),
            ("b", pa.string()),
            ("missing", pa.int64()),
        ]
    )
    table = pa.table({"i": [1, None], "s": [7, 2**62], "f": [1.5, 1e20], "b": [True, False]})

    result = conform(table, schema)

    assert result.schema == schema
    assert result.to_pylist() == [
        {"i": 1.0, "s": "7", "f": "1.5", "b": "true", "missing": None},
        {"i": None, "s": str(2**62), "f": "1e+20", "b": "false", "missing": None},
    ]


def test_conform_null_column_to_any_type() -> None:
    result = conform(pa.table({"v": pa.nulls(2)}), pa.schema([("v", pa.int64())]))

    assert result.column("v").type == pa.int64() and result.column("v").null_count == 2


def test_describe_lists_name_and_type() -> None:
    assert describe(pa.schema([("id", pa.int64()), ("a.b", pa.string())])) == "id:int64,a.b:string"
