"""Dotted paths into parsed JSON."""

from __future__ import annotations

import pytest

from fetcher import dotted

DOCUMENT = {"data": {"items": [{"id": 1}, {"id": 2}]}, "meta": {"next": None}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", DOCUMENT), ("data.items", [{"id": 1}, {"id": 2}]), ("data.items.1.id", 2), ("meta.next", None)],
)
def test_lookup_follows_keys_and_indexes(path: str, expected: object) -> None:
    assert dotted.lookup(DOCUMENT, path) == expected


def test_lookup_missing_reports_how_far_it_got() -> None:
    with pytest.raises(dotted.Missing) as caught:
        dotted.lookup(DOCUMENT, "data.rows.id")

    assert caught.value.at == "data"


def test_get_missing_returns_default() -> None:
    assert dotted.get(DOCUMENT, "data.items.9", "none") == "none"
