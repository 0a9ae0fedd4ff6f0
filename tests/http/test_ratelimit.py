"""Rate-limit headers: the wait they ask for before the next request, or None."""

from __future__ import annotations

import pytest

from fetcher.http.ratelimit import reset_wait_s

NOW = 1_800_000_000.0  # a Unix time


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, 30.0, id="x-seconds"),
        pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 12)}, 12.0, id="x-unix"),
        pytest.param(
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int((NOW + 2) * 1000))},
            2.0,
            id="x-unix-ms",
        ),
        pytest.param(
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW - 60)}, 0.0, id="x-reset-past"
        ),
        pytest.param({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}, None, id="x-some-remain"),
        pytest.param({"X-RateLimit-Remaining": "0"}, None, id="x-no-reset"),
        pytest.param({"X-RateLimit-Remaining": "zero", "X-RateLimit-Reset": "3"}, None, id="x-garbage"),
        pytest.param({"RateLimit-Remaining": "0", "RateLimit-Reset": "7"}, 7.0, id="draft-06"),
        pytest.param({"RateLimit": "limit=100, remaining=0, reset=5"}, 5.0, id="draft-07"),
        pytest.param({"RateLimit": "limit=100, remaining=3, reset=5"}, None, id="draft-07-some-remain"),
        pytest.param({"RateLimit": '"default";r=0;t=9'}, 9.0, id="draft-08"),
        pytest.param({"RateLimit": '"hour";r=5;t=900, "second";r=0;t=1'}, 1.0, id="draft-08-two-policies"),
        pytest.param(
            {"RateLimit": '"default";r=0', "RateLimit-Policy": '"default";q=100;w=60'},
            60.0,
            id="policy-window",
        ),
        pytest.param(
            {"RateLimit": "remaining=0", "RateLimit-Policy": "100;w=30"}, 30.0, id="draft-07-policy"
        ),
        pytest.param({"RateLimit": '"default";r=0;t=-4'}, 0.0, id="draft-08-reset-past"),
        pytest.param({"Retry-After": "5"}, None, id="none"),
    ],
)
def test_reset_wait_s_reads_each_header_family(headers: dict[str, str], wait: float | None) -> None:
    assert reset_wait_s(headers, NOW) == (None if wait is None else pytest.approx(wait))


def test_reset_wait_s_longest_wait_wins() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3", "RateLimit": '"a";r=0;t=8'}

    assert reset_wait_s(headers, NOW) == 8.0
