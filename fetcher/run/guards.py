"""Data guards: a run's records judged against thresholds and the source's own history.

They run after the fetch and before anything is published. `min_records` wants at least that
many records; `max_drop_pct` refuses a count that far below the median of the last
`history_runs` successful runs; `stale_cursor_runs` notices an incremental cursor that has not
moved in that many successful runs, this one included. A tripped guard with action `fail`
raises GuardError, so the run fails with nothing published and the state where it was; with
`warn` it is logged. Every verdict is kept in the run record.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from collections.abc import Iterable
from typing import Any

from fetcher.config.model import Source
from fetcher.errors import GuardError
from fetcher.logs import quote
from fetcher.run import history
from fetcher.run.history import GuardCheck, RunRecord
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


def enforce(
    storage: Storage, source: Source, record: RunRecord, start: Any, end: Any, *, watch_cursor: bool = True
) -> None:
    """Judge `record` by every guard of `source`, keep the verdicts in it, log the tripped ones.

    `start` is the cursor the run was sent, `end` the cursor it would save; without
    `watch_cursor` (a backfill's window, which leaves the cursor alone) `stale_cursor_runs` is
    not judged. The history is the source's runs, never a backfill's windows. Raises GuardError
    naming every tripped guard whose action is `fail`.
    """
    previous = history.successes(storage, source.name)
    checks = evaluate(source, record.records, start, end, previous, watch_cursor=watch_cursor)
    record.guards = checks
    failed = [check for check in checks if check.tripped and check.action == "fail"]
    for check in checks:
        if check.tripped:
            logger.log(
                logging.ERROR if check.action == "fail" else logging.WARNING,
                "event=guard source=%s guard=%s action=%s message=%s",
                source.name,
                check.guard,
                check.action,
                quote(check.message),
            )
    if failed:
        raise GuardError([check.guard for check in failed], "; ".join(_title(check) for check in failed))


def evaluate(
    source: Source,
    records: int,
    start: Any,
    end: Any,
    previous: Iterable[RunRecord],
    *,
    watch_cursor: bool = True,
) -> list[GuardCheck]:
    """The verdict of each configured guard; `previous` are the successful runs, newest first."""
    guards = source.guards
    stale_runs = guards.stale_cursor_runs if watch_cursor else None
    previous = iter(previous)
    # Read no more of the history than the guards need: it may be a run record per GET on S3.
    wanted = max(guards.history_runs if guards.max_drop_pct is not None else 0, stale_runs or 0)
    earlier = list(itertools.islice(previous, wanted))
    checks = []
    if guards.min_records is not None:
        tripped = records < guards.min_records
        message = f"{_count(records)}, at least {guards.min_records} required"
        checks.append(GuardCheck("min_records", guards.action_of("min_records"), tripped, message))
    if guards.max_drop_pct is not None:
        checks.append(_max_drop(source, records, earlier[: guards.history_runs]))
    if stale_runs is not None:
        checks.append(_stale_cursor(source, start, end, earlier, previous))
    return checks


def _max_drop(source: Source, records: int, earlier: list[RunRecord]) -> GuardCheck:
    guards = source.guards
    allowed = guards.max_drop_pct
    assert allowed is not None
    limit = f"max {allowed:g}%"
    action = guards.action_of("max_drop_pct")
    if not earlier:
        return GuardCheck("max_drop_pct", action, False, f"{_count(records)}; no successful run to compare")
    median = statistics.median(run.records for run in earlier)
    drop = (median - records) / median * 100 if median else 0.0
    runs = f"the last {len(earlier)} successful run{'s' if len(earlier) > 1 else ''}"
    if drop > 0:
        message = f"{_count(records)} is {drop:.0f}% below the median {median:g} of {runs} ({limit})"
    else:
        message = f"{_count(records)}, the median of {runs} is {median:g} ({limit})"
    return GuardCheck("max_drop_pct", action, drop > allowed, message)


def _stale_cursor(
    source: Source, start: Any, end: Any, earlier: list[RunRecord], rest: Iterable[RunRecord]
) -> GuardCheck:
    """Whether the cursor is where it was `stale_cursor_runs` successful runs ago.

    A cursor only grows, so no run since moved it if it is still the same. A run whose record
    has no cursor (it found nothing) left the saved one as it was: look further back for it.
    """
    runs = source.guards.stale_cursor_runs
    assert runs is not None and source.incremental is not None
    action = source.guards.action_of("stale_cursor_runs")
    if end != start:
        return GuardCheck("stale_cursor_runs", action, False, f"the cursor moved to {end!r}")
    if len(earlier) < runs - 1:
        message = f"the cursor stayed at {end!r}; {len(earlier) + 1} run(s) so far, {runs} needed to judge"
        return GuardCheck("stale_cursor_runs", action, False, message)
    older = itertools.chain(earlier[runs - 1 :], rest)
    then = next((run.cursor for run in older if run.cursor is not None), source.incremental.initial)
    tripped = then == end
    if tripped:
        message = f"the cursor has not moved from {end!r} in {runs} successful run(s)"
    else:
        message = f"the cursor stayed at {end!r} in this run, and moved within the last {runs}"
    return GuardCheck("stale_cursor_runs", action, tripped, message)


def _count(records: int) -> str:
    return f"{records} record{'' if records == 1 else 's'}"


def _title(check: GuardCheck) -> str:
    return f"guard {check.guard}: {check.message}"
