"""Auth kinds: each puts its secret where the API expects it, and only there."""

from __future__ import annotations

import base64

import pytest
import requests

from fetcher.errors import ConfigError
from fetcher.http.auth import AUTH_KINDS, ApiKey, Auth, Basic, Bearer


def _prepared(auth: object) -> requests.PreparedRequest:
    return requests.Request("GET", "https://api.example.com/x?a=1", auth=auth).prepare()


def test_bearer_sets_authorization_header() -> None:
    request = _prepared(Bearer(token_env="T", secret="tok"))

    assert request.headers["Authorization"] == "Bearer tok"


def test_basic_sets_basic_authorization() -> None:
    request = _prepared(Basic(username="ann", password_env="P", secret="pw"))

    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ann:pw").decode()


def test_api_key_defaults_to_x_api_key_header() -> None:
    auth = ApiKey(token_env="K", secret="key1")
    request = _prepared(auth)

    assert request.headers["X-Api-Key"] == "key1"
    assert "key1" not in request.url
    assert auth.header_names == ("X-Api-Key",)


def test_api_key_custom_header() -> None:
    request = _prepared(ApiKey(token_env="K", header="X-Token", secret="key1"))

    assert request.headers["X-Token"] == "key1"


def test_api_key_in_query_adds_parameter_only() -> None:
    auth = ApiKey(token_env="K", query="appid", secret="key 1")
    request = _prepared(auth)

    assert request.url == "https://api.example.com/x?a=1&appid=key+1"
    assert "X-Api-Key" not in request.headers
    assert auth.header_names == ()


def test_auth_kinds_table_names_every_kind() -> None:
    assert {"bearer": Bearer, "basic": Basic, "api_key": ApiKey} == AUTH_KINDS


def test_auth_repr_hides_secret() -> None:
    assert "hidden-value" not in repr(Bearer(token_env="T", secret="hidden-value"))


@pytest.mark.parametrize(
    ("auth", "key", "words"),
    [
        pytest.param(Bearer(), "a", "set exactly one of token_env and token_file", id="bearer-neither"),
        pytest.param(
            Bearer(token_env="T", token_file="/f"),
            "a",
            "set exactly one of token_env and token_file",
            id="both",
        ),
        pytest.param(
            Basic(username="ann"),
            "a",
            "set exactly one of password_env and password_file",
            id="basic-neither",
        ),
        pytest.param(
            ApiKey(token_env="K", header="X", query="k"),
            "a.query",
            "set header or query, not both",
            id="api-key",
        ),
    ],
)
def test_auth_kind_checks_its_own_settings(auth: Auth, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        auth.check("a")

    assert str(caught.value) == f"{key}: {words}"


@pytest.mark.parametrize(
    "auth",
    [Bearer(token_file="/f"), Basic(username="ann", password_env="P"), ApiKey(token_env="K", query="k")],
)
def test_auth_kind_accepts_one_secret_source(auth: Auth) -> None:
    auth.check("a")
