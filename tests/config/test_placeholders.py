"""Placeholders: `{name}` filled at any depth, in a URL's path and query only; other braces left alone."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fetcher.config.model import Source
from fetcher.config.placeholders import check_host, fill, fill_in, names
from fetcher.errors import ConfigError

VALUES = {"cursor": "2026-01-01T00:00:00Z", "window_end": "2026-01-02T00:00:00Z"}


def test_fill_replaces_named_placeholders_at_any_depth() -> None:
    body = {"filter": {"since": "{cursor}", "ids": ["{window_end}", 7]}, "n": 1, "flag": None}

    assert fill_in(body, VALUES) == {
        "filter": {"since": "2026-01-01T00:00:00Z", "ids": ["2026-01-02T00:00:00Z", 7]},
        "n": 1,
        "flag": None,
    }


def test_fill_leaves_unknown_names_and_other_braces_alone() -> None:
    query = 'query { users(since: "{cursor}") { id {user_id} } }'

    assert fill_in(query, VALUES) == 'query { users(since: "2026-01-01T00:00:00Z") { id {user_id} } }'


def test_fill_encodes_values_when_asked() -> None:
    filled = fill_in("http://h/days/{cursor}/events", VALUES, lambda value: quote(value, safe=""))

    assert filled == "http://h/days/2026-01-01T00%3A00%3A00Z/events"


def test_names_finds_every_placeholder() -> None:
    assert names({"a": ["{cursor}", {"b": "x{window_start}y"}], "c": 3}) == {"cursor", "window_start"}
    assert names("no placeholders { here }") == set()


def test_fill_never_touches_scheme_or_host_and_keeps_a_url_without_placeholders_as_written() -> None:
    source = Source(name="a", url="https://api.example.com/w/{window_start}?to={window_end}&x=")
    plain = Source(name="b", url="https://api.example.com/w?x=")

    assert fill(source, VALUES | {"window_start": "a b"}).url == (
        "https://api.example.com/w/a%20b?to=2026-01-02T00%3A00%3A00Z&x="
    )
    assert fill(plain, VALUES).url == "https://api.example.com/w?x="


@pytest.mark.parametrize("url", ["https://{window_start}.example.com/x", "https://h:{port}/x"])
def test_check_host_refuses_a_placeholder_in_the_host(url: str) -> None:
    with pytest.raises(
        ConfigError, match=r"sources\[0\]\.url: placeholders may fill the path and query only"
    ):
        check_host(url, "sources[0].url")
