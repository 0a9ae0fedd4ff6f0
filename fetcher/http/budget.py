"""The rate budget of a run: how many requests a source may send, shared by all of its requests.

`[sources.rate_limit]` sets `requests_per_second` or `requests_per_minute`: at most that many
requests in ANY window of one second (or minute), wherever the window is measured. The budget
holds that many tokens; a request takes one before it is sent and gives it back one window after
its response came in. A token returned one window after the *response* (not the send) keeps the
promise at the server too, where each request arrives somewhere between the two: N+1 requests
inside one window would need N+1 tokens out at once. (pyrate-limiter and the classic token
bucket count from the send, or allow a burst of twice the rate across a window's edge, so a
server could count one request too many; this is that one rule, in a small class.)

The API's own rate-limit headers are read from every response (fetcher.http.ratelimit): when
none remain, no request of the run is sent before the reset. A 429, or those headers, also lower
how many requests of the run may be out at once (fetcher.http.concurrency), from the run's
`concurrency` down to 1, and successes raise it back. No wait runs past the run's deadline: the
request fails at once with DeadlineExceeded instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping

import msgspec

from fetcher.errors import ConfigError, DeadlineExceeded, FetcherError
from fetcher.http import ratelimit
from fetcher.http.concurrency import Concurrency
from fetcher.http.deadline import Deadline

logger = logging.getLogger(__name__)


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[sources.rate_limit]`: at most `requests_per_second` or `requests_per_minute` requests."""

    requests_per_second: int | None = None
    requests_per_minute: int | None = None

    def check(self, where: str) -> None:
        set_keys = [key for key in self.__struct_fields__ if getattr(self, key) is not None]
        if len(set_keys) != 1:
            raise ConfigError(where, "set one of requests_per_second and requests_per_minute")
        value = getattr(self, set_keys[0])
        if value <= 0:
            raise ConfigError(f"{where}.{set_keys[0]}", f"{value} must be greater than 0")

    @property
    def window(self) -> tuple[int, float]:
        """The number of requests allowed, and the window (seconds) they are allowed in."""
        if self.requests_per_second is not None:
            return self.requests_per_second, 1.0
        assert self.requests_per_minute is not None
        return self.requests_per_minute, 60.0

    def describe(self) -> str:
        limit, window_s = self.window
        return f"requests_per_{'second' if window_s == 1.0 else 'minute'}={limit}"


class Budget:
    """The requests a run may still send now. Thread-safe: one budget serves every thread of a run.

    `acquire` before each request, `release` after its response (or its failure), `observe` the
    response's status and headers. `close` makes every wait and every later `acquire` end at once.
    `concurrency` is the most requests the run's threads send at once.
    """

    def __init__(
        self, name: str, limit: RateLimit | None, run_timeout_s: float, concurrency: int = 1
    ) -> None:
        self.name = name
        self.run_timeout_s = run_timeout_s
        self._limit, self._window_s = limit.window if limit is not None else (0, 0.0)
        self._describe = limit.describe() if limit is not None else ""
        self._changed = threading.Condition()
        self._closed = threading.Event()
        self._out = 0  # tokens held by requests not yet answered
        self._returns: deque[float] = deque()  # when each token in its window comes back, soonest first
        self._resume_at = 0.0  # no request before this (the API's reset)
        self._resume_reason = ""
        self._concurrency = Concurrency(concurrency)
        self.concurrency = concurrency  # the most requests of the run out at once

    def acquire(self, deadline: Deadline) -> None:
        """Take a token, waiting as long as the budget and the API ask; DeadlineExceeded if that
        would pass `deadline`."""
        while True:
            with self._changed:
                self._check_open()
                now = _clock()
                while self._returns and self._returns[0] <= now:
                    self._returns.popleft()
                full = self._limit > 0 and self._out + len(self._returns) >= self._limit
                crowded = not self._concurrency.admits(self._out)
                until, reason = self._resume_at, self._resume_reason
                if full and self._returns and self._returns[0] > until:
                    until, reason = self._returns[0], self._describe
                if until <= now and not full and not crowded:
                    self._out += 1
                    return
                if until <= now:  # the tokens, or the requests allowed at once, are all out
                    self._changed.wait(deadline.remaining())
                    self._check_deadline(deadline, 0.0, self._describe if full else _CROWDED)
                    continue
            self._check_deadline(deadline, until - now, reason)
            logger.debug("event=rate_wait source=%s wait_s=%.3f reason=%s", self.name, until - now, reason)
            _pause(self._closed, until - now)

    def release(self) -> None:
        """A request's response came in, or it failed: its token comes back one window later."""
        with self._changed:
            self._out -= 1
            if self._limit > 0:
                self._returns.append(_clock() + self._window_s)
            self._changed.notify_all()

    def observe(self, headers: Mapping[str, str], status: int = 200) -> None:
        """Read a response's status and the API's rate-limit headers: a 429, or none remaining,
        lowers the requests allowed at once; none remaining holds every request until the reset."""
        wait_s = ratelimit.reset_wait_s(headers, time.time())
        with self._changed:
            if self._concurrency.observe(status, limited=wait_s is not None):
                logger.info(
                    "event=concurrency source=%s limit=%d status=%d",
                    self.name,
                    self._concurrency.limit,
                    status,
                )
                self._changed.notify_all()
        if not wait_s:
            return
        with self._changed:
            resume_at = _clock() + wait_s
            if resume_at > self._resume_at:
                self._resume_at = resume_at
                self._resume_reason = "the API's rate-limit headers"
                logger.info(
                    "event=rate_limited source=%s wait_s=%.3f message=%s",
                    self.name,
                    wait_s,
                    '"no request remains until the reset the API announced"',
                )

    def close(self) -> None:
        """End every wait now: the run is over (failed, or cancelled)."""
        self._closed.set()
        with self._changed:
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise FetcherError(f"source {self.name}: cancelled: another request of the run failed")

    def _check_deadline(self, deadline: Deadline, wait_s: float, reason: str) -> None:
        self._check_open()
        if deadline.expired() or wait_s > deadline.remaining():
            raise DeadlineExceeded(
                f"run_timeout_s={self.run_timeout_s:g} would pass waiting {wait_s:.3g} s "
                f"for the rate limit ({reason})"
            )


_CROWDED = "the requests allowed at once, lowered after a 429"


def _clock() -> float:
    """Now, on the clock waits are measured by: one of the two seams tests replace."""
    return time.monotonic()


def _pause(closed: threading.Event, seconds: float) -> None:
    """Wait `seconds`, or until the budget closes: the other seam tests replace, never to sleep."""
    closed.wait(seconds)
