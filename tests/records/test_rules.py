"""Column rules: declared types and exclude entries parsed and checked, naming the bad key."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

from fetcher.errors import ConfigError
from fetcher.records.rules import ColumnRules, ColumnType, parse_path, parse_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("string", ColumnType("string"), id="string"),
        pytest.param(" Int64 ", ColumnType("int64"), id="case-and-spaces"),
        pytest.param("json", ColumnType("json"), id="json"),
        pytest.param("decimal(10,2)", ColumnType("decimal", 10, 2), id="decimal"),
        pytest.param("decimal( 38 , 0 )", ColumnType("decimal", 38, 0), id="decimal-widest"),
        pytest.param("decimal(1,1)", ColumnType("decimal", 1, 1), id="decimal-scale-is-precision"),
    ],
)
def test_parse_type_known_types(text: str, expected: ColumnType) -> None:
    assert parse_type(text) == expected


def test_parse_type_decimal_prints_as_written() -> None:
    assert str(parse_type("decimal(10, 2)")) == "decimal(10,2)"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("float", "unknown type 'float'; allowed: string, int64, double", id="unknown"),
        pytest.param("decimal(P,S)", "unknown type", id="placeholder"),
        pytest.param("decimal(0,0)", "precision 0 is not within 1 to 38", id="precision-zero"),
        pytest.param("decimal(39,2)", "precision 39 is not within 1 to 38", id="precision-too-large"),
        pytest.param(
            "decimal(5,6)", "scale 6 is not within 0 to the precision 5", id="scale-above-precision"
        ),
        pytest.param("decimal(5)", "unknown type", id="decimal-without-scale"),
    ],
)
def test_parse_type_refuses_with_allowed_types(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_type(text)


def test_parse_path_splits_on_dots() -> None:
    assert parse_path("customer.email") == ("customer", "email")


@pytest.mark.parametrize("entry", ["", " ", ".a", "a.", "a..b"])
def test_parse_path_refuses_empty_keys(entry: str) -> None:
    with pytest.raises(ValueError, match=f"exclude entry {entry!r}"):
        parse_path(entry)


class TestCheck:
    def test_check_defaults_pass(self) -> None:
        ColumnRules().check("sources[0]")

    @pytest.mark.parametrize(
        ("rules", "key", "words"),
        [
            pytest.param(
                ColumnRules(flatten_separator=""),
                "sources[0].flatten_separator",
                "non-empty",
                id="empty-separator",
            ),
            pytest.param(
                ColumnRules(flatten_separator="\t"),
                "sources[0].flatten_separator",
                "control",
                id="tab-separator",
            ),
            pytest.param(
                ColumnRules(columns={"price": "money"}),
                "sources[0].columns.price",
                "unknown type 'money'",
                id="type",
            ),
            pytest.param(
                ColumnRules(columns={"": "string"}), "sources[0].columns", "empty name", id="type-name"
            ),
            pytest.param(
                ColumnRules(exclude=("raw", "a..b")),
                "sources[0].exclude",
                "exclude entry 'a..b'",
                id="exclude",
            ),
            pytest.param(
                ColumnRules(column_names="camel"),  # type: ignore[arg-type]
                "sources[0].column_names",
                "not one of as_is, snake_case",
                id="naming",
            ),
        ],
    )
    def test_check_names_the_bad_key(self, rules: ColumnRules, key: str, words: str) -> None:
        with pytest.raises(ConfigError, match=words) as caught:
            rules.check("sources[0]")

        assert caught.value.key == key

    def test_check_without_where_names_the_bare_key(self) -> None:
        with pytest.raises(ConfigError) as caught:
            ColumnRules(exclude=("",)).check()

        assert caught.value.key == "exclude"


def test_column_rules_from_toml_shaped_dict() -> None:
    rules = msgspec.convert(
        {
            "flatten_separator": "_",
            "column_names": "snake_case",
            "columns": {"p": "decimal(9,2)"},
            "exclude": ["raw"],
        },
        ColumnRules,
    )

    assert rules == ColumnRules("_", "snake_case", True, {"p": "decimal(9,2)"}, ("raw",))
    assert rules.needs_decimals and not ColumnRules(columns={"p": "double"}).needs_decimals
    assert rules.excluded() == frozenset({("raw",)})


def test_column_rules_unknown_setting_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field `naming`"):
        msgspec.convert({"naming": "snake_case"}, ColumnRules)


def test_rules_module_does_not_import_pyarrow() -> None:
    code = "import sys, fetcher.records.rules; print('pyarrow' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"
