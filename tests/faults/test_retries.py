"""Retries (issue cases 1-3): Retry-After honoured and capped, the retry budget, 4xx failing at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate

import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit, Route, reply, reset, script

NEW_RECORDS = {"data": [{"seq": 4, "name": "four"}, {"seq": 5, "name": "five"}]}


def _in(seconds: float) -> str:
    """An HTTP-date `seconds` from now (whole seconds, as the format allows)."""
    return formatdate(time.time() + seconds, usegmt=True)


def _throttled(status: int, retry_after: Callable[[], str]) -> Route:
    """A `status` reply whose Retry-After is computed when the request arrives."""

    def route(hit: Hit, conn: Conn) -> None:
        conn.send(status, {"error": "slow down"}, {"Retry-After": retry_after()})

    return route


@pytest.mark.parametrize(
    ("status", "retry_after", "min_gap_s"),
    [
        pytest.param(429, lambda: "2", 1.9, id="429-seconds"),
        pytest.param(503, lambda: _in(3), 1.9, id="503-http-date"),
    ],
)
def test_retry_after_honoured_then_succeeds_with_one_set_of_files(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    status: int,
    retry_after: Callable[[], str],
    min_gap_s: float,
) -> None:
    server.route("/items", script(_throttled(status, retry_after), reply(200, NEW_RECORDS)))
    config = harness.config(server.url("/items"), max_attempts=3, max_wait_s=10, run_timeout_s=30)

    result = harness.run(config)

    first, second = server.hits_to("/items")
    assert second.at - first.at >= min_gap_s, "the fetcher did not wait as Retry-After told it"
    record = disk.assert_succeeded_once(harness.out, earlier, result)
    assert (record["attempts"], record["retries"], record["records"]) == (2, 1, 2)
    assert f"event=retry source=api status={status} attempt=1/3" in result.stderr
    assert disk.state(harness.out)["cursor"] == 5


@pytest.mark.parametrize(
    "retry_after",
    [pytest.param(lambda: "3600", id="seconds"), pytest.param(lambda: _in(3600), id="http-date")],
)
def test_retry_after_beyond_max_wait_capped_then_succeeds(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], retry_after: Callable[[], str]
) -> None:
    server.route("/items", script(_throttled(429, retry_after), reply(200, NEW_RECORDS)))
    config = harness.config(server.url("/items"), max_attempts=3, max_wait_s=1, run_timeout_s=30)

    result = harness.run(config, safety_net_s=30)

    first, second = server.hits_to("/items")
    assert second.at - first.at >= 0.9, "the capped wait (max_wait_s = 1) did not happen"
    assert "wait_s=1.00" in result.stderr
    disk.assert_succeeded_once(harness.out, earlier, result)


def _fail_with(status: int) -> Route:
    return reply(status, {"error": f"upstream {status}"})


@pytest.mark.parametrize(
    ("route", "status", "problem"),
    [
        pytest.param(_fail_with(500), 500, "HTTP 500 Internal Server Error", id="500"),
        pytest.param(_fail_with(502), 502, "HTTP 502 Bad Gateway", id="502"),
        pytest.param(_fail_with(503), 503, "HTTP 503 Service Unavailable", id="503"),
        pytest.param(_fail_with(504), 504, "HTTP 504 Gateway Timeout", id="504"),
        pytest.param(reset(), None, "connection failed", id="connection-reset"),
    ],
)
def test_retry_budget_exhausted_exits_1_naming_status_and_attempts(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    route: Route,
    status: int | None,
    problem: str,
) -> None:
    server.route("/items", route)
    config = harness.config(server.url("/items"), max_attempts=5, max_wait_s=0)

    result = harness.run(config)

    assert len(server.hits_to("/items")) == 5
    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem=problem, status=status)
    assert record is not None
    assert "gave up after 5 attempts" in record["error"]["message"]
    assert (record["attempts"], record["retries"]) == (5, 4)


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        pytest.param(400, "check params and body", id="400"),
        pytest.param(401, "check [sources.auth]", id="401"),
        pytest.param(403, "the credentials lack permission", id="403"),
        pytest.param(404, "check url", id="404"),
    ],
)
def test_client_error_one_attempt_exits_1_with_hint(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], status: int, hint: str
) -> None:
    server.route("/items", _fail_with(status))
    config = harness.config(server.url("/items"), max_attempts=5)

    result = harness.run(config)

    assert len(server.hits_to("/items")) == 1
    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem=f"HTTP {status}", status=status)
    assert record is not None and record["attempts"] == 1
    message = record["error"]["message"]
    assert hint in message and server.url("/items") in message, message
    (summary,) = [line for line in result.stderr.splitlines() if "event=run " in line]
    assert "status=failed" in summary and hint in summary, summary
