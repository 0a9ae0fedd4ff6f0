"""The rate budget: tokens that come back one window after the response, the API's resets, the deadline."""

from __future__ import annotations

import threading
import time

import pytest

from fetcher.errors import ConfigError, DeadlineExceeded, FetcherError
from fetcher.http.budget import Budget, RateLimit
from fetcher.http.deadline import Deadline
from tests.polling import wait_for

LONG = Deadline.after(3600)


def _send(budget: Budget, times: int) -> None:
    for _ in range(times):
        budget.acquire(LONG)
        budget.release()


class TestRateLimitSettings:
    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            pytest.param({}, "set one of", id="neither"),
            pytest.param({"requests_per_second": 1, "requests_per_minute": 60}, "set one of", id="both"),
            pytest.param({"requests_per_second": 0}, "requests_per_second: 0 must be greater", id="zero"),
        ],
    )
    def test_check_refuses(self, settings: dict[str, int], message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            RateLimit(**settings).check("sources[0].rate_limit")

    def test_window_per_minute(self) -> None:
        assert RateLimit(requests_per_minute=30).window == (30, 60.0)


class TestBudget:
    def test_within_the_limit_no_wait(self, no_rate_wait: list[float]) -> None:
        _send(Budget("api", RateLimit(requests_per_second=10), 60), 10)

        assert no_rate_wait == []

    def test_one_more_than_the_limit_waits_for_the_first_token_back(self, no_rate_wait: list[float]) -> None:
        _send(Budget("api", RateLimit(requests_per_second=10), 60), 11)

        assert len(no_rate_wait) == 1
        assert 0.9 < no_rate_wait[0] <= 1.0

    def test_per_minute_waits_a_minute(self, no_rate_wait: list[float]) -> None:
        _send(Budget("api", RateLimit(requests_per_minute=2), 600), 3)

        assert len(no_rate_wait) == 1 and 59 < no_rate_wait[0] <= 60

    def test_no_limit_never_waits(self, no_rate_wait: list[float]) -> None:
        _send(Budget("api", None, 60), 100)

        assert no_rate_wait == []

    def test_api_headers_hold_the_next_request_until_the_reset(self, no_rate_wait: list[float]) -> None:
        budget = Budget("api", None, 60)
        budget.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "5"})

        _send(budget, 2)

        assert len(no_rate_wait) == 1 and 4.9 < no_rate_wait[0] <= 5

    def test_a_reset_in_the_past_means_no_wait(self, no_rate_wait: list[float]) -> None:
        budget = Budget("api", None, 60)
        budget.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) - 30)})

        _send(budget, 2)

        assert no_rate_wait == []

    def test_a_wait_past_the_deadline_fails_at_once(self, no_rate_wait: list[float]) -> None:
        budget = Budget("api", None, 10)
        budget.observe({"RateLimit": "limit=100, remaining=0, reset=3600"})

        with pytest.raises(
            DeadlineExceeded, match=r"run_timeout_s=10 would pass waiting .* rate-limit headers"
        ):
            budget.acquire(Deadline.after(10))
        assert no_rate_wait == []

    def test_a_token_wait_past_the_deadline_names_the_limit(self) -> None:
        budget = Budget("api", RateLimit(requests_per_minute=1), 5)
        _send(budget, 1)

        with pytest.raises(DeadlineExceeded, match="requests_per_minute=1"):
            budget.acquire(Deadline.after(5))

    def test_all_tokens_out_waits_for_a_release(self) -> None:
        """A thread finds every token held by requests in flight; it goes on once one answers."""
        budget = Budget("api", RateLimit(requests_per_second=1), 60)
        budget.acquire(LONG)
        done = threading.Event()

        def second() -> None:
            budget.acquire(LONG)
            done.set()

        thread = threading.Thread(target=second)
        thread.start()
        assert not done.wait(0.05)  # held: the only token is out
        budget.release()
        wait_for(done.is_set, what="the second request to go")
        thread.join()

    def test_close_ends_a_wait_and_refuses_more(self) -> None:
        budget = Budget("api", RateLimit(requests_per_second=1), 60)
        budget.acquire(LONG)
        failed: list[BaseException] = []

        def second() -> None:
            try:
                budget.acquire(LONG)
            except FetcherError as exc:
                failed.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        budget.close()
        thread.join(timeout=10)

        assert [str(error) for error in failed] == [
            "source api: cancelled: another request of the run failed"
        ]


class TestConcurrencyAfter429:
    def test_a_429_holds_requests_beyond_half_the_concurrency(self) -> None:
        budget = Budget("api", None, 60, concurrency=4)
        for _ in range(4):
            budget.acquire(LONG)
        budget.observe({}, status=429)
        budget.release()  # three still out, two allowed: the next request waits

        with pytest.raises(DeadlineExceeded, match="requests allowed at once, lowered after a 429"):
            budget.acquire(Deadline.after(0))

    def test_a_held_request_goes_when_one_comes_back(self) -> None:
        budget = Budget("api", None, 60, concurrency=2)
        budget.acquire(LONG)
        budget.observe({}, status=429)  # one allowed at once, and one is out
        sent = threading.Event()
        thread = threading.Thread(target=lambda: (budget.acquire(LONG), sent.set()))
        thread.start()

        budget.release()
        wait_for(sent.is_set, what="the held request to go")
        thread.join()

    def test_without_a_429_the_threads_are_the_only_bound(self) -> None:
        budget = Budget("api", None, 60, concurrency=1)

        for _ in range(5):  # five out at once, none waits: a deadline already passed does not fail
            budget.acquire(Deadline.after(0))
