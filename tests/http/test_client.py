"""The HTTP client: retries, timeouts, size limits, auth on redirects, and errors a person can act on."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
import requests
import responses
from responses import registries

from fetcher.config.model import Retry, Source
from fetcher.errors import DeadlineExceeded, FetchError
from fetcher.http.auth import ApiKey, Bearer, OAuth2ClientCredentials
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.pagination.pages import PageRequest
from tests.apiserver import ApiServer, Exchange
from tests.polling import wait_for
from tests.servers.oauth2_authlib import CLIENT_ID, CLIENT_SECRET, SCOPE, OAuth2Server

URL = "https://api.example.com/items"


def _client(**overrides: object) -> Client:
    settings = {"name": "api", "url": URL, "retry": Retry(max_attempts=5, max_wait_s=60), **overrides}
    return Client(Source(**settings), Deadline.after(3000))


@responses.activate(registry=registries.OrderedRegistry)
def test_get_retries_503_then_succeeds(no_retry_sleep: list[float]) -> None:
    responses.get(URL, status=503)
    responses.get(URL, status=503)
    responses.get(URL, json={"ok": True})

    with _client() as client:
        response = client.get(PageRequest(URL))

    assert response.content == b'{"ok": true}'
    assert responses.calls.__len__() == 3
    assert (client.attempts, client.retries) == (3, 2)
    assert len(no_retry_sleep) == 2


@responses.activate(registry=registries.OrderedRegistry)
def test_get_honours_retry_after_on_429(no_retry_sleep: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, json=[])

    with _client() as client:
        client.get(PageRequest(URL))

    assert no_retry_sleep == [7.0]


@responses.activate
def test_get_gives_up_after_max_attempts_naming_status_and_attempts() -> None:
    responses.get(URL, status=502)

    with _client(retry=Retry(max_attempts=4)) as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(URL))

    assert caught.value.status == 502
    assert "HTTP 502 Bad Gateway (gave up after 4 attempts)" in str(caught.value)
    assert len(responses.calls) == 4


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (400, "check params and body"),
        (401, "check [sources.auth]"),
        (403, "lack permission"),
        (404, "no such URL"),
        (410, "the API refused the request"),
    ],
)
@responses.activate
def test_get_client_error_fails_at_once_with_hint(status: int, hint: str) -> None:
    responses.get(URL, status=status, body='{"message": "nope"}')

    with _client(auth=Bearer(token_env="T", secret="tok-1")) as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(URL))

    assert len(responses.calls) == 1
    assert caught.value.status == status
    assert hint in str(caught.value) and "nope" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "the API wants credentials and none are configured; add [sources.auth]"),
        (403, "the API refuses anonymous requests; add [sources.auth]"),
        (404, "no such URL"),
    ],
)
@responses.activate
def test_get_client_error_without_auth_says_to_add_it(status: int, hint: str) -> None:
    responses.get(URL, status=status)

    with _client() as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(URL))

    assert hint in str(caught.value)
    assert "check [sources.auth]" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "in_container", "hinted"),
    [
        pytest.param("http://127.0.0.1:{port}/", True, True, id="ipv4-loopback"),
        pytest.param("http://localhost:{port}/", True, True, id="localhost"),
        pytest.param("http://[::1]:{port}/", True, True, id="ipv6-loopback"),
        pytest.param("http://127.0.0.1:{port}/", False, False, id="outside-a-container"),
        pytest.param("http://192.0.2.1:{port}/", True, False, id="another-host"),
    ],
)
def test_get_refused_connection_to_loopback_in_a_container_says_how_to_reach_the_host(
    url: str, in_container: bool, hinted: bool, no_retry_sleep: list[float]
) -> None:
    """A real refused connection (a port nobody listens on); another host only fails to connect."""
    import socket

    with socket.socket() as probe:  # a free port, closed again: connecting to it is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = url.format(port=port)
    source = Source(name="api", url=target, timeout_s=0.5, retry=Retry(max_attempts=2, max_wait_s=0))

    with (
        Client(source, Deadline.after(30), in_container=in_container) as client,
        pytest.raises(FetchError) as caught,
    ):
        client.get(PageRequest(target))

    message = str(caught.value)
    assert "connection failed" in message or "timed out" in message
    hint = "127.0.0.1 is the container itself: to reach the host's API, run with --network host"
    assert (hint in message) is hinted
    if hinted:
        assert "make run RUN_FLAGS=--network=host" in message and "(gave up after 2 attempts)" in message


@responses.activate(registry=registries.OrderedRegistry)
def test_get_retries_connection_errors_and_timeouts() -> None:
    responses.get(URL, body=requests.ConnectionError("reset by peer"))
    responses.get(URL, body=requests.ReadTimeout("read timed out"))
    responses.get(URL, json=[])

    with _client() as client:
        client.get(PageRequest(URL))

    assert len(responses.calls) == 3


@responses.activate
def test_get_sends_params_headers_and_post_body() -> None:
    responses.post(URL, json=[])

    with _client(method="POST", headers={"X-Team": "data"}) as client:
        client.get(PageRequest(URL, {"page": "2"}, {"q": {"since": 1}}))

    sent = responses.calls[0].request
    assert sent.url == URL + "?page=2"
    assert sent.headers["X-Team"] == "data" and sent.headers["Accept"] == "application/json"
    assert sent.body == b'{"q": {"since": 1}}'


@responses.activate
def test_get_posts_a_request_with_a_body_whatever_the_method() -> None:
    responses.post(URL, json=[])

    with _client() as client:
        client.get(PageRequest(URL, body={"query": "{ a }"}))

    assert responses.calls[0].request.method == "POST"
    assert responses.calls[0].request.body == b'{"query": "{ a }"}'


@responses.activate
def test_get_decompresses_gzip() -> None:
    responses.get(URL, body=gzip.compress(b'{"a": 1}'), headers={"Content-Encoding": "gzip"})

    with _client() as client:
        assert client.get(PageRequest(URL)).content == b'{"a": 1}'


@responses.activate
def test_get_refuses_declared_oversize_body_without_reading() -> None:
    responses.get(URL, body=b"x" * 2_000_000, headers={"Content-Length": "2000000"})

    with (
        _client(max_response_mb=1) as client,
        pytest.raises(
            FetchError, match="larger than max_response_mb=1 \\(Content-Length 2000000\\); not read"
        ),
    ):
        client.get(PageRequest(URL))


@responses.activate
def test_get_refuses_gzip_bomb_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    responses.get(URL, body=bomb, headers={"Content-Encoding": "gzip"})

    with (
        _client(max_response_mb=1) as client,
        pytest.raises(FetchError, match="after decompression; not read further"),
    ):
        client.get(PageRequest(URL))
    assert len(bomb) < 1024 * 1024


@responses.activate
def test_get_past_run_deadline_raises_deadline_exceeded() -> None:
    responses.get(URL, json=[])
    client = Client(Source(name="api", url=URL), Deadline.after(-1))

    with client, pytest.raises(DeadlineExceeded, match="run_timeout_s=3000 reached"):
        client.get(PageRequest(URL))
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("auth", "secret_header"),
    [
        pytest.param(Bearer(token_env="T", secret="tok-1"), "Authorization", id="bearer"),
        pytest.param(ApiKey(token_env="K", secret="key-1"), "X-Api-Key", id="api-key-header"),
    ],
)
@responses.activate
def test_get_redirect_to_other_host_drops_secret_header(auth: object, secret_header: str) -> None:
    responses.get(URL, status=302, headers={"Location": "https://elsewhere.example.net/items"})
    responses.get("https://elsewhere.example.net/items", json=[])

    with _client(auth=auth) as client:
        response = client.get(PageRequest(URL))

    assert response.url == "https://elsewhere.example.net/items"
    assert secret_header in responses.calls[0].request.headers
    assert secret_header not in responses.calls[1].request.headers


@responses.activate
def test_get_redirect_within_host_keeps_secret_header() -> None:
    responses.get(URL, status=301, headers={"Location": "https://api.example.com/v2/items"})
    responses.get("https://api.example.com/v2/items", json=[])

    with _client(auth=ApiKey(token_env="K", secret="key-1")) as client:
        client.get(PageRequest(URL))

    assert responses.calls[1].request.headers["X-Api-Key"] == "key-1"


@responses.activate
def test_get_error_message_redacts_query_secret() -> None:
    responses.get(URL, status=404)

    with (
        _client(auth=ApiKey(token_env="K", query="api_key", secret="sekrit")) as client,
        pytest.raises(FetchError) as caught,
    ):
        client.get(PageRequest(URL))

    assert "sekrit" not in str(caught.value)
    assert "api_key=***" in str(caught.value)


def test_get_headers_trickled_forever_hit_the_request_deadline(api: ApiServer) -> None:
    def trickle_headers(exchange: Exchange) -> None:
        handler = exchange.handler
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 60:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)  # the server's pace, not the test's synchronisation

    api.route("/slow", trickle_headers)
    source = Source(name="api", url=api.url("/slow"), timeout_s=1, retry=Retry(max_attempts=1))

    with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(api.url("/slow")))

    assert "timed out: no complete response within timeout_s=1" in str(caught.value)


@responses.activate
def test_get_stopping_for_the_run_deadline_says_so() -> None:
    responses.get(URL, status=429, headers={"Retry-After": "30"})
    source = Source(name="api", url=URL, run_timeout_s=5, retry=Retry(max_attempts=5, max_wait_s=60))

    with (
        Client(source, Deadline.after(5)) as client,
        pytest.raises(DeadlineExceeded, match="run_timeout_s=5 reached"),
    ):
        client.get(PageRequest(URL))

    assert len(responses.calls) == 1


def _oauth2_source(url: str, token_url: str, *, secret: str = CLIENT_SECRET, max_attempts: int = 3) -> Source:
    auth = OAuth2ClientCredentials(
        token_url=token_url, client_id=CLIENT_ID, client_secret_env="S", scopes=(SCOPE,), secret=secret
    )
    return Source(name="api", url=url, auth=auth, retry=Retry(max_attempts=max_attempts))


def test_get_oauth2_token_fetched_once_and_reused_across_pages() -> None:
    with OAuth2Server.running([[{"id": 1}], [{"id": 2}]]) as server:
        source = _oauth2_source(server.url("/items"), server.token_url)
        with Client(source, Deadline.after(30)) as client:
            for page in ("1", "2"):
                client.get(PageRequest(source.url, {"page": page}))

        assert (server.served, len(server.token_requests), server.refused) == ([1, 2], 1, 0)


def test_get_oauth2_401_fetches_a_new_token_and_retries_the_request_once() -> None:
    with OAuth2Server.running([[{"id": 1}], [{"id": 2}]]) as server:
        source = _oauth2_source(server.url("/items"), server.token_url)
        with Client(source, Deadline.after(30)) as client:
            client.get(PageRequest(source.url, {"page": "1"}))
            server.expire_tokens()
            response = client.get(PageRequest(source.url, {"page": "2"}))

        assert response.content == b'{"items":[{"id":2}]}\n'
        assert (server.served, len(server.token_requests), server.refused) == ([1, 2], 2, 1)


def test_get_oauth2_401_with_a_new_token_too_fails_without_a_loop(api: ApiServer) -> None:
    api.route("/items", lambda exchange: (401, {"detail": "not for you"}))
    with OAuth2Server.running([]) as server:
        source = _oauth2_source(api.url("/items"), server.token_url)
        with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
            client.get(PageRequest(source.url))

        assert caught.value.status == 401 and "check [sources.auth]" in str(caught.value)
        assert (len(server.token_requests), len(api.requests)) == (2, 2)


def test_get_oauth2_token_endpoint_refusal_fails_at_once_naming_the_token_url(api: ApiServer) -> None:
    with OAuth2Server.running([]) as server:
        source = _oauth2_source(api.url("/items"), server.token_url, secret="wrong")
        with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
            client.get(PageRequest(source.url))

        assert str(caught.value).startswith(f"{server.token_url}: token request: HTTP 401 UNAUTHORIZED: ")
        assert (len(server.token_requests), len(api.requests)) == (1, 0)


def test_get_oauth2_token_endpoint_down_is_retried_then_named(
    api: ApiServer, no_retry_sleep: list[float]
) -> None:
    api.route("/token", lambda exchange: (503, b"down"))
    source = _oauth2_source(api.url("/items"), api.url("/token"), max_attempts=3)

    with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
        client.get(PageRequest(source.url))

    assert str(caught.value) == (
        f"{api.url('/token')}: token request: HTTP 503 Service Unavailable (gave up after 3 attempts)"
    )
    assert [exchange.path for exchange in api.requests] == ["/token"] * 3
    assert len(no_retry_sleep) == 2


def test_get_oauth2_token_never_sent_to_another_host() -> None:
    with OAuth2Server.running([[{"id": 1}]]) as server, ApiServer() as other:
        other.route("/next", lambda exchange: (200, []))
        source = _oauth2_source(server.url("/items"), server.token_url)
        with Client(source, Deadline.after(30)) as client:
            client.get(PageRequest(source.url))
            client.get(PageRequest(other.url("/next")))

        assert "Authorization" not in other.requests[0].headers


@responses.activate(registry=registries.OrderedRegistry)
def test_get_sends_the_endpoint_it_is_given(no_retry_sleep: list[float]) -> None:
    """A child's request is filled in per parent row: its own URL and headers (its body rides on the
    request, as every page's does), one session."""
    responses.post(URL + "/7", json={})
    template = Source(name="api", url=URL + "/{id}", method="POST", headers={"X-User": "{id}"})
    filled = Source(name="api", url=URL + "/7", method="POST", headers={"X-User": "7"}, body={"id": 7})

    with Client(template, Deadline.after(30)) as client:
        client.get(PageRequest(filled.url, body=filled.body), filled)

    sent = responses.calls[0].request
    assert (sent.headers["X-User"], sent.body) == ("7", b'{"id": 7}')
    assert sent.headers["User-Agent"].startswith("fetcher/")


@responses.activate(registry=registries.OrderedRegistry)
def test_rate_limit_headers_hold_the_next_request_until_the_reset(
    no_retry_sleep: list[float], no_rate_wait: list[float]
) -> None:
    responses.get(URL, json={}, headers={"RateLimit": '"default";r=0;t=5'})
    responses.get(URL, json={}, headers={"RateLimit": '"default";r=9;t=5'})
    responses.get(URL, json={})

    with _client() as client:
        for _ in range(3):
            client.get(PageRequest(URL))

    assert len(no_rate_wait) == 1 and 4.9 < no_rate_wait[0] <= 5
    assert no_retry_sleep == []


@responses.activate(registry=registries.OrderedRegistry)
def test_rate_limit_headers_on_a_429_are_read_before_its_retry(
    no_retry_sleep: list[float], no_rate_wait: list[float]
) -> None:
    responses.get(URL, status=429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "20"})
    responses.get(URL, json={})

    with _client() as client:
        client.get(PageRequest(URL))

    assert len(no_rate_wait) == 1 and 19.9 < no_rate_wait[0] <= 20
    assert (client.attempts, client.retries) == (2, 1)


def test_rate_limit_reset_past_the_deadline_fails_the_run_not_a_request(no_rate_wait: list[float]) -> None:
    with ApiServer() as api:
        api.route(
            "/items", lambda exchange: (200, [], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "900"})
        )
        source = Source(name="api", url=api.url("/items"), run_timeout_s=60)
        with Client(source, Deadline.after(60)) as client:
            client.get(PageRequest(source.url))
            with pytest.raises(DeadlineExceeded, match="run_timeout_s=60 would pass waiting 900 s"):
                client.get(PageRequest(source.url))

        assert len(api.requests) == 1
    assert no_rate_wait == []


def test_get_called_off_sends_nothing() -> None:
    with ApiServer() as api:
        ended = threading.Event()
        ended.set()
        source = Source(name="api", url=api.url("/items"))
        with Client(source, Deadline.after(30)) as client, pytest.raises(FetchError) as caught:
            client.get(PageRequest(api.url("/items")), cancelled=ended)

    assert "not sent: the walk that asked for it ended" in str(caught.value)
    assert api.requests == []


def test_get_called_off_while_waiting_to_retry_ends_without_another_attempt(
    api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request fetched ahead, waiting out a 503's Retry-After, ends as soon as its walk does."""
    monkeypatch.setattr("fetcher.http.retry._wait", lambda ended, seconds: ended.wait(seconds))
    api.route("/items", lambda exchange: (503, b"busy", {"Retry-After": "600"}))
    ended = threading.Event()
    outcome: list[BaseException] = []

    def fetch() -> None:
        source = Source(name="api", url=api.url("/items"), retry=Retry(max_attempts=5, max_wait_s=600))
        with Client(source, Deadline.after(900)) as client:
            try:
                client.get(PageRequest(api.url("/items")), cancelled=ended)
            except BaseException as exc:
                outcome.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    wait_for(lambda: api.requests, what="the first attempt")
    ended.set()
    thread.join(timeout=30)

    assert not thread.is_alive() and len(outcome) == 1
    assert len(api.requests) == 1
