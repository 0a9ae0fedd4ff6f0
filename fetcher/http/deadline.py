"""Deadlines: a point in monotonic time that a run or a request must finish by (fetcher.http.watchdog
holds a whole exchange to its own)."""

from __future__ import annotations

import time
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
