"""Records: the three shapes, flattening, and per-page types that lose no value."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from fetcher.errors import RecordsError
from fetcher.http.decode import decode
from fetcher.records.flatten import MAX_DEPTH, Deduplicator, extract, to_table
from fetcher.records.rules import DEFAULT_RULES, ColumnRules
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


def _as_run(records: list[dict[str, object]], rules: ColumnRules = DEFAULT_RULES) -> pa.Table:
    """The records as a run writes them: one page, conformed to the run's schema."""
    unifier = Unifier("api", rules)
    page = to_table(records, rules=rules)
    unifier.observe(page)
    return conform(page, unifier.schema)


def _unwrap(document: dict[str, object], levels: int) -> object:
    for _ in range(levels):
        document = document["k"]  # type: ignore[assignment]
    return document


class TestColumnRules:
    def test_to_table_custom_separator(self) -> None:
        table = to_table([{"a": {"b": 1}}], rules=ColumnRules(flatten_separator="_"))

        assert table.column_names == ["a_b"]

    def test_to_table_snake_case_names(self) -> None:
        rules = ColumnRules(column_names="snake_case")

        table = to_table([{"createdAt": 1, "billingAddress": {"zipCode": "x"}, "HTTPCode": 200}], rules=rules)

        assert table.column_names == ["created_at", "billing_address__zip_code", "http_code"]

    def test_to_table_snake_case_collision_names_both_fields(self) -> None:
        with pytest.raises(
            RecordsError,
            match=r"both land on the column 'created_at': createdAt and created_at; leave one out with",
        ):
            to_table([{"createdAt": 1, "created_at": 2}], rules=ColumnRules(column_names="snake_case"))

    def test_to_table_reserved_name_renamed(self) -> None:
        table = to_table([{"fetch_date": "x", "_run_id": 1, "_fetched_at": True}])

        assert table.column_names == ["fetch_date_", "_run_id_", "_fetched_at_"]
        assert table.to_pylist() == [{"fetch_date_": "x", "_run_id_": 1, "_fetched_at_": True}]

    def test_to_table_reserved_rename_taken_is_a_collision(self) -> None:
        with pytest.raises(
            RecordsError, match="both land on the column 'fetch_date_': fetch_date and fetch_date_"
        ):
            to_table([{"fetch_date": 1, "fetch_date_": 2}])

    def test_to_table_exclude_leaf_and_whole_object(self) -> None:
        rules = ColumnRules(exclude=("customer.email", "raw", "absent.path"))
        records = [
            {"id": 1, "customer": {"email": "a@b", "name": "A"}, "raw": {"x": [1]}},
            {"id": 2, "raw": "big"},
        ]

        table = to_table(records, rules=rules)

        assert table.to_pylist() == [{"id": 1, "customer__name": "A"}, {"id": 2, "customer__name": None}]

    def test_to_table_exclude_names_keys_as_served(self) -> None:
        rules = ColumnRules(column_names="snake_case", exclude=("userEmail",))

        assert to_table([{"userEmail": "a@b", "userId": 1}], rules=rules).column_names == ["user_id"]

    def test_to_table_declared_json_keeps_object_whole(self) -> None:
        rules = ColumnRules(columns={"address": "json"})
        records = [{"address": {"city": "Oslo", "geo": [1, 2]}}, {"address": "unknown"}, {"address": None}]

        table = to_table(records, rules=rules)

        assert table.column("address").to_pylist() == ['{"city":"Oslo","geo":[1,2]}', '"unknown"', None]

    def test_to_table_infer_types_off_keeps_plain_string_kind(self) -> None:
        table = _as_run([{"t": "2025-03-01T10:00:00Z"}], ColumnRules(infer_types=False))

        assert table.column("t").to_pylist() == ["2025-03-01T10:00:00Z"]

    def test_to_table_inferred_timestamp_in_utc(self) -> None:
        table = _as_run([{"t": "2025-03-01T10:00:00+01:00"}, {"t": None}])

        assert _types(table) == {"t": "timestamp[us, tz=UTC]"}
        assert table.column("t").to_pylist() == [datetime(2025, 3, 1, 9, tzinfo=UTC), None]


class TestDecimals:
    BODY = b'[{"price": 12.30, "rate": 0.1, "big": 1e400, "tags": [1.50, 2], "n": 7, "mix": [1.5, "x"]}]'

    def test_to_table_declared_decimal_is_exact(self) -> None:
        rules = ColumnRules(columns={"price": "decimal(10,2)"})
        records = decode(self.BODY, decimals=True).value

        table = _as_run(records, rules)

        assert table.schema.field("price").type == pa.decimal128(10, 2)
        assert table.column("price").to_pylist() == [Decimal("12.30")]

    def test_to_table_undeclared_floats_identical_with_decimals(self) -> None:
        rules = ColumnRules(columns={"price": "decimal(10,2)"})
        plain = _as_run(decode(self.BODY).value, rules)
        exact = _as_run(decode(self.BODY, decimals=True).value, rules)

        for name in ("rate", "big", "n"):
            assert exact.column(name).type == plain.column(name).type, name
            assert exact.column(name).to_pylist() == plain.column(name).to_pylist(), name
        assert json.loads(exact.column("tags")[0].as_py()) == [1.5, 2]

    def test_to_table_decimal_values_that_do_not_fit_fail_with_url(self) -> None:
        rules = ColumnRules(columns={"price": "decimal(4,2)"})
        page = to_table(decode(b'[{"price": 1.5}, {"price": 123.456}]', decimals=True).value, rules=rules)
        unifier = Unifier("api", rules)

        with pytest.raises(
            RecordsError, match=r"^https://h/x: column 'price': value '123.456' does not convert"
        ):
            unifier.observe(page, "https://h/x")
        with pytest.raises(
            RecordsError, match=r"^https://h/x: column 'price': value '123.456' does not convert"
        ):
            conform(page, pa.schema([("price", pa.decimal128(4, 2))]), "https://h/x")

    def test_deduplicator_matches_decimal_keys_like_numbers(self) -> None:
        dedupe = Deduplicator(["id"])

        assert dedupe([{"id": 1}, {"id": Decimal("1.0")}, {"id": [Decimal("2.5")]}]) == [
            {"id": 1},
            {"id": [Decimal("2.5")]},
        ]
