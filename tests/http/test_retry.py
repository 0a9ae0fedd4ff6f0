"""The retry policy: what is retried, how long it waits, and when it stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import tenacity

from fetcher.errors import FetchError, RetryableError
from fetcher.http.deadline import Deadline
from fetcher.http.retry import is_retryable_status, parse_retry_after, policy


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, True), (500, True), (503, True), (599, True), (400, False), (404, False), (418, False)],
)
def test_is_retryable_status_429_and_5xx_only(status: int, expected: bool) -> None:
    assert is_retryable_status(status) is expected


def test_parse_retry_after_seconds() -> None:
    assert parse_retry_after("2") == 2.0


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)

    assert parse_retry_after("Sat, 21 Nov 2026 10:00:07 GMT", now) == 7.0


@pytest.mark.parametrize("value", [None, "", "soon", "Sat, 99 Foo"])
def test_parse_retry_after_missing_or_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_parse_retry_after_past_date_is_zero() -> None:
    assert parse_retry_after("Sat, 21 Nov 2026 09:00:00 GMT", datetime(2026, 11, 21, 10, tzinfo=UTC)) == 0.0


def _run(retrying: tenacity.Retrying, outcomes: list[Exception | str]) -> tuple[str, int]:
    calls = 0

    def call() -> str:
        nonlocal calls
        outcome = outcomes[calls]
        calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return retrying(call), calls


class TestPolicy:
    def test_policy_retries_retryable_until_success(self) -> None:
        slept: list[float] = []
        retrying = policy(5, 60, Deadline.after(100), sleep=slept.append)

        result, calls = _run(
            retrying, [RetryableError("u", "503", status=503), RetryableError("u", "503", status=503), "ok"]
        )

        assert (result, calls) == ("ok", 3)
        assert len(slept) == 2 and all(0 <= wait <= 60 for wait in slept)

    def test_policy_never_retries_other_errors(self) -> None:
        retrying = policy(5, 60, Deadline.after(100), sleep=lambda s: None)

        with pytest.raises(FetchError, match="404"):
            _run(retrying, [FetchError("u", "404", status=404), "ok"])

    def test_policy_stops_after_max_attempts_and_reraises_last(self) -> None:
        retrying = policy(3, 60, Deadline.after(100), sleep=lambda s: None)

        with pytest.raises(RetryableError, match="third"):
            _run(
                retrying,
                [
                    RetryableError("u", "first"),
                    RetryableError("u", "second"),
                    RetryableError("u", "third"),
                    "ok",
                ],
            )
        assert retrying.statistics["attempt_number"] == 3

    def test_policy_honours_retry_after_capped_by_max_wait(self) -> None:
        slept: list[float] = []
        retrying = policy(5, 10, Deadline.after(100), sleep=slept.append)

        _run(
            retrying,
            [
                RetryableError("u", "429", status=429, retry_after_s=2),
                RetryableError("u", "429", status=429, retry_after_s=500),
                "ok",
            ],
        )

        assert slept == [2, 10]

    def test_policy_backoff_is_capped_by_max_wait(self) -> None:
        slept: list[float] = []
        retrying = policy(12, 3, Deadline.after(1000), sleep=slept.append)

        _run(retrying, [RetryableError("u", "x")] * 11 + ["ok"])

        assert max(slept) <= 3
        assert len(set(slept)) > 1  # jittered

    def test_policy_stops_when_wait_would_pass_deadline(self) -> None:
        slept: list[float] = []
        retrying = policy(5, 60, Deadline.after(1.0), sleep=slept.append)

        with pytest.raises(RetryableError):
            _run(retrying, [RetryableError("u", "429", status=429, retry_after_s=30), "ok"])
        assert slept == []

    def test_policy_logs_one_line_per_retry(self, caplog: pytest.LogCaptureFixture) -> None:
        retrying = policy(5, 60, Deadline.after(100), describe="source=api ", sleep=lambda s: None)

        _run(retrying, [RetryableError("u", "HTTP 503", status=503, retry_after_s=1.5), "ok"])

        (line,) = [record.getMessage() for record in caplog.records]
        assert line.startswith("event=retry source=api status=503 attempt=1/5 wait_s=1.50 error=")


def test_deadline_sooner_takes_earlier() -> None:
    run = Deadline.after(100)

    assert run.sooner(1).remaining() <= 1
    assert run.sooner(1000).expires_at == run.expires_at
    assert timedelta(seconds=Deadline.after(-5).remaining()) == timedelta(0)
