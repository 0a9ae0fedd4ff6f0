"""Fan-out: results in the items' order whatever the threads' timing; the first failure stops the rest;
a walk a page ahead on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fetcher.run.fanout import in_background, in_order


def test_results_come_in_item_order_though_later_items_finish_first() -> None:
    """Item 0 finishes last: the others wait for it, and come after it."""
    finished: list[int] = []
    released = threading.Event()
    lock = threading.Lock()

    def work(item: int) -> int:
        if item == 0:
            released.wait(10)
        with lock:
            finished.append(item)
            if len(finished) == 3:
                released.set()  # items 1..3 are done: let item 0 end
        return item * 10

    results = list(in_order(range(8), work, workers=4, stop=lambda: None, name="t"))

    assert results == [(item, item * 10) for item in range(8)]
    assert finished[:3] != [0, 1, 2] and finished.index(0) == 3


def test_no_more_than_workers_items_are_in_hand() -> None:
    started: list[int] = []
    taken = []
    for item, _ in in_order(range(10), started.append, workers=3, stop=lambda: None, name="t"):
        taken.append(item)
        assert len(started) <= item + 4  # the item taken, and at most three (workers) ahead of it

    assert taken == list(range(10))


def test_a_failure_stops_the_rest_and_is_raised() -> None:
    stopped = threading.Event()
    done: list[int] = []

    def work(item: int) -> int:
        if item == 2:
            raise ValueError("item 2 failed")
        if item > 2:
            stopped.wait(10)  # as a request waits on the budget until it closes
        done.append(item)
        return item

    results = in_order(range(100), work, workers=4, stop=stopped.set, name="t")
    with pytest.raises(ValueError, match="item 2 failed"):
        for _ in results:
            pass

    assert stopped.is_set()
    assert max(done) < 2 + 4  # no item beyond those in hand was started


class TestInBackground:
    def test_items_come_in_order_the_next_taken_while_the_caller_works(self) -> None:
        taken: list[int] = []
        second_taken = threading.Event()

        def items() -> Iterator[int]:
            for item in range(5):
                taken.append(item)
                if item == 1:
                    second_taken.set()
                yield item

        results = []
        for item in in_background(items(), name="t"):
            if item == 0:  # the caller still holds item 0 when the thread takes item 1
                assert second_taken.wait(10)
            results.append(item)

        assert results == list(range(5)) and taken == list(range(5))

    def test_an_error_is_raised_in_its_turn(self) -> None:
        def items() -> Iterator[int]:
            yield 0
            yield 1
            raise ValueError("item 2 failed")

        results = []
        with pytest.raises(ValueError, match="item 2 failed"):
            for item in in_background(items(), name="t"):
                results.append(item)

        assert results == [0, 1]

    def test_a_caller_that_stops_stops_the_thread_and_closes_the_items(self) -> None:
        closed = threading.Event()

        def items() -> Iterator[int]:
            try:
                yield from range(1000)
            finally:
                closed.set()

        results = in_background(items(), name="t-stop")
        assert next(results) == 0
        results.close()

        assert closed.is_set()
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("fetcher-t-stop")]
