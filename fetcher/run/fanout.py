"""Fan-out: work on many items with a few threads, results handed on in the items' order.

A child source walks its pages once per parent row. The walks run `concurrency` at a time, each
thread with a client (and so a requests session) of its own, all sharing the run's rate budget.
Results come back in the rows' order whatever the threads' timing, so a run's files never depend
on it; at most `concurrency` results wait to be taken, which bounds the memory. The first failure
stops the rest (the budget closes, so no thread sends another request) and is raised.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from fetcher.config.model import Source
from fetcher.http.budget import Budget
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline

Item = TypeVar("Item")
Result = TypeVar("Result")


class ThreadClients:
    """A client per thread for one run, sharing its deadline and budget. Use as a context manager."""

    def __init__(self, source: Source, deadline: Deadline, budget: Budget) -> None:
        self.source, self.deadline, self.budget = source, deadline, budget
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def get(self) -> Client:
        """The calling thread's client, opened on first use."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(self.source, self.deadline, self.budget)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    @property
    def attempts(self) -> int:
        return sum(client.attempts for client in self._clients)

    @property
    def retries(self) -> int:
        return sum(client.retries for client in self._clients)

    def __enter__(self) -> ThreadClients:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.budget.close()
        for client in self._clients:
            client.__exit__(None, None, None)


def in_order(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    *,
    workers: int,
    stop: Callable[[], None],
    name: str,
) -> Iterator[tuple[Item, Result]]:
    """`(item, work(item))` for every item, in the items' order, `work` running on `workers` threads.

    At most `workers` items are in hand at once. When `work` fails, or the caller stops taking
    results, `stop()` is called, the items not started are dropped, and the threads are joined.
    """
    remaining = iter(items)
    pending: deque[tuple[Item, Future[Result]]] = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"fetcher-{name}")

    def submit_next() -> None:
        for item in remaining:
            pending.append((item, pool.submit(work, item)))
            return

    try:
        for _ in range(workers):
            submit_next()
        while pending:
            item, future = pending.popleft()
            result = future.result()
            submit_next()
            yield item, result
    finally:
        if pending:
            stop()
        pool.shutdown(wait=True, cancel_futures=True)
