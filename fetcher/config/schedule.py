"""Cron schedules: validation against Debian cron's grammar, and fire times in the local zone.

Debian cron ignores a whole crontab file over one bad line, so an expression is accepted only if
Debian cron accepts it: exactly five fields of numbers, `*`, ranges, steps, lists, and three-letter
month and weekday names. cronsim (which follows Debian cron's day-of-month/day-of-week rule and its
handling of daylight-saving gaps) computes fire times. Times are in the zone given by `TZ`, as cron's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from fetcher.config import environment

DEFAULT_SCHEDULE = "0 * * * *"

_NAME = r"[A-Za-z]{3}"
_VALUE = rf"(?:\d+|{_NAME})"
_ITEM = rf"(?:\*|{_VALUE}(?:-{_VALUE})?)(?:/\d+)?"
_FIELD = re.compile(rf"{_ITEM}(?:,{_ITEM})*")
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_RANGES = ("0-59", "0-23", "1-31", "1-12 or jan-dec", "0-7 or sun-sat (0 and 7 are Sunday)")


def validate(expression: str) -> None:
    """Raise ValueError naming the problem unless `expression` is a 5-field cron expression."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"has {len(fields)} fields, cron needs 5 (minute hour day month weekday)")
    for name, field, allowed in zip(_FIELDS, fields, _RANGES, strict=True):
        if not _FIELD.fullmatch(field):
            raise ValueError(f"bad {name} field {field!r}; allowed: {allowed}, *, lists, ranges and /steps")
    try:
        CronSim(expression, datetime.now(local_zone()))
    except CronSimError as exc:
        # cronsim names the field ("Bad day-of-month"): say the value and the range it must be in
        name = str(exc).lower().removeprefix("bad ").replace("-", " ")
        if name not in _FIELDS:
            raise ValueError(str(exc).lower()) from None
        index = _FIELDS.index(name)
        raise ValueError(f"bad {name} {fields[index]!r}; allowed: {_RANGES[index]}") from None


def next_after(expression: str, moment: datetime) -> datetime:
    """The first fire time strictly after `moment` (an aware datetime), in the local zone."""
    return next(CronSim(expression, _local(moment)))


def previous_before(expression: str, moment: datetime) -> datetime:
    """The last fire time at or before `moment` (an aware datetime), in the local zone."""
    # cronsim iterates exclusively of its start, in whole seconds: start just after `moment`.
    return next(CronSim(expression, _local(moment) + timedelta(seconds=1), reverse=True))


def interval_at(expression: str, moment: datetime) -> timedelta:
    """The gap between the fire times around `moment`: an hour for `0 * * * *`.

    For irregular schedules (`0 9 * * 1-5`) this is the gap the current period spans, so that
    staleness is judged by the schedule in force, not by its shortest gap.
    """
    return next_after(expression, moment) - previous_before(expression, moment)


def local_zone() -> tzinfo:
    """The zone cron schedules in: `TZ` when set and known, else /etc/localtime, else UTC."""
    name = environment.zone_name()
    try:
        if name:
            return ZoneInfo(name)
        with open("/etc/localtime", "rb") as localtime:
            return ZoneInfo.from_file(localtime, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return UTC


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(local_zone()).replace(microsecond=0)
