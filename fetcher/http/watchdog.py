"""The watchdog: holds every exchange to its deadline in any thread, by shutting down the sockets of
one that overran, so that its blocked read returns at once.

Socket timeouts bound each wait, but a server that trickles its headers or body a byte at a time
resets them on every byte. One daemon thread keeps a heap of the exchanges in flight; an exchange
registers each socket it uses (fetcher.http.transport's connections do, as they connect or are
reused), and the first to pass its deadline has them shut down. No signals: this works off the
main thread, where child sources and fetch-ahead fetch.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Watch:
    """One exchange under watch: `fired` once its deadline passed and its sockets were shut down."""

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.fired = False
        self.done = False
        self.sockets: list[socket.socket] = []


class _Watchdog:
    """The one thread that wakes at the earliest deadline in flight."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._current = threading.local()

    @contextmanager
    def watch(self, seconds: float) -> Iterator[Watch]:
        """Watch the exchange run in this block: its sockets are shut down `seconds` from now."""
        watch = Watch(time.monotonic() + seconds)
        outer = getattr(self._current, "watch", None)
        with self._lock:
            heapq.heappush(self._heap, (watch.expires_at, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetcher-watchdog", daemon=True)
                self._thread.start()
            self._lock.notify()
        self._current.watch = watch
        try:
            yield watch
        finally:
            self._current.watch = outer
            with self._lock:
                watch.done = True  # the heap entry is dropped when it comes due
                watch.sockets.clear()

    def adopt(self, sock: socket.socket | None) -> None:
        """Count `sock` in this thread's exchange, if one is watched; shut it now if it overran."""
        watch: Watch | None = getattr(self._current, "watch", None)
        if watch is None or sock is None:
            return
        with self._lock:
            if watch.fired:
                _shut(sock)
            elif not watch.done:
                watch.sockets.append(sock)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, watch = heapq.heappop(self._heap)
                    if not watch.done:
                        watch.fired = True
                        for sock in watch.sockets:
                            _shut(sock)
                wait = self._heap[0][0] - now if self._heap else None
                self._lock.wait(wait)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its owner: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
watch = _WATCHDOG.watch
adopt = _WATCHDOG.adopt
