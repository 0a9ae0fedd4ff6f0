"""Authentication kinds: bearer, basic, api_key and oauth2_client_credentials.

Each kind is a frozen msgspec struct of its settings, tagged with its name (`type = "bearer"`),
that checks its own settings. Secrets are never written in the configuration: it names an
environment variable or a file, and fetcher.config.secrets reads the value into `secret`, a field
that `repr` hides. A new kind is one class and one entry in `Auth`.

Every kind but oauth2_client_credentials puts its credential in a request's headers or query
(`apply`). That one's credential, the access token, exists only at run time:
fetcher.http.oauth2 fetches and keeps it.
"""

from __future__ import annotations

from base64 import b64encode
from typing import ClassVar, Literal, get_args
from urllib.parse import urlsplit

import msgspec

from fetcher.errors import ConfigError


class _Kind(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    """What every kind shares: a secret named by a variable (`*_env`) or a file (`*_file`)."""

    secret: str = ""

    secret_keys: ClassVar[tuple[str, str]] = ("token_env", "token_file")
    resolved_fields: ClassVar[tuple[str, ...]] = ("secret",)  # filled in after loading, never a key
    header_names: ClassVar[tuple[str, ...]] = ("Authorization",)

    @property
    def secret_variable(self) -> str | None:
        """The environment variable that holds the secret, if it is read from one."""
        return getattr(self, self.secret_keys[0])

    @property
    def secret_file(self) -> str | None:
        """The file that holds the secret, if it is read from one."""
        return getattr(self, self.secret_keys[1])

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless the settings make sense."""
        if (self.secret_variable is None) == (self.secret_file is None):
            raise ConfigError(where, f"set exactly one of {' and '.join(self.secret_keys)}")

    def __repr__(self) -> str:
        shown = (f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "secret")
        return f"{type(self).__name__}({', '.join(shown)})"


class Bearer(_Kind, tag="bearer"):
    """`Authorization: Bearer <token>`."""

    token_env: str | None = None
    token_file: str | None = None

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        """Put the credential in a request's `headers` or (an API key's `query`) `params`."""
        headers["Authorization"] = f"Bearer {self.secret}"


class Basic(_Kind, tag="basic"):
    """HTTP Basic authentication with `username` and a password from the environment or a file."""

    username: str
    password_env: str | None = None
    password_file: str | None = None

    secret_keys: ClassVar[tuple[str, str]] = ("password_env", "password_file")

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        # Latin-1, as requests' HTTPBasicAuth encodes both halves.
        credentials = b64encode(f"{self.username}:{self.secret}".encode("latin-1")).decode()
        headers["Authorization"] = f"Basic {credentials}"


class ApiKey(_Kind, tag="api_key"):
    """An API key sent in a header (`X-Api-Key` by default) or as the query parameter `query`.

    With `prefix`, the header carries `<prefix> <key>`: Django REST Framework's
    `Authorization: Token <key>` is `header = "Authorization"`, `prefix = "Token"`.
    """

    token_env: str | None = None
    token_file: str | None = None
    header: str | None = None
    query: str | None = None
    prefix: str | None = None

    DEFAULT_HEADER: ClassVar[str] = "X-Api-Key"

    @property
    def header_names(self) -> tuple[str, ...]:
        return () if self.query else (self.header or self.DEFAULT_HEADER,)

    def check(self, where: str) -> None:
        if self.header and self.query:
            raise ConfigError(f"{where}.query", "set header or query, not both")
        if self.prefix is not None and self.query:
            raise ConfigError(f"{where}.prefix", "applies to a header only, not with query")
        if self.prefix is not None and (not self.prefix or any(c.isspace() for c in self.prefix)):
            raise ConfigError(f"{where}.prefix", f"{self.prefix!r} is not one word (such as Token)")
        super().check(where)

    def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        if self.query:
            params[self.query] = self.secret  # last in the query, where requests put it
        else:
            value = f"{self.prefix} {self.secret}" if self.prefix else self.secret
            headers[self.header or self.DEFAULT_HEADER] = value


class OAuth2ClientCredentials(_Kind, tag="oauth2_client_credentials"):
    """OAuth2's client credentials grant (RFC 6749, 4.4): `Authorization: Bearer <access token>`.

    The token comes from `token_url` at run time, the client authenticating with HTTP Basic
    (`client_secret_basic`, the default) or with its id and secret in the form
    (`client_secret_post`); `scopes`, `audience` and `form` go in the token request.
    """

    token_url: str
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    form: dict[str, str] = {}
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"

    secret_keys: ClassVar[tuple[str, str]] = ("client_secret_env", "client_secret_file")
    # The form fields fetcher sets itself: `form` may not override them.
    OWN_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"grant_type", "client_id", "client_secret", "scope", "audience"}
    )

    def check(self, where: str) -> None:
        parts = urlsplit(self.token_url)
        if "@" in parts.netloc:
            raise ConfigError(f"{where}.token_url", "credentials in the URL are not allowed (value redacted)")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}.token_url", f"{self.token_url!r} is not an http:// or https:// URL")
        if not self.client_id:
            raise ConfigError(f"{where}.client_id", "is empty")
        for name in sorted(self.OWN_FIELDS & set(self.form)):
            raise ConfigError(f"{where}.form.{name}", "is set by fetcher itself; use the key of its own")
        super().check(where)


# Every kind; the configuration offers them by their tags, in this order.
Auth = Bearer | Basic | ApiKey | OAuth2ClientCredentials

AUTH_KINDS: dict[str, type[Auth]] = {kind.__struct_config__.tag: kind for kind in get_args(Auth)}
