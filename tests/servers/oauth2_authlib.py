"""A real OAuth2 authorization server on 127.0.0.1: Authlib's, in a Flask app, with a paged API behind it.

The token endpoint (`/token`) is Authlib's AuthorizationServer with the client credentials grant,
accepting client_secret_basic and client_secret_post. The API (`/items?page=N`) is guarded by
Authlib's ResourceProtector and serves `pages` (then an empty page). A token expires when the
test says so (`expire_tokens`, or `expire_after_pages`), never by the clock: no test sleeps.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

CLIENT_ID = "fetcher-client"
CLIENT_SECRET = "cl1ent-s3cret-ZQ8vX2"  # distinctive, so a scan for leaks finds it
SCOPE = "items:read"


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(name for name in (scope or "").split() if name == SCOPE)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


@dataclass
class _Token(TokenMixin):
    access_token: str
    scope: str
    expires_in: int
    expired: bool = False

    def check_client(self, client: _Client) -> bool:
        return True

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.expired

    def is_revoked(self) -> bool:
        return False


class _ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        pass


@dataclass
class TokenRequest:
    """What the token endpoint received: the client's authentication method and the form, no secret."""

    client_auth: str
    form: dict[str, str]


@dataclass
class OAuth2Server:
    """`with OAuth2Server.running(pages) as server:` then `server.token_url`, `server.url("/items")`."""

    pages: list[list[dict[str, Any]]]
    expires_in: int = 3600
    expire_after_pages: int | None = None
    tokens: dict[str, _Token] = field(default_factory=dict)
    token_requests: list[TokenRequest] = field(default_factory=list)
    served: list[int] = field(default_factory=list)  # the page of every 200 from the API
    refused: int = 0  # 401s from the API
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    @contextmanager
    def running(cls, pages: list[list[dict[str, Any]]], **settings: Any) -> Iterator[OAuth2Server]:
        server = cls(pages, **settings)
        httpd = make_server("127.0.0.1", 0, server._app(), threaded=True, request_handler=_Quiet)
        server.base_url = f"http://127.0.0.1:{httpd.server_port}"
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            httpd.shutdown()
            thread.join(5)

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def issued(self) -> list[str]:
        """Every access token issued so far."""
        return list(self.tokens)

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on: the API answers 401 to it."""
        with self._lock:
            for token in self.tokens.values():
                token.expired = True

    def _app(self) -> Flask:
        app = Flask(__name__)
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": self.expires_in}
        app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = lambda *args, **kwargs: secrets.token_urlsafe(24)
        authorization = AuthorizationServer(app, query_client=self._query_client, save_token=self._save_token)
        authorization.register_grant(_ClientCredentials)
        protect = ResourceProtector()
        protect.register_token_validator(self._validator())

        @app.post("/token")
        def token() -> Any:
            method = "client_secret_basic" if "Authorization" in request.headers else "client_secret_post"
            form = {name: value for name, value in request.form.items() if name != "client_secret"}
            self.token_requests.append(TokenRequest(method, form))
            return authorization.create_token_response()

        @app.get("/items")
        @protect(SCOPE)
        def items() -> Any:
            return self._items()

        @app.after_request
        def count_refusals(response: Response) -> Response:
            if request.path == "/items" and response.status_code == 401:
                with self._lock:
                    self.refused += 1
            return response

        return app

    def _items(self) -> Any:
        page = int(request.args.get("page", "1"))
        with self._lock:
            self.served.append(page)
            if self.expire_after_pages is not None and len(self.served) == self.expire_after_pages:
                for token in self.tokens.values():
                    token.expired = True
        records = self.pages[page - 1] if 1 <= page <= len(self.pages) else []
        return jsonify({"items": records})

    def _query_client(self, client_id: str) -> _Client | None:
        return _Client(CLIENT_ID, CLIENT_SECRET) if client_id == CLIENT_ID else None

    def _save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        with self._lock:
            self.tokens[token["access_token"]] = _Token(
                token["access_token"], token.get("scope", ""), token["expires_in"]
            )

    def _validator(self) -> BearerTokenValidator:
        server = self

        class _Validator(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> _Token | None:
                with server._lock:
                    return server.tokens.get(token_string)

        return _Validator()
