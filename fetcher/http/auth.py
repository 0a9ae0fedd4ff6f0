"""Authentication kinds: bearer, basic and api_key, each a requests auth callable.

Secrets are never written in the configuration: it names an environment variable or a file, and
the value is read once, at start, into a field that `repr` hides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from requests import PreparedRequest


@dataclass(frozen=True)
class Bearer:
    """`Authorization: Bearer <token>`."""

    token_env: str | None = None
    token_file: str | None = None
    secret: str = field(default="", repr=False, metadata={"resolved": True})

    secret_keys: ClassVar[tuple[str, str]] = ("token_env", "token_file")
    header_names: ClassVar[tuple[str, ...]] = ("Authorization",)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.secret}"
        return request


@dataclass(frozen=True)
class Basic:
    """HTTP Basic authentication with `username` and a password from the environment or a file."""

    username: str
    password_env: str | None = None
    password_file: str | None = None
    secret: str = field(default="", repr=False, metadata={"resolved": True})

    secret_keys: ClassVar[tuple[str, str]] = ("password_env", "password_file")
    header_names: ClassVar[tuple[str, ...]] = ("Authorization",)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        from requests.auth import HTTPBasicAuth

        return HTTPBasicAuth(self.username, self.secret)(request)


@dataclass(frozen=True)
class ApiKey:
    """An API key sent in a header (`X-Api-Key` by default) or as the query parameter `query`."""

    token_env: str | None = None
    token_file: str | None = None
    header: str | None = None
    query: str | None = None
    secret: str = field(default="", repr=False, metadata={"resolved": True})

    secret_keys: ClassVar[tuple[str, str]] = ("token_env", "token_file")
    DEFAULT_HEADER: ClassVar[str] = "X-Api-Key"

    @property
    def header_names(self) -> tuple[str, ...]:
        return () if self.query else (self.header or self.DEFAULT_HEADER,)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if self.query:
            request.prepare_url(request.url, {self.query: self.secret})
        else:
            request.headers[self.header or self.DEFAULT_HEADER] = self.secret
        return request


Auth = Bearer | Basic | ApiKey

AUTH_KINDS: dict[str, type[Auth]] = {"bearer": Bearer, "basic": Basic, "api_key": ApiKey}
