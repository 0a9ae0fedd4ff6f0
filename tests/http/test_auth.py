"""Auth kinds: each puts its secret where the API expects it, and only there."""

from __future__ import annotations

import base64
from typing import NamedTuple

import pytest

from fetcher.errors import ConfigError
from fetcher.http.auth import AUTH_KINDS, ApiKey, Auth, Basic, Bearer, OAuth2ClientCredentials
from fetcher.http.transport import with_query


class _Sent(NamedTuple):
    url: str
    headers: dict[str, str]


def _prepared(auth: Bearer | Basic | ApiKey) -> _Sent:
    """What the client sends to https://api.example.com/x?a=1 with `auth`'s credential."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    auth.apply(headers, params)
    return _Sent(with_query("https://api.example.com/x?a=1", params), headers)


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


def test_api_key_prefix_sends_prefix_space_key_as_drf_token_authentication_expects() -> None:
    auth = ApiKey(token_env="K", header="Authorization", prefix="Token", secret="key1")
    request = _prepared(auth)

    assert request.headers["Authorization"] == "Token key1"
    assert auth.header_names == ("Authorization",)


def test_api_key_prefix_applies_to_the_default_header_too() -> None:
    request = _prepared(ApiKey(token_env="K", prefix="Key", secret="key1"))

    assert request.headers["X-Api-Key"] == "Key key1"


def test_auth_kinds_table_names_every_kind() -> None:
    assert {
        "bearer": Bearer,
        "basic": Basic,
        "api_key": ApiKey,
        "oauth2_client_credentials": OAuth2ClientCredentials,
    } == AUTH_KINDS


def test_oauth2_has_no_credential_of_its_own_to_apply_and_its_header_is_authorization() -> None:
    auth = OAuth2ClientCredentials(
        token_url="https://id.example.com/token", client_id="c", client_secret_env="S"
    )

    assert not hasattr(auth, "apply")
    assert auth.header_names == ("Authorization",)
    assert auth.secret_keys == ("client_secret_env", "client_secret_file")


def test_auth_repr_hides_secret() -> None:
    assert "hidden-value" not in repr(Bearer(token_env="T", secret="hidden-value"))
    oauth2 = OAuth2ClientCredentials(
        token_url="https://id.example.com/token", client_id="c", client_secret_env="S", secret="hidden-value"
    )
    assert "hidden-value" not in repr(oauth2)


def _oauth2(**settings: object) -> OAuth2ClientCredentials:
    defaults: dict[str, object] = {
        "token_url": "https://id.example.com/token",
        "client_id": "c",
        "client_secret_env": "S",
    }
    return OAuth2ClientCredentials(**{**defaults, **settings})


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
        pytest.param(
            ApiKey(token_env="K", query="k", prefix="Token"),
            "a.prefix",
            "applies to a header only, not with query",
            id="prefix-with-query",
        ),
        pytest.param(
            ApiKey(token_env="K", header="Authorization", prefix="Token "),
            "a.prefix",
            "'Token ' is not one word (such as Token)",
            id="prefix-with-space",
        ),
        pytest.param(
            ApiKey(token_env="K", prefix=""),
            "a.prefix",
            "'' is not one word (such as Token)",
            id="prefix-empty",
        ),
        pytest.param(
            _oauth2(client_secret_env=None),
            "a",
            "set exactly one of client_secret_env and client_secret_file",
            id="oauth2-no-secret",
        ),
        pytest.param(
            _oauth2(token_url="ftp://id.example.com/token"),
            "a.token_url",
            "'ftp://id.example.com/token' is not an http:// or https:// URL",
            id="oauth2-token-url-scheme",
        ),
        pytest.param(
            _oauth2(token_url="https://c:hunter2@id.example.com/token"),
            "a.token_url",
            "credentials in the URL are not allowed (value redacted)",
            id="oauth2-token-url-credentials",
        ),
        pytest.param(_oauth2(client_id=""), "a.client_id", "is empty", id="oauth2-client-id"),
        pytest.param(
            _oauth2(form={"audience": "x", "resource": "r"}),
            "a.form.audience",
            "is set by fetcher itself; use the key of its own",
            id="oauth2-form-overrides",
        ),
    ],
)
def test_auth_kind_checks_its_own_settings(auth: Auth, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        auth.check("a")

    assert str(caught.value) == f"{key}: {words}"


@pytest.mark.parametrize(
    "auth",
    [
        Bearer(token_file="/f"),
        Basic(username="ann", password_env="P"),
        ApiKey(token_env="K", query="k"),
        ApiKey(token_env="K", header="Authorization", prefix="Token"),
        _oauth2(client_secret_file="/f", client_secret_env=None, scopes=("a", "b"), form={"resource": "r"}),
    ],
)
def test_auth_kind_accepts_one_secret_source(auth: Auth) -> None:
    auth.check("a")
