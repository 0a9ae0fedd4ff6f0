"""OAuth2 client credentials at run time: one access token, kept for its lifetime, renewed before it ends.

The token is fetched when the first request needs it, the client authenticating with HTTP Basic
(its id and secret form-urlencoded first, RFC 6749 2.3.1) or in the form. It is kept until a
tenth of its `expires_in` (at most REFRESH_MARGIN_S) before it expires; a token without
`expires_in` is kept until the API refuses it. After a 401 from the API the client
(fetcher.http.client) drops the token and asks once more.

The token is registered for redaction here, the moment it is read: the one secret that the
command line, which registers every other one at the program's edge, cannot know in advance.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from base64 import b64encode
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec
import urllib3

from fetcher import redact
from fetcher.errors import FetchError, RetryableError
from fetcher.http.deadline import Deadline
from fetcher.http.failures import http_problem, reason, retryable
from fetcher.http.transport import Transport
from fetcher.logs import quote as quote_value
from fetcher.version import __version__

if TYPE_CHECKING:
    from fetcher.http.auth import OAuth2ClientCredentials

logger = logging.getLogger(__name__)

REFRESH_MARGIN_S = 60.0
MAX_TOKEN_RESPONSE_BYTES = 1 << 20
_REFUSED = (
    "the token endpoint refused the client; check client_id, the client secret it names, scopes and audience"
)


class TokenError(FetchError):
    """The token endpoint gave no usable token, and asking again will not help; `url` is the token URL."""


class Tokens:
    """The access token of one source for one run, fetched over the run's transport. Safe to share
    across threads: one of them fetches a token that is due, the others wait for it."""

    def __init__(
        self,
        settings: OAuth2ClientCredentials,
        transport: Transport,
        *,
        describe: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.url = redact.redact(settings.token_url)
        self.fetched = 0  # token responses accepted this run
        self._describe = describe
        self._clock = clock
        self._token: str | None = None
        self._generation = 0  # how many tokens were fetched
        self._sent = threading.local()  # which of them this thread's last request carried
        self._renew_at = math.inf
        self._transport = transport
        self._lock = threading.Lock()

    def authorization(self, window: Deadline) -> str:
        """The `Authorization` header of the current token; a new one is fetched first, within
        `window`, when due."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token = self._fetch(window)
                self._generation += 1
            self._sent.generation = self._generation
            return f"Bearer {self._token}"

    def forget(self) -> None:
        """Drop the token this thread's refused request carried, unless another thread already has:
        the next request fetches a new one, once however many requests were refused together."""
        with self._lock:
            if getattr(self._sent, "generation", None) == self._generation:
                self._token = None

    def _fetch(self, window: Deadline) -> str:
        started = self._clock()
        timeout = max(window.remaining(), 0.001)
        form, client_auth = self._form()
        # Only the run's proxies and CA bundle: the source's extra headers are the API's business,
        # not the token endpoint's.
        headers = {
            "User-Agent": f"fetcher/{__version__}",
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            **client_auth,
        }
        try:
            # Redirects are never followed: the client's credentials go only where token_url says.
            _, response = self._transport.open(
                "POST", self.settings.token_url, headers, urlencode(form).encode(), timeout_s=timeout
            )
            try:
                body = response.read(MAX_TOKEN_RESPONSE_BYTES + 1, decode_content=True)
            finally:
                response.close()
                response.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:
            raise RetryableError(
                self.url, f"token request failed: connection failed: {reason(exc)}"
            ) from None
        except urllib3.exceptions.TimeoutError as exc:
            raise RetryableError(self.url, f"token request timed out: {reason(exc)}") from None
        except urllib3.exceptions.LocationValueError as exc:
            raise TokenError(self.url, f"token request failed: {reason(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise RetryableError(
                self.url, f"token request failed: connection failed: {reason(exc)}"
            ) from None
        if not 200 <= response.status < 300:
            raise _status_error(response, body, self.url)
        if len(body) > MAX_TOKEN_RESPONSE_BYTES:
            raise TokenError(self.url, f"token response is larger than {MAX_TOKEN_RESPONSE_BYTES} bytes")
        token, expires_in_s = _parse(body, self.url)
        self.fetched += 1
        self._renew_at = math.inf
        if expires_in_s is not None:
            self._renew_at = started + expires_in_s - min(REFRESH_MARGIN_S, expires_in_s / 10)
        logger.info(
            "event=token %stoken_url=%s expires_in_s=%s",
            self._describe,
            quote_value(self.url),
            "-" if expires_in_s is None else f"{expires_in_s:g}",
        )
        return token

    def _form(self) -> tuple[dict[str, str], dict[str, str]]:
        """The token request's form and, with client_secret_basic, its Basic `Authorization`."""
        settings = self.settings
        form = {"grant_type": "client_credentials", **settings.form}
        if settings.scopes:
            form["scope"] = " ".join(settings.scopes)
        if settings.audience is not None:
            form["audience"] = settings.audience
        if settings.client_auth == "client_secret_post":
            return {**form, "client_id": settings.client_id, "client_secret": settings.secret}, {}
        credentials = f"{quote(settings.client_id, safe='')}:{quote(settings.secret, safe='')}"
        return form, {"Authorization": f"Basic {b64encode(credentials.encode('latin-1')).decode()}"}


def _parse(body: bytes, url: str) -> tuple[str, float | None]:
    """The access token and its lifetime in seconds (None when not given) of a token response."""
    try:
        document: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise TokenError(url, "token response is not JSON") from None
    if not isinstance(document, dict):
        raise TokenError(url, "token response is not a JSON object")
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        keys = ", ".join(sorted(map(str, document))[:10]) or "none"
        raise TokenError(url, f"token response has no access_token (keys: {keys})")
    redact.register_secret(token)
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(url, f"token_type {token_type!r} is not supported; only Bearer tokens are")
    expires_in = document.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():  # some servers send a string
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        return token, None
    return token, float(expires_in)


def _status_error(response: urllib3.BaseHTTPResponse, body: bytes, url: str) -> FetchError:
    status = response.status
    problem = f"token request: {http_problem(response)}"
    retry = retryable(response, url, problem)
    if retry is not None:
        return retry
    if 300 <= status < 400:
        return TokenError(url, f"{problem}: redirected; set token_url to the final URL", status=status)
    hint = _REFUSED if status in (400, 401, 403) else "the token endpoint refused the request"
    return TokenError(url, f"{problem}: {hint}{_oauth_error(body)}", status=status)


def _oauth_error(body: bytes) -> str:
    """The `error` and `error_description` of an error response (RFC 6749 5.2), when it has them."""
    try:
        document = msgspec.json.decode(body[:4096])
    except msgspec.DecodeError:
        return ""
    if not isinstance(document, dict) or not isinstance(document.get("error"), str):
        return ""
    description = document.get("error_description")
    shown = f"; error={document['error']}" + (f" ({description})" if isinstance(description, str) else "")
    return " ".join(shown.split())[:200]
