"""Durations ("1d", "2h30m") and moments (ISO 8601, or dates) in the configuration: parsed here only.

A moment without an offset is UTC; a date is its midnight, UTC. Moments go to APIs in one
spelling, `2026-01-01T00:00:00Z` (`format_time`), which sorts as text in time order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_PART = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `1d`, or a sum such as `1h30m`; ValueError unless it is one and above zero."""
    if not _DURATION.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a duration; use a whole number and a unit (d, h, m, s): 1d, 2h, 90s"
        )
    total = sum((int(count) * UNITS[unit] for count, unit in _PART.findall(text)), timedelta())
    if total <= timedelta():
        raise ValueError(f"{text!r} must be longer than 0")
    return total


def parse_time(text: str) -> datetime:
    """An ISO 8601 moment (UTC when it has no offset) or a date (its midnight, UTC); ValueError if neither."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or an ISO 8601 time; e.g. 2026-01-01 or 2026-01-01T00:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """`2026-01-01T00:00:00Z`: UTC, to the second (or the microsecond, when it has one)."""
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")
