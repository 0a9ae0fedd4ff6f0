"""The retry policy: one declarative tenacity policy for every request of a run.

Connection errors, timeouts, 429 and 5xx (raised as RetryableError) are retried with capped
exponential backoff and full jitter; a server's `Retry-After` wins, capped by `max_wait_s`. Any
other error is raised at once. No retry sleeps past the run's deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import tenacity

from fetcher.errors import RetryableError
from fetcher.http.deadline import Deadline
from fetcher.logs import quote

logger = logging.getLogger(__name__)


def is_retryable_status(status: int) -> bool:
    """429 Too Many Requests and every 5xx."""
    return status == 429 or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _WaitRetryAfterOrJitter(tenacity.wait.wait_base):
    """The server's Retry-After when given, else full-jitter exponential backoff; both capped."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self.jitter = tenacity.wait_random_exponential(multiplier=0.5, max=max_wait_s)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            return min(retry_after, self.max_wait_s)
        return self.jitter(retry_state)


def policy(
    max_attempts: int,
    max_wait_s: float,
    deadline: Deadline,
    *,
    describe: str = "",
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """The policy for a run's requests (each request starts its attempts afresh).

    `describe` (`source=NAME `) opens the retry log line.
    """

    def past_deadline(retry_state: tenacity.RetryCallState) -> bool:
        return (retry_state.upcoming_sleep or 0.0) >= deadline.remaining()

    def log_retry(retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        logger.warning(
            "event=retry %sstatus=%s attempt=%d/%d wait_s=%.2f error=%s",
            describe,
            getattr(error, "status", None) or "-",
            retry_state.attempt_number,
            max_attempts,
            retry_state.upcoming_sleep,
            quote(str(error)),
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        stop=tenacity.stop_after_attempt(max_attempts) | past_deadline,
        wait=_WaitRetryAfterOrJitter(max_wait_s),
        before_sleep=log_retry,
        sleep=sleep or _sleep,
        reraise=True,
    )


def _sleep(seconds: float) -> None:
    """The real wait between attempts: the one seam tests replace, so that none really sleeps."""
    time.sleep(seconds)


def sleep_until(ended: threading.Event) -> Callable[[float], None]:
    """The wait between attempts of a request that `ended` calls off: it ends as soon as that is set."""
    return lambda seconds: _wait(ended, seconds)


def _wait(ended: threading.Event, seconds: float) -> None:
    """The real wait of `sleep_until`: the seam tests replace, beside `_sleep`."""
    ended.wait(seconds)
