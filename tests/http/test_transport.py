"""The transport: requests' rules for credentials on redirects, proxies, CA bundles and query strings."""

from __future__ import annotations

import certifi
import pytest

from fetcher.config.model import Retry, Source
from fetcher.errors import FetchError
from fetcher.http.auth import ApiKey, Bearer
from fetcher.http.client import Client
from fetcher.http.deadline import Deadline
from fetcher.http.transport import Transport, should_strip_auth, with_query
from fetcher.pagination.pages import PageRequest
from tests.apiserver import ApiServer


@pytest.mark.parametrize(
    ("old", "new", "stripped"),
    [
        pytest.param("https://a.example/x", "https://a.example/y", False, id="same-origin"),
        pytest.param("https://a.example/x", "https://b.example/x", True, id="other-host"),
        pytest.param("http://a.example/x", "https://a.example/x", False, id="upgrade-to-https-default-ports"),
        pytest.param("http://a.example:80/x", "https://a.example:443/x", False, id="upgrade-ports-written"),
        pytest.param("http://a.example:8080/x", "https://a.example/x", True, id="upgrade-from-other-port"),
        pytest.param("https://a.example/x", "http://a.example/x", True, id="downgrade-to-http"),
        pytest.param("https://a.example/x", "https://a.example:443/x", False, id="default-port-written"),
        pytest.param("https://a.example/x", "https://a.example:8443/x", True, id="other-port"),
    ],
)
def test_should_strip_auth_follows_requests_rule(old: str, new: str, stripped: bool) -> None:
    assert should_strip_auth(old, new) is stripped


@pytest.mark.parametrize(
    ("auth", "secret_header"),
    [
        pytest.param(Bearer(token_env="T", secret="tok-1"), "Authorization", id="bearer"),
        pytest.param(ApiKey(token_env="K", header="X-Key", secret="key-1"), "X-Key", id="api-key-header"),
    ],
)
def test_redirect_to_another_host_on_a_real_server_drops_the_secret_and_reports_the_final_url(
    api: ApiServer, auth: Bearer | ApiKey, secret_header: str
) -> None:
    """127.0.0.1 and localhost are two hosts to the client, though one server answers both."""
    elsewhere = f"http://localhost:{api.port}/moved"
    api.route("/items", lambda exchange: (302, b"", {"Location": elsewhere}))
    api.route("/moved", lambda exchange: (200, []))
    source = Source(name="api", url=api.url("/items"), auth=auth)

    with Client(source, Deadline.after(30)) as client:
        response = client.get(PageRequest(source.url))

    assert response.url == elsewhere
    first, second = api.requests
    assert secret_header in first.headers and secret_header not in second.headers


def test_post_redirected_with_303_becomes_a_get_without_its_body(api: ApiServer) -> None:
    api.route("/search", lambda exchange: (303, b"", {"Location": "/results"}))
    api.route("/results", lambda exchange: (200, {"ok": True}))
    source = Source(name="api", url=api.url("/search"))

    with Client(source, Deadline.after(30)) as client:
        response = client.get(PageRequest(source.url, body={"q": 1}))

    assert response.url == api.url("/results")
    assert [(exchange.method, exchange.body) for exchange in api.requests] == [
        ("POST", b'{"q": 1}'),
        ("GET", b""),
    ]


def test_redirect_loop_fails_after_thirty_redirects(api: ApiServer) -> None:
    api.route("/loop", lambda exchange: (302, b"", {"Location": "/loop"}))
    source = Source(name="api", url=api.url("/loop"), retry=Retry(max_attempts=1))

    with (
        Client(source, Deadline.after(30)) as client,
        pytest.raises(FetchError, match="Exceeded 30 redirects"),
    ):
        client.get(PageRequest(source.url))

    assert len(api.requests) == 31


def test_http_proxy_from_the_environment_carries_the_request(
    api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server answers as the proxy: a proxied request names the whole target URL."""
    api.route("/items", lambda exchange: (200, [{"id": 1}]))
    monkeypatch.setenv("HTTP_PROXY", api.url())
    source = Source(name="api", url="http://api.invalid/items")

    with Client(source, Deadline.after(30)) as client:
        response = client.get(PageRequest(source.url, {"page": "1"}))

    assert response.content == b'[{"id": 1}]'
    assert api.requests[0].handler.path == "http://api.invalid/items?page=1"


def test_no_proxy_covering_the_source_sends_it_directly(
    api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")  # a CIDR range, as requests reads NO_PROXY
    api.route("/items", lambda exchange: (200, []))
    source = Source(name="api", url=api.url("/items"))

    with Client(source, Deadline.after(30)) as client:
        client.get(PageRequest(source.url))

    assert api.requests[0].handler.path == "/items"


def test_no_proxy_is_judged_for_each_host_a_run_reaches(
    api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source's host goes through the proxy (the test server answers as it); a next page on a
    host NO_PROXY covers goes directly."""
    api.route("/items", lambda exchange: (200, []))
    monkeypatch.setenv("HTTP_PROXY", api.url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    source = Source(name="api", url="http://api.invalid/items")

    with ApiServer() as direct, Client(source, Deadline.after(30)) as client:
        direct.route("/next", lambda exchange: (200, []))
        client.get(PageRequest(source.url))
        client.get(PageRequest(direct.url("/next")))

        assert [exchange.handler.path for exchange in api.requests] == ["http://api.invalid/items"]
        assert [exchange.handler.path for exchange in direct.requests] == ["/next"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param({}, {"ca_certs": certifi.where()}, id="certifi-by-default"),
        pytest.param(
            {"REQUESTS_CA_BUNDLE": "/etc/ca.pem"}, {"ca_certs": "/etc/ca.pem"}, id="requests-bundle"
        ),
        pytest.param({"CURL_CA_BUNDLE": "/etc/curl.pem"}, {"ca_certs": "/etc/curl.pem"}, id="curl-bundle"),
        pytest.param(
            {"REQUESTS_CA_BUNDLE": "/etc/ca.pem", "CURL_CA_BUNDLE": "/etc/curl.pem"},
            {"ca_certs": "/etc/ca.pem"},
            id="requests-bundle-first",
        ),
        pytest.param({"REQUESTS_CA_BUNDLE": "{tmp}"}, {"ca_cert_dir": "{tmp}"}, id="a-directory"),
    ],
)
def test_ca_bundle_is_read_as_requests_reads_it(
    variables: dict[str, str], expected: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    transport = Transport()

    pool = transport._manager("https://api.example.com/").connection_from_url("https://api.example.com/")
    kept = {key: getattr(pool, key) for key in expected}
    assert kept == {key: value.format(tmp=tmp_path) for key, value in expected.items()}
    assert pool.cert_reqs == "CERT_REQUIRED"


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        pytest.param("https://a.example/x", {}, "https://a.example/x", id="none"),
        pytest.param("https://a.example/x", {"page": "2"}, "https://a.example/x?page=2", id="one"),
        pytest.param("https://a.example/x?a=1", {"b": "c d"}, "https://a.example/x?a=1&b=c+d", id="appended"),
        pytest.param(
            "https://a.example/x", {"q": "a&b=é"}, "https://a.example/x?q=a%26b%3D%C3%A9", id="escaped"
        ),
    ],
)
def test_with_query_encodes_params_as_requests_does(url: str, params: dict[str, str], expected: str) -> None:
    assert with_query(url, params) == expected
