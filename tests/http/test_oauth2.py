"""OAuth2 client credentials tokens, against Authlib's authorization server on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from fetcher import redact
from fetcher.errors import FetchError, RetryableError
from fetcher.http.auth import OAuth2ClientCredentials
from fetcher.http.deadline import Deadline
from fetcher.http.oauth2 import TokenError, Tokens
from fetcher.http.transport import Transport
from tests.apiserver import ApiServer, Exchange, Reply
from tests.servers.oauth2_authlib import CLIENT_ID, CLIENT_SECRET, SCOPE, OAuth2Server


@pytest.fixture
def authlib() -> Iterator[OAuth2Server]:
    with OAuth2Server.running([[{"id": 1}]], expires_in=100) as server:
        yield server


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _settings(token_url: str, **settings: Any) -> OAuth2ClientCredentials:
    defaults: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret_env": "S", "secret": CLIENT_SECRET}
    return OAuth2ClientCredentials(token_url=token_url, **{**defaults, **settings})


def _tokens(token_url: str, clock: Clock | None = None, **settings: Any) -> Tokens:
    return Tokens(_settings(token_url, **settings), Transport(), clock=clock or Clock())


def _sent_token(tokens: Tokens) -> str:
    scheme, _, token = tokens.authorization(Deadline.after(10)).partition(" ")
    assert scheme == "Bearer"
    return token


def test_tokens_default_to_client_secret_basic_with_scopes_audience_and_form(authlib: OAuth2Server) -> None:
    tokens = _tokens(
        authlib.token_url, scopes=(SCOPE,), audience="https://api.example.com", form={"resource": "r"}
    )

    token = _sent_token(tokens)

    assert authlib.issued() == [token]
    [sent] = authlib.token_requests
    assert sent.client_auth == "client_secret_basic"
    assert sent.form == {
        "grant_type": "client_credentials",
        "resource": "r",
        "scope": SCOPE,
        "audience": "https://api.example.com",
    }
    assert (
        requests.get(authlib.url("/items"), headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_tokens_client_secret_post_sends_id_and_secret_in_the_form(authlib: OAuth2Server) -> None:
    token = _sent_token(_tokens(authlib.token_url, client_auth="client_secret_post"))

    assert authlib.issued() == [token]
    [sent] = authlib.token_requests
    assert (sent.client_auth, sent.form["client_id"]) == ("client_secret_post", CLIENT_ID)


def test_tokens_basic_credentials_are_form_urlencoded_first(api: ApiServer) -> None:
    api.route("/token", lambda exchange: (200, {"access_token": "t-1", "token_type": "Bearer"}))

    _sent_token(_tokens(api.url("/token"), client_id="id:1", secret="p@ss word"))

    scheme, _, value = api.requests[0].headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(value).decode()) == ("Basic", "id%3A1:p%40ss%20word")


def test_tokens_keep_the_token_until_a_tenth_of_its_life_before_expiry(authlib: OAuth2Server) -> None:
    clock = Clock()
    tokens = _tokens(authlib.token_url, clock)
    first = _sent_token(tokens)

    clock.now += 89.9  # expires_in=100: renewed 10 s before the end
    assert _sent_token(tokens) == first
    clock.now += 0.2
    second = _sent_token(tokens)

    assert second != first
    assert authlib.issued() == [first, second]
    assert tokens.fetched == 2


def test_tokens_without_expires_in_are_kept_until_forgotten(api: ApiServer) -> None:
    issued = iter(["t-1", "t-2"])
    api.route("/token", lambda exchange: (200, {"access_token": next(issued), "token_type": "bearer"}))
    clock = Clock()
    tokens = _tokens(api.url("/token"), clock)

    assert _sent_token(tokens) == "t-1"
    clock.now += 10**9
    assert _sent_token(tokens) == "t-1"
    tokens.forget()
    assert _sent_token(tokens) == "t-2"
    assert len(api.requests) == 2


def test_tokens_refused_together_by_two_threads_are_fetched_again_once(api: ApiServer) -> None:
    issued = iter(["t-1", "t-2", "t-3"])
    api.route("/token", lambda exchange: (200, {"access_token": next(issued), "token_type": "bearer"}))
    tokens = _tokens(api.url("/token"), Clock())

    with ThreadPoolExecutor(max_workers=1) as other:  # one thread of its own, as a fetch-ahead worker
        assert other.submit(_sent_token, tokens).result() == "t-1"
        assert _sent_token(tokens) == "t-1"
        tokens.forget()  # refused here first: the next request fetches t-2
        assert _sent_token(tokens) == "t-2"
        other.submit(tokens.forget).result()  # refused there too, with t-1, which is gone already
        assert _sent_token(tokens) == "t-2"

    assert len(api.requests) == 2


def test_tokens_register_each_token_for_redaction_as_soon_as_read(authlib: OAuth2Server) -> None:
    token = _sent_token(_tokens(authlib.token_url))

    assert redact.redact(f"sent {token}") == "sent ***"


def test_tokens_endpoint_refusing_the_client_is_a_token_error_with_hint(authlib: OAuth2Server) -> None:
    tokens = _tokens(authlib.token_url, secret="not-the-secret")

    with pytest.raises(TokenError) as caught:
        tokens.authorization(Deadline.after(10))

    error = caught.value
    assert error.status == 401 and error.url == authlib.token_url
    assert str(error).startswith(f"{authlib.token_url}: token request: HTTP 401 UNAUTHORIZED: ")
    assert "check client_id, the client secret it names, scopes and audience" in str(error)
    assert "error=invalid_client" in str(error)
    assert not isinstance(error, RetryableError)


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    def route(exchange: Exchange) -> Reply:
        return status, body, headers or {}

    return route


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        pytest.param(
            _reply(200, {"token_type": "bearer", "expires_in": 60}),
            "token response has no access_token (keys: expires_in, token_type)",
            id="no-access-token",
        ),
        pytest.param(_reply(200, "<html>login</html>"), "token response is not JSON", id="html"),
        pytest.param(_reply(200, ["t"]), "token response is not a JSON object", id="array"),
        pytest.param(
            _reply(200, {"access_token": "t-1", "token_type": "mac"}),
            "token_type 'mac' is not supported; only Bearer tokens are",
            id="not-bearer",
        ),
        pytest.param(
            _reply(302, b"", {"Location": "https://elsewhere.example.net/token"}),
            "token request: HTTP 302 Found: redirected; set token_url to the final URL",
            id="redirect-not-followed",
        ),
        pytest.param(
            _reply(404, {"error": "nope"}),
            "token request: HTTP 404 Not Found: the token endpoint refused the request; error=nope",
            id="404",
        ),
    ],
)
def test_tokens_unusable_answer_is_a_token_error_naming_the_token_url(
    api: ApiServer, reply: Any, problem: str
) -> None:
    api.route("/token", reply)

    with pytest.raises(TokenError) as caught:
        _tokens(api.url("/token")).authorization(Deadline.after(10))

    assert str(caught.value) == f"{api.url('/token')}: {problem}"
    assert len(api.requests) == 1


def test_tokens_server_error_is_retryable_with_status_and_retry_after(api: ApiServer) -> None:
    api.route("/token", _reply(503, b"busy", {"Retry-After": "7"}))

    with pytest.raises(RetryableError) as caught:
        _tokens(api.url("/token")).authorization(Deadline.after(10))

    assert (caught.value.status, caught.value.retry_after_s) == (503, 7.0)
    assert str(caught.value) == f"{api.url('/token')}: token request: HTTP 503 Service Unavailable"


def test_tokens_unreachable_endpoint_is_retryable_naming_the_token_url() -> None:
    with ApiServer() as closed:
        url = closed.url("/token")  # the port is free again once the server is gone

    with pytest.raises(RetryableError) as caught:
        _tokens(url).authorization(Deadline.after(10))

    assert str(caught.value).startswith(f"{url}: token request failed: connection failed: ")
    assert isinstance(caught.value, FetchError) and caught.value.status is None


def test_tokens_url_is_shown_redacted(api: ApiServer) -> None:
    api.route("/token", _reply(400, {"error": "invalid_scope"}))

    with pytest.raises(TokenError) as caught:
        _tokens(api.url("/token?api_key=k-123")).authorization(Deadline.after(10))

    assert "k-123" not in str(caught.value)
    assert str(caught.value).startswith(f"{api.url('/token?api_key=***')}: token request: HTTP 400")
