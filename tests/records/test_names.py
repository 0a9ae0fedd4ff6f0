"""Landed names: snake_case, the separator, and reserved names renamed."""

from __future__ import annotations

import pytest

from fetcher.records.names import RESERVED, Namer, describe, snake_case
from fetcher.records.rules import ColumnRules


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("createdAt", "created_at", id="camel"),
        pytest.param("CreatedAt", "created_at", id="pascal"),
        pytest.param("HTTPCode", "http_code", id="acronym-first"),
        pytest.param("userID", "user_id", id="acronym-last"),
        pytest.param("getHTTPResponse", "get_http_response", id="acronym-inside"),
        pytest.param("already_snake", "already_snake", id="snake"),
        pytest.param("First Name", "first_name", id="space"),
        pytest.param("x-rate-limit", "x_rate_limit", id="dashes"),
        pytest.param("a.b", "a_b", id="dot"),
        pytest.param("a__b", "a_b", id="underscores-collapse"),
        pytest.param("price ($)", "price", id="symbols-dropped-at-end"),
        pytest.param("address2", "address2", id="digit-after-letters"),
        pytest.param("v2Name", "v2_name", id="digit-then-capital"),
        pytest.param("2fa", "_2fa", id="leading-digit"),
        pytest.param("_id", "_id", id="leading-underscore-kept"),
        pytest.param("__v", "_v", id="leading-underscores-one"),
        pytest.param("name_", "name", id="trailing-underscore-dropped"),
        pytest.param("Straße", "straße", id="unicode-letters"),
        pytest.param("名前", "名前", id="cjk"),
        pytest.param("%", "_", id="no-letter"),
        pytest.param("", "_", id="empty"),
    ],
)
def test_snake_case_rule(key: str, expected: str) -> None:
    assert snake_case(key) == expected


def test_namer_joins_keys_with_separator() -> None:
    assert Namer(ColumnRules()).land(("address", "city")) == "address__city"
    assert Namer(ColumnRules(flatten_separator="_")).land(("address", "city")) == "address_city"


def test_namer_snake_cases_each_key() -> None:
    assert Namer(ColumnRules(column_names="snake_case")).land(("billingAddress", "zipCode")) == (
        "billing_address__zip_code"
    )


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_namer_renames_reserved_names_with_trailing_underscore(name: str) -> None:
    namer = Namer(ColumnRules())

    assert namer.land((name,)) == name + "_"
    assert namer.renamed == {name + "_": name}


def test_namer_renames_after_snake_case() -> None:
    assert Namer(ColumnRules(column_names="snake_case")).land(("fetchDate",)) == "fetch_date_"


def test_namer_nested_path_is_not_reserved() -> None:
    assert Namer(ColumnRules()).land(("meta", "fetch_date")) == "meta__fetch_date"


def test_describe_quotes_keys_holding_dots() -> None:
    assert describe(("customer", "email")) == "customer.email"
    assert describe(("a.b", "c")) == '"a.b".c'
