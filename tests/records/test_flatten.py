"""Records: the three shapes, flattening, and per-page types that lose no value."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pytest

from fetcher.errors import RecordsError
from fetcher.records.flatten import MAX_DEPTH, Deduplicator, extract, to_table
from fetcher.records.schema import Unifier, conform


class TestExtract:
    def test_extract_list_of_objects(self) -> None:
        assert extract({"data": [{"a": 1}, {"a": 2}]}, "data", "u") == [{"a": 1}, {"a": 2}]

    def test_extract_single_object_is_one_record(self) -> None:
        assert extract({"current": {"temp": 3.5, "wind": 10}}, "current", "u") == [{"temp": 3.5, "wind": 10}]

    def test_extract_columnar_object_is_one_record_per_index(self) -> None:
        body = {"hourly": {"time": ["t0", "t1"], "temp": [1.5, 2.5]}}

        assert extract(body, "hourly", "u") == [{"time": "t0", "temp": 1.5}, {"time": "t1", "temp": 2.5}]

    def test_extract_root_list_with_empty_path(self) -> None:
        assert extract([{"a": 1}], "", "u") == [{"a": 1}]

    @pytest.mark.parametrize("node", [None, [], {}, {"time": [], "temp": []}])
    def test_extract_empty_shapes_hold_no_record(self, node: object) -> None:
        assert extract({"data": node}, "data", "u") == []

    def test_extract_missing_path_names_url_and_path(self) -> None:
        with pytest.raises(
            RecordsError,
            match=r"https://h/x: records path 'data.items' not found in the body \(the body has 'data'\)",
        ):
            extract({"data": {"rows": []}}, "data.items", "https://h/x")

    def test_extract_list_of_scalars_is_refused(self) -> None:
        with pytest.raises(RecordsError, match="must be objects; item 1 is a number"):
            extract({"data": [{"a": 1}, 2]}, "data", "u")

    def test_extract_scalar_is_refused(self) -> None:
        with pytest.raises(RecordsError, match="are a string; expected an array of objects"):
            extract({"data": "oops"}, "data", "u")


def _types(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema}


class TestToTable:
    def test_to_table_flattens_nested_objects_to_double_underscore_columns(self) -> None:
        table = to_table([{"id": 1, "geo": {"lat": 1.5, "city": {"name": "Oslo"}}}, {"id": 2}])

        assert table.column_names == ["id", "geo__lat", "geo__city__name"]
        assert table.to_pylist() == [
            {"id": 1, "geo__lat": 1.5, "geo__city__name": "Oslo"},
            {"id": 2, "geo__lat": None, "geo__city__name": None},
        ]

    def test_to_table_lists_become_compact_json_text(self) -> None:
        table = to_table([{"tags": ["a", "b"], "items": [{"x": 1}]}, {"tags": []}])

        assert _types(table) == {"tags": "string", "items": "string"}
        assert table.column("tags").to_pylist() == ['["a","b"]', "[]"]
        assert json.loads(table.column("items")[0].as_py()) == [{"x": 1}]

    @pytest.mark.parametrize(
        ("values", "kind", "expected"),
        [
            pytest.param([1, 2, None], "int64", [1, 2, None], id="ints"),
            pytest.param([1, 2.5], "double", [1.0, 2.5], id="int-and-float"),
            pytest.param([True, None], "bool", [True, None], id="bools"),
            pytest.param([None, None], "null", [None, None], id="null-only"),
            pytest.param([1, "x"], "string", ["1", "x"], id="int-and-string"),
            pytest.param([True, 1], "string", ["true", "1"], id="bool-and-int"),
            pytest.param([True, 0, 0.5], "string", ["true", "0", "0.5"], id="bool-int-float"),
            pytest.param([2**63, 1], "string", [str(2**63), "1"], id="beyond-int64"),
            pytest.param([2**53 + 1, 0.5], "string", [str(2**53 + 1), "0.5"], id="int-too-wide-for-float"),
            pytest.param([2**60, 1], "int64", [2**60, 1], id="wide-ints-alone"),
            pytest.param([[1], "x"], "string", ["[1]", "x"], id="array-and-string"),
            pytest.param(["ü", "日本"], "string", ["ü", "日本"], id="unicode"),
        ],
    )
    def test_to_table_column_type_holds_every_value(
        self, values: list[object], kind: str, expected: list[object]
    ) -> None:
        table = _as_run([{"v": value} for value in values])

        assert _types(table) == {"v": kind}
        assert table.column("v").to_pylist() == expected

    def test_to_table_object_fields_and_other_values_go_to_their_own_columns(self) -> None:
        table = _as_run([{"v": {"a": 1}}, {"v": "x"}, {"v": {}}, {"v": None}])

        assert table.to_pylist() == [
            {"v__a": 1, "v": None},
            {"v__a": None, "v": "x"},
            {"v__a": None, "v": "{}"},
            {"v__a": None, "v": None},
        ]

    def test_to_table_nan_and_infinity_kept_in_float_column(self) -> None:
        column = to_table([{"v": math.nan}, {"v": math.inf}, {"v": 1}], exact=True)
        column = conform(column, pa.schema([("v", pa.float64())])).column("v").to_pylist()

        assert math.isnan(column[0]) and column[1:] == [math.inf, 1.0]

    def test_to_table_exact_page_writes_nan_inside_lists(self) -> None:
        table = to_table([{"v": [math.nan, 10**30]}], exact=True)

        assert table.column("v").to_pylist() == ["[NaN,1000000000000000000000000000000]"]

    def test_to_table_empty_object_kept_as_text(self) -> None:
        table = _as_run([{"id": 1, "meta": {}}, {"id": 2, "meta": None}, {"id": 3, "meta": {"a": 1}}])

        assert table.column("meta").to_pylist() == ["{}", None, None]
        assert table.column("meta__a").to_pylist() == [None, None, 1]

    def test_to_table_objects_below_max_depth_stay_json_text(self) -> None:
        deep: dict[str, object] = {"leaf": 1}
        for _ in range(40):
            deep = {"k": deep}

        table = to_table([deep])

        (name,) = table.column_names
        assert name == "__".join(["k"] * MAX_DEPTH)
        assert json.loads(table.column(name)[0].as_py()) == _unwrap(deep, MAX_DEPTH)

    def test_to_table_unicode_keys(self) -> None:
        assert to_table([{"straße": 1, "名前": "x"}]).column_names == ["straße", "名前"]

    def test_to_table_records_without_fields_keep_their_count(self) -> None:
        table = to_table([{}, {}, {}])

        assert (table.num_rows, table.num_columns) == (3, 0)

    def test_to_table_separator_key_colliding_with_nested_is_refused(self) -> None:
        with pytest.raises(RecordsError, match=r"both land on the column 'a__b': a\.b and a__b"):
            to_table([{"a": {"b": 2}, "a__b": 1}])

    def test_to_table_dotted_key_next_to_nested_object_is_its_own_column(self) -> None:
        table = to_table([{"a.b": 1, "a": {"b": 2}}])

        assert table.to_pylist() == [{"a.b": 1, "a__b": 2}]

    def test_to_table_lone_surrogate_is_records_error(self) -> None:
        with pytest.raises(RecordsError, match="invalid unicode escape"):
            to_table([{"v": "\ud800"}], exact=True)


class TestDeduplicator:
    def test_deduplicator_drops_repeats_across_pages_keeping_first(self) -> None:
        dedupe = Deduplicator(["id"])

        first = dedupe([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
        second = dedupe([{"id": 2, "v": "B"}, {"id": 3, "v": "c"}])

        assert first == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
        assert second == [{"id": 3, "v": "c"}]
        assert dedupe.dropped == 1

    def test_deduplicator_compound_and_nested_key(self) -> None:
        dedupe = Deduplicator(["id", "geo.region"])

        kept = dedupe(
            [
                {"id": 1, "geo": {"region": "eu"}},
                {"id": 1, "geo": {"region": "us"}},
                {"id": 1, "geo": {"region": "eu"}},
            ]
        )

        assert len(kept) == 2

    def test_deduplicator_keys_by_json_value(self) -> None:
        dedupe = Deduplicator(["id"])

        kept = dedupe([{"id": 1}, {"id": 1.0}, {"id": True}, {"id": "1"}, {"id": [1]}, {"id": [1]}])

        assert kept == [{"id": 1}, {"id": True}, {"id": "1"}, {"id": [1]}]

    def test_deduplicator_keeps_records_without_key(self) -> None:
        dedupe = Deduplicator(["id"])

        assert len(dedupe([{"id": None, "v": 1}, {"id": None, "v": 2}, {"v": 3}])) == 3

    def test_deduplicator_without_key_passes_through(self) -> None:
        rows = [{"id": 1}, {"id": 1}]

        assert Deduplicator([])(rows) is rows


def _as_run(records: list[dict[str, object]]) -> pa.Table:
    """The records as a run writes them: one page, conformed to the run's schema."""
    unifier = Unifier("api")
    page = to_table(records)
    unifier.observe(page)
    return conform(page, unifier.schema)


def _unwrap(document: dict[str, object], levels: int) -> object:
    for _ in range(levels):
        document = document["k"]  # type: ignore[assignment]
    return document
