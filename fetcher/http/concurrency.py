"""How many requests of a run may be out at once: cut in half on a 429, grown back one at a time.

Additive increase, multiplicative decrease (AIMD), as TCP treats a congested link: a 429, or
rate-limit headers that say no request remains, halve the limit (never below 1); every
`GROW_AFTER` successful responses in a row add one back, up to the run's own `concurrency`.
"""

from __future__ import annotations

GROW_AFTER = 8  # successful responses, each adds 1/GROW_AFTER of a request back


class Concurrency:
    """The limit of one run's requests in flight, starting at `ceiling`. Not thread-safe by itself:
    the run's budget (fetcher.http.budget) holds it under its lock."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self._successes = 0

    def observe(self, status: int, limited: bool) -> bool:
        """Take in a response's `status`, and whether its headers said none remain; True when
        the limit changed."""
        before = self.limit
        if status == 429 or limited:
            self._successes = 0
            self.limit = max(1, self.limit // 2)
        elif 200 <= status < 300 and self.limit < self.ceiling:
            self._successes += 1
            if self._successes >= GROW_AFTER:
                self._successes = 0
                self.limit += 1
        return self.limit != before

    def admits(self, out: int) -> bool:
        """Whether one more request may go out while `out` are."""
        return out < self.limit or self.limit >= self.ceiling
