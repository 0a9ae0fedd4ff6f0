"""The requests of a run allowed at once: halved on a 429, one back per GROW_AFTER successes."""

from __future__ import annotations

import pytest

from fetcher.http.concurrency import GROW_AFTER, Concurrency


def _grown(concurrency: Concurrency, successes: int) -> int:
    for _ in range(successes):
        concurrency.observe(200, limited=False)
    return concurrency.limit


class TestConcurrency:
    def test_a_429_halves_the_limit_down_to_one(self) -> None:
        concurrency = Concurrency(8)

        limits = []
        for _ in range(5):
            concurrency.observe(429, limited=False)
            limits.append(concurrency.limit)

        assert limits == [4, 2, 1, 1, 1]

    def test_headers_with_none_remaining_halve_it_too(self) -> None:
        concurrency = Concurrency(8)

        assert concurrency.observe(200, limited=True) and concurrency.limit == 4

    def test_successes_add_one_back_per_grow_after_up_to_the_ceiling(self) -> None:
        concurrency = Concurrency(4)
        concurrency.observe(429, limited=False)
        concurrency.observe(429, limited=False)

        assert _grown(concurrency, GROW_AFTER - 1) == 1
        assert _grown(concurrency, 1) == 2
        assert _grown(concurrency, 10 * GROW_AFTER) == 4

    @pytest.mark.parametrize("status", [304, 404, 500])
    def test_other_answers_change_nothing(self, status: int) -> None:
        concurrency = Concurrency(4)
        concurrency.observe(429, limited=False)

        assert _grown(concurrency, 0) == 2
        assert not any(concurrency.observe(status, limited=False) for _ in range(3 * GROW_AFTER))

    def test_admits_up_to_the_limit_once_lowered_and_any_number_before(self) -> None:
        concurrency = Concurrency(2)
        assert concurrency.admits(5)  # not lowered: the run's own threads are the bound

        concurrency.observe(429, limited=False)

        assert concurrency.admits(0) and not concurrency.admits(1)
