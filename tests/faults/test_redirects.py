"""Redirects (issue case 13): credentials never follow a redirect to another host or port."""

from __future__ import annotations

import pytest

from tests.faults import harness as h
from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit, Route, reply

CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def _redirect_to(location: str) -> Route:
    def route(hit: Hit, conn: Conn) -> None:
        conn.send(302, b"", {"Location": location})

    return route


def _credentials(hit: Hit) -> dict[str, str]:
    found = {name: hit.headers[name] for name in CREDENTIAL_HEADERS if name in hit.headers}
    if "api_key" in hit.query:
        found["api_key"] = hit.query["api_key"]
    return found


@pytest.mark.parametrize("auth", ["bearer", "basic", "api_key", "api_key_query"])
@pytest.mark.parametrize(
    "host", [pytest.param("localhost", id="other-host"), pytest.param("127.0.0.1", id="other-port")]
)
def test_redirect_to_other_origin_drops_credentials(
    harness: Workspace, server: FaultServer, other_server: FaultServer, auth: str, host: str
) -> None:
    server.route("/items", _redirect_to(other_server.url("/moved", host=host)))
    other_server.route("/moved", reply(200, {"data": [{"seq": 1}]}))
    config = harness.config(server.url("/items"), auth=auth)

    result = harness.run(config)

    disk.assert_succeeded_once(harness.out, {}, result)
    (first,) = server.hits_to("/items")
    (moved,) = other_server.hits_to("/moved")
    assert _credentials(first), "the first request should carry the credentials (the test's control)"
    assert _credentials(moved) == {}, f"credentials followed the redirect to {host}:{other_server.port}"
    leaked = [form for form in h.SECRETS.forms().values() if form.decode() in repr(moved)]
    assert leaked == []


def test_redirect_same_origin_keeps_credentials(harness: Workspace, server: FaultServer) -> None:
    server.route("/items", _redirect_to(server.url("/moved")))
    server.route("/moved", reply(200, {"data": [{"seq": 1}]}))
    config = harness.config(server.url("/items"), auth="api_key")

    result = harness.run(config)

    disk.assert_succeeded_once(harness.out, {}, result)
    (moved,) = server.hits_to("/moved")
    assert _credentials(moved) == _credentials(server.hits_to("/items")[0]) != {}
