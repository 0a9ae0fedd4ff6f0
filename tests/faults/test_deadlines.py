"""Deadlines (issue case 4): a server that stalls, or trickles a byte a second, meets both deadlines.

`timeout_s` bounds each request as a whole, not only the gap between two bytes: the trickles here
send a byte every second (the body) or every 0.3 s (a header that never ends), inside a read
timeout of 1.5 s (1 s), so only a whole-exchange deadline stops them. `run_timeout_s` bounds the whole
run. Each server would go on for minutes; the safety net (a generous bound) only keeps a broken
fetcher from hanging the suite.
"""

from __future__ import annotations

import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import FaultServer, Route, stall, trickle

SLOW_BODY = b'{"data": [' + b" " * 200 + b"]}"
# (route, timeout_s of the per-request case, safety net): a trickle of a byte a second needs a
# timeout_s above one second to show that the whole exchange, not the gap, is bounded.
FAULTS = [
    pytest.param(stall(), 1.0, 8, id="stall"),
    pytest.param(trickle(SLOW_BODY, 1.0), 1.5, 8, id="trickle-body"),
    pytest.param(trickle(SLOW_BODY, 0.3, in_headers=True), 1.0, 6, id="trickle-headers"),
]
# The run deadline ignores the per-request one (set far above it): the same faults, no timeout_s.
RUN_FAULTS = [pytest.param(param.values[0], param.values[2], id=param.id) for param in FAULTS]


@pytest.mark.parametrize(("route", "timeout_s", "safety_net_s"), FAULTS)
def test_request_deadline_slow_server_exits_1_timed_out(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    route: Route,
    timeout_s: float,
    safety_net_s: float,
) -> None:
    server.route("/items", route)
    config = harness.config(server.url("/items"), timeout_s=timeout_s, run_timeout_s=60, max_attempts=2)

    result = harness.run(config, safety_net_s=safety_net_s)

    assert len(server.hits_to("/items")) == 2
    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem="timed out")
    assert record is not None and record["error"]["type"] == "FetchError"
    assert "gave up after 2 attempts" in record["error"]["message"]


@pytest.mark.parametrize(("route", "safety_net_s"), RUN_FAULTS)
def test_run_deadline_slow_server_exits_1_deadline_exceeded(
    harness: Workspace,
    server: FaultServer,
    earlier: dict[str, str],
    route: Route,
    safety_net_s: float,
) -> None:
    server.route("/items", route)
    config = harness.config(server.url("/items"), timeout_s=60, run_timeout_s=2, max_attempts=5)

    result = harness.run(config, safety_net_s=safety_net_s)

    record = disk.assert_failed_cleanly(harness.out, earlier, result, problem="run_timeout_s=2 reached")
    assert record is not None and record["error"]["type"] == "DeadlineExceeded"
