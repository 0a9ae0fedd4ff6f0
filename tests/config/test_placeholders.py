"""Placeholders: `{name}` filled in strings at any depth; other braces left alone."""

from __future__ import annotations

from urllib.parse import quote

from fetcher.config.placeholders import fill, names

VALUES = {"cursor": "2026-01-01T00:00:00Z", "window_end": "2026-01-02T00:00:00Z"}


def test_fill_replaces_named_placeholders_at_any_depth() -> None:
    body = {"filter": {"since": "{cursor}", "ids": ["{window_end}", 7]}, "n": 1, "flag": None}

    assert fill(body, VALUES) == {
        "filter": {"since": "2026-01-01T00:00:00Z", "ids": ["2026-01-02T00:00:00Z", 7]},
        "n": 1,
        "flag": None,
    }


def test_fill_leaves_unknown_names_and_other_braces_alone() -> None:
    query = 'query { users(since: "{cursor}") { id {user_id} } }'

    assert fill(query, VALUES) == 'query { users(since: "2026-01-01T00:00:00Z") { id {user_id} } }'


def test_fill_encodes_values_when_asked() -> None:
    filled = fill("http://h/days/{cursor}/events", VALUES, lambda value: quote(value, safe=""))

    assert filled == "http://h/days/2026-01-01T00%3A00%3A00Z/events"


def test_names_finds_every_placeholder() -> None:
    assert names({"a": ["{cursor}", {"b": "x{window_start}y"}], "c": 3}) == {"cursor", "window_start"}
    assert names("no placeholders { here }") == set()
