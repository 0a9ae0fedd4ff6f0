"""Fan-out: results in the items' order whatever the threads' timing; the first failure stops the rest."""

from __future__ import annotations

import threading

import pytest

from fetcher.run.fanout import in_order


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
        assert len(started) <= item + 3  # the item taken, and at most two ahead of it

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
