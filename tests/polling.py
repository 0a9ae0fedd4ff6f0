"""Waiting for something to happen, by polling with a deadline (never by sleeping a guess)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    condition: Callable[[], Any],
    timeout_s: float = 30.0,
    what: str = "condition",
    *,
    interval_s: float = 0.005,
) -> Any:
    """Poll `condition` until it is truthy and return its value, or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
