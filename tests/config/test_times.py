"""Durations and moments in the configuration: parsed in one place, with errors that say what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fetcher.config.times import format_time, parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("90s", timedelta(seconds=90), id="seconds"),
        pytest.param("30m", timedelta(minutes=30), id="minutes"),
        pytest.param("2h", timedelta(hours=2), id="hours"),
        pytest.param("1d", timedelta(days=1), id="days"),
        pytest.param("1h30m", timedelta(minutes=90), id="sum"),
    ],
)
def test_parse_duration_units_sum_up(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "d", "1.5h", "2 h", "1w", "-1h", "1H"])
def test_parse_duration_not_a_duration_says_how(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration; use a whole number and a unit \(d, h, m, s\)"):
        parse_duration(text)


def test_parse_duration_zero_refused() -> None:
    with pytest.raises(ValueError, match="'0h' must be longer than 0"):
        parse_duration("0h")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC), id="date-is-midnight-utc"),
        pytest.param("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC), id="zulu"),
        pytest.param("2026-01-01T10:00:00+02:00", datetime(2026, 1, 1, 8, tzinfo=UTC), id="offset"),
        pytest.param("2026-01-01T10:00", datetime(2026, 1, 1, 10, tzinfo=UTC), id="naive-is-utc"),
    ],
)
def test_parse_time_forms_become_utc(text: str, expected: datetime) -> None:
    moment = parse_time(text)

    assert moment == expected
    assert moment.utcoffset() == timedelta()


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "01/02/2026", ""])
def test_parse_time_not_a_time_gives_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a date or an ISO 8601 time; e\.g\. 2026-01-01"):
        parse_time(text)


def test_format_time_is_utc_zulu_to_the_second() -> None:
    assert format_time(parse_time("2026-01-01T10:00:00+02:00")) == "2026-01-01T08:00:00Z"
    assert format_time(datetime(2026, 1, 1, 0, 0, 0, 5000, tzinfo=UTC)) == "2026-01-01T00:00:00.005000Z"
