"""Secrets (issue case 14): the token, the password and the API key never reach a log, an error or a file.

Every test of this suite is scanned at teardown (conftest.py `harness`). The cases here go looking
for leaks: an API that echoes the credentials it received into an error body, an HTML page or a
redirect URL, and an API key in the query string of the URL an error message names. Each one
asserts that the echo did reach the message (redacted), so that a scan finding nothing means
something.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from tests.faults import harness as h
from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace, find_secrets
from tests.faults.faultserver import Conn, FaultServer, Hit, Route, reply

AUTH_KINDS = ["bearer", "basic", "api_key", "api_key_query", "oauth2"]


def _echo(hit: Hit) -> str:
    """Every credential the request carried, as an API that echoes them would show them."""
    parts = [
        hit.headers.get("authorization", ""),
        hit.headers.get("x-api-key", ""),
        hit.query.get("api_key", ""),
    ]
    scheme, _, value = parts[0].partition(" ")
    if scheme == "Basic":
        parts.append(base64.b64decode(value).decode())
    return " ".join(part for part in parts if part)


def _issue_token(hit: Hit, conn: Conn) -> None:
    """An OAuth2 token endpoint (harness kind `oauth2`) that issues SECRETS.token."""
    conn.send(200, {"access_token": h.SECRETS.token, "token_type": "Bearer", "expires_in": 3600})


def _echo_401(hit: Hit, conn: Conn) -> None:
    conn.send(401, f"invalid credentials: {_echo(hit)}", {"Content-Type": "text/plain"})


def _echo_html_200(hit: Hit, conn: Conn) -> None:
    conn.send(200, f"{_echo(hit)} <html>login page</html>", {"Content-Type": "text/html"})


def _echo_400_json(hit: Hit, conn: Conn) -> None:
    conn.send(400, {"error": "bad request", "you_sent": _echo(hit), "headers": dict(hit.headers)})


@pytest.mark.parametrize("auth", AUTH_KINDS)
@pytest.mark.parametrize(
    "route",
    [
        pytest.param(_echo_401, id="401-echo"),
        pytest.param(_echo_html_200, id="html-200-echo"),
        pytest.param(_echo_400_json, id="400-json-echo"),
    ],
)
def test_secrets_echoed_by_api_redacted_everywhere(
    harness: Workspace, server: FaultServer, earlier: dict[str, str], route: Route, auth: str
) -> None:
    server.route("/items", route)
    server.route("/token", _issue_token)
    config = harness.config(server.url("/items"), auth=auth)

    result = harness.run(config)

    assert result.returncode == 1, result.stderr
    record = disk.run_records(harness.out)[-1]
    assert "***" in record["error"]["message"], "the echo should reach the message, redacted"
    assert find_secrets(harness.root, harness.logs, harness.secret_dir) == []


@pytest.mark.parametrize("auth", ["oauth2", "oauth2_post"])
def test_client_credentials_echoed_by_token_endpoint_redacted_everywhere(
    harness: Workspace, server: FaultServer, auth: str
) -> None:
    """A token endpoint that refuses the client, echoing the id and secret it received (RFC 6749 5.2)."""

    def refuse_echoing(hit: Hit, conn: Conn) -> None:
        sent = f"{_echo(hit)} {hit.body.decode()}"
        conn.send(401, {"error": "invalid_client", "error_description": f"bad client: {sent}"})

    server.route("/token", refuse_echoing)
    config = harness.config(server.url("/items"), auth=auth)

    result = harness.run(config)

    assert result.returncode == 1, result.stderr
    message = disk.run_records(harness.out)[-1]["error"]["message"]
    assert "token request: HTTP 401" in message and "error=invalid_client (bad client: " in message
    assert "***" in message, "the echo should reach the message, redacted"
    assert server.hits_to("/items") == []
    assert find_secrets(harness.root, harness.logs, harness.secret_dir) == []


def _redirect_with_secrets(hit: Hit, conn: Conn) -> None:
    query = urlencode({"token": h.SECRETS.token, "password": h.SECRETS.password, "key": h.SECRETS.api_key})
    conn.send(302, b"", {"Location": f"/gone?{query}"})


@pytest.mark.parametrize(
    ("route", "auth", "timeout_s"),
    [
        pytest.param(_redirect_with_secrets, "bearer", 2, id="secrets-in-redirect-url"),
        pytest.param(reply(404, b"not here"), "api_key_query", 2, id="key-in-url-of-404"),
    ],
)
def test_secrets_in_urls_redacted_everywhere(
    harness: Workspace, server: FaultServer, route: Route, auth: str, timeout_s: float
) -> None:
    server.route("/items", route)
    config = harness.config(server.url("/items"), auth=auth, timeout_s=timeout_s, max_attempts=1)

    result = harness.run(config)

    assert result.returncode == 1, result.stderr
    assert "=***" in disk.run_records(harness.out)[-1]["error"]["message"]
    assert find_secrets(harness.root, harness.logs, harness.secret_dir) == []


def test_secret_scan_finds_a_planted_secret(harness: Workspace) -> None:
    """The scan itself: a secret planted in a log and in a file is found in both forms it checks."""
    planted = harness.root / "out" / "api" / "_runs" / "planted.json"
    planted.parent.mkdir(parents=True)
    planted.write_text(f'{{"error": "{h.SECRETS.api_key}"}}')
    logs = [f"level=ERROR basic={h.SECRETS.forms()['basic-credentials'].decode()}"]

    found = find_secrets(harness.root, logs, harness.secret_dir)

    assert found == ["stderr of run 0: basic-credentials", f"{planted}: api_key"]
    planted.unlink()
