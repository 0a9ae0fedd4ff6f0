"""Body decoding: strict UTF-8 JSON; unusual but valid JSON kept exactly; the rest an error."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from fetcher.http.decode import NotJson, decode


def test_decode_plain_json_uses_fast_parser() -> None:
    document = decode(b'{"a": [1, 2.5, "x", null, true]}')

    assert document.value == {"a": [1, 2.5, "x", None, True]}
    assert document.exact is False


def test_decode_nan_and_infinity_literals_kept() -> None:
    document = decode(b"[NaN, Infinity, -Infinity]")

    assert document.exact is True
    assert math.isnan(document.value[0]) and document.value[1:] == [math.inf, -math.inf]


def test_decode_integer_beyond_64_bits_kept_exactly() -> None:
    assert decode(b'{"n": 123456789012345678901234567890}').value == {"n": 123456789012345678901234567890}


def test_decode_skips_utf8_bom() -> None:
    assert decode(b'\xef\xbb\xbf{"k": "v"}').value == {"k": "v"}


def test_decode_duplicate_keys_last_wins() -> None:
    assert decode(b'{"k": 1, "k": 2}').value == {"k": 2}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(
            b"<!DOCTYPE html><html><body>Error</body></html>", "body is not JSON (text/html)", id="html"
        ),
        pytest.param(b'{"data": [1, 2', "body is truncated JSON", id="truncated"),
        pytest.param(b'{"data": [{"name": "cut he', "body is truncated JSON", id="truncated-in-string"),
        pytest.param(b'{"k": "\xff\xfe"}', "not valid UTF-8 (bad byte at offset 7)", id="invalid-utf8"),
        pytest.param(b"", "body is empty", id="empty"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, "nested too deeply", id="deep-nesting"),
    ],
)
def test_decode_bad_body_raises_with_reason(content: bytes, words: str) -> None:
    with pytest.raises(NotJson, match=words.replace("(", r"\(").replace(")", r"\)")):
        decode(content, "text/html" if content.startswith(b"<") else "")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-ndjson",
        "application/jsonl",
        "application/json-lines",
        "Application/NDJSON; charset=utf-8",
    ],
)
def test_decode_ndjson_content_types_give_list_of_lines(content_type: str) -> None:
    document = decode(b'{"a": 1}\n\n{"a": 2}\r\n  \n{"a": NaN}\n', content_type)

    assert document.value[:2] == [{"a": 1}, {"a": 2}] and math.isnan(document.value[2]["a"])
    assert document.exact is True


def test_decode_explicit_ndjson_format_whatever_the_content_type() -> None:
    assert decode(b'{"a": 1}\n{"a": 2}', "text/plain", format="ndjson").value == [{"a": 1}, {"a": 2}]


def test_decode_json_format_ignores_ndjson_content_type() -> None:
    assert decode(b'{"a": 1}', "application/x-ndjson", format="json").value == {"a": 1}


def test_decode_empty_ndjson_is_no_value() -> None:
    assert decode(b"\n\n", format="ndjson").value == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(
            b'{"a": 1}\n\n{"a": 2\n', "body is not NDJSON: line 3: Expecting ',' delimiter", id="cut"
        ),
        pytest.param(
            b'{"a": 1}\n<html>', "body is not NDJSON: line 2: Expecting value at column 1", id="html"
        ),
        pytest.param(b'1\n"\xff"', "body is not NDJSON: line 2 is not valid UTF-8", id="invalid-utf8"),
    ],
)
def test_decode_bad_ndjson_line_named(content: bytes, words: str) -> None:
    with pytest.raises(NotJson, match=words):
        decode(content, "application/x-ndjson")


def test_decode_ndjson_served_as_text_keeps_message_and_hints_format() -> None:
    with pytest.raises(NotJson) as caught:
        decode(b'{"a": 1}\n{"a": 2}\n', "text/plain")

    assert str(caught.value).startswith("body is not JSON (text/plain): Extra data at line 2 column 1")
    assert str(caught.value).endswith(
        '; it parses as NDJSON (one JSON value per line): set format = "ndjson"'
    )


def test_decode_bad_json_that_is_not_ndjson_has_no_hint() -> None:
    with pytest.raises(NotJson) as caught:
        decode(b'{"a": 1} x', "text/plain")

    assert "ndjson" not in str(caught.value)


def test_decode_decimals_exact_for_fractions_only() -> None:
    document = decode(b'{"p": 12.30, "n": 7, "e": 1e400, "f": [0.1]}', decimals=True)

    assert document.value == {"p": Decimal("12.30"), "n": 7, "e": Decimal("1e400"), "f": [Decimal("0.1")]}
    assert type(document.value["n"]) is int


def test_decode_decimals_in_exact_and_ndjson_documents() -> None:
    exact = decode(b"[NaN, 2.50]", decimals=True)
    lines = decode(b'{"p": 2.50}\n', "application/jsonl", decimals=True)

    assert exact.exact and str(exact.value[1]) == "2.50"
    assert lines.value == [{"p": Decimal("2.50")}]
