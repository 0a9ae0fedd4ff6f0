"""Real API servers built with the libraries real APIs use, started on 127.0.0.1 by the tests."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def users(count: int) -> list[dict[str, object]]:
    """`count` rows, ids 1 to `count`, as every test server serves them."""
    return [{"id": n, "name": f"user-{n}", "team": {"name": "ab"[n % 2]}} for n in range(1, count + 1)]
