"""Authentication kinds: bearer, basic and api_key, each a requests auth callable.

Each kind is a frozen msgspec struct of its settings, tagged with its name (`type = "bearer"`),
that checks its own settings. Secrets are never written in the configuration: it names an
environment variable or a file, and fetcher.config.secrets reads the value into `secret`, a field
that `repr` hides. A new kind is one class and one entry in `Auth`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, get_args

import msgspec

from fetcher.errors import ConfigError

if TYPE_CHECKING:
    from requests import PreparedRequest


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

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.secret}"
        return request


class Basic(_Kind, tag="basic"):
    """HTTP Basic authentication with `username` and a password from the environment or a file."""

    username: str
    password_env: str | None = None
    password_file: str | None = None

    secret_keys: ClassVar[tuple[str, str]] = ("password_env", "password_file")

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        from requests.auth import HTTPBasicAuth

        return HTTPBasicAuth(self.username, self.secret)(request)


class ApiKey(_Kind, tag="api_key"):
    """An API key sent in a header (`X-Api-Key` by default) or as the query parameter `query`."""

    token_env: str | None = None
    token_file: str | None = None
    header: str | None = None
    query: str | None = None

    DEFAULT_HEADER: ClassVar[str] = "X-Api-Key"

    @property
    def header_names(self) -> tuple[str, ...]:
        return () if self.query else (self.header or self.DEFAULT_HEADER,)

    def check(self, where: str) -> None:
        if self.header and self.query:
            raise ConfigError(f"{where}.query", "set header or query, not both")
        super().check(where)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if self.query:
            request.prepare_url(request.url, {self.query: self.secret})
        else:
            request.headers[self.header or self.DEFAULT_HEADER] = self.secret
        return request


# Every kind; the configuration offers them by their tags, in this order.
Auth = Bearer | Basic | ApiKey

AUTH_KINDS: dict[str, type[Auth]] = {kind.__struct_config__.tag: kind for kind in get_args(Auth)}
