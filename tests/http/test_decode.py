"""Body decoding: strict UTF-8 JSON; unusual but valid JSON kept exactly; the rest an error."""

from __future__ import annotations

import math

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
