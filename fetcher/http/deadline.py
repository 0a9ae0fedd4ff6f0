"""Deadlines: a point in monotonic time that a run or a request must finish by, and the interrupt
that holds a whole exchange to it."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """`Deadline.after(30)` expires 30 s from now; `remaining()` never goes below zero."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.expires_at

    def sooner(self, seconds: float) -> Deadline:
        """This deadline, or one `seconds` from now if that comes first."""
        return Deadline(min(self.expires_at, time.monotonic() + seconds))


class Expired(BaseException):
    """The exchange's time is up. A BaseException, so that no library's `except Exception` keeps it."""


@contextmanager
def interrupt_after(seconds: float) -> Iterator[None]:
    """Raise Expired in the block after `seconds`, wherever it blocks (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # no signals off the main thread: the socket timeouts still bound each wait
        return

    def expire(signum: int, frame: object) -> None:
        raise Expired()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
