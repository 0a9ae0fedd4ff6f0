"""Fan-out: work on many items with a few threads, results handed on in the items' order.

A child source walks its pages once per parent row. The walks run `concurrency` at a time, all
through the run's one client (fetcher.http.client.Client is safe to share across threads), and so
its rate budget.
Results come back in the rows' order whatever the threads' timing, so a run's files never depend
on it; at most `concurrency` results wait to be taken, which bounds the memory. The first failure
stops the rest (the budget closes, so no thread sends another request) and is raised.

A walk whose next request comes from the page before (`cursor`, `link`, `next_url`) cannot fan
out, but it can run a page ahead: `in_background` walks it on a thread of its own while the
caller takes the page before through the run's stages.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# What the background thread hands on: (an item, None), (None, the error), or None at the end.
_Handed = tuple[Any, BaseException | None] | None


def in_order(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    *,
    workers: int,
    stop: Callable[[], None],
    name: str,
) -> Iterator[tuple[Item, Result]]:
    """`(item, work(item))` for every item, in the items' order, `work` running on `workers` threads.

    While the caller works on the item taken, `workers` more are under way (so that many results,
    at most, wait besides the one in hand). When `work` fails, or the caller stops taking results,
    `stop()` is called, the items not started are dropped, and the threads are joined.
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
            submit_next()  # before the caller takes this one: `workers` stay under way meanwhile
            yield item, result
    finally:
        if pending:
            stop()
        pool.shutdown(wait=True, cancel_futures=True)


def in_background(items: Iterator[Item], *, name: str, depth: int = 1) -> Iterator[Item]:
    """The items of `items`, taken from it on a thread of its own, at most `depth` waiting.

    The thread takes the next item while the caller works on the one before. An error from
    `items` is raised to the caller in its turn. When the caller stops taking items, the thread
    takes no more after the one in hand, closes `items` and is joined.
    """
    handed: queue.Queue[_Handed] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                handed.put((item, None))
                if stopped.is_set():
                    return
            handed.put(None)
        except BaseException as exc:
            handed.put((None, exc))
        finally:
            getattr(items, "close", lambda: None)()

    thread = threading.Thread(target=produce, name=f"fetcher-{name}-ahead", daemon=True)
    thread.start()
    try:
        while (next_item := handed.get()) is not None:
            item, error = next_item
            if error is not None:
                raise error
            yield item
    finally:
        stopped.set()
        while thread.is_alive():  # make room for the one put the thread may still be waiting on
            with suppress(queue.Empty):
                handed.get(timeout=0.05)
        thread.join()
