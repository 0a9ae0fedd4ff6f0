"""Cron schedules: Debian cron's grammar only, fire times in the TZ zone, DST-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fetcher.config import schedule


@pytest.mark.parametrize(
    "expression",
    ["0 * * * *", "*/15 * * * *", "0 9 * * 1-5", "0 9 * jan mon", "5,35 8-18/2 1,15 * *", "0 0 * * 7"],
)
def test_validate_debian_expression_passes(expression: str) -> None:
    schedule.validate(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        pytest.param("* * * *", "has 4 fields", id="four-fields"),
        pytest.param("0 0 * * * *", "has 6 fields", id="seconds-field"),
        pytest.param("@daily", "has 1 fields", id="macro"),
        pytest.param("61 * * * *", "bad minute", id="minute-range"),
        pytest.param("0 25 * * *", "bad hour", id="hour-range"),
        pytest.param("0 0 L * *", "bad day of month field", id="last-day-extension"),
        pytest.param("0 0 * * MON#2", "bad day of week field", id="nth-weekday-extension"),
        pytest.param("0 0 ? * *", "bad day of month field", id="quartz-question-mark"),
    ],
)
def test_validate_non_debian_expression_raises_with_reason(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        schedule.validate(expression)


def test_next_and_previous_follow_tz_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    moment = datetime(2026, 11, 21, 7, 30, tzinfo=UTC)  # 08:30 in Berlin

    upcoming = schedule.next_after("0 9 * * *", moment)

    assert upcoming.astimezone(UTC) == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert schedule.previous_before("0 9 * * *", moment).astimezone(UTC) == datetime(
        2026, 11, 20, 8, 0, tzinfo=UTC
    )


def test_previous_before_includes_the_moment_itself() -> None:
    moment = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

    assert schedule.previous_before("0 * * * *", moment) == moment


def test_interval_at_hourly_is_one_hour() -> None:
    assert schedule.interval_at("0 * * * *", datetime(2026, 11, 21, 10, 20, tzinfo=UTC)) == timedelta(hours=1)


def test_interval_at_weekend_gap_of_weekday_schedule_is_three_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    assert schedule.interval_at("0 9 * * 1-5", saturday) == timedelta(days=3)


def test_next_after_skips_dst_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    # 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin; 02:30 does not exist that day.
    moment = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)

    upcoming = schedule.next_after("30 2 * * *", moment)

    assert upcoming.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_local_zone_unknown_tz_falls_back_to_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Mars/Olympus")

    assert schedule.local_zone() == UTC


def test_next_after_naive_moment_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_after("0 * * * *", datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("61 * * * *", "bad minute '61'; allowed: 0-59", id="minute"),
        pytest.param("0 25 * * *", "bad hour '25'; allowed: 0-23", id="hour"),
        pytest.param("0 0 32 * *", "bad day of month '32'; allowed: 1-31", id="day-of-month"),
        pytest.param("0 0 * 13 *", "bad month '13'; allowed: 1-12 or jan-dec", id="month"),
        pytest.param("0 0 * * 8", "bad day of week '8'; allowed: 0-7 or sun-sat", id="day-of-week"),
        pytest.param("0 0 L * *", "bad day of month field 'L'; allowed: 1-31, *, lists", id="syntax"),
    ],
)
def test_validate_out_of_range_names_the_allowed_range(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        schedule.validate(expression)

    assert str(caught.value).startswith(message)
