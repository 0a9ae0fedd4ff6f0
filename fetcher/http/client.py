"""The HTTP client: one per run, shared by its threads, with auth, timeouts, size limits, the retry policy
and the rate budget, over urllib3 (fetcher.http.transport).

Every request has a `(connect, read)` timeout and a deadline for the whole exchange, so neither a
stalled server nor one that trickles its headers or body a byte at a time holds a run past
`timeout_s`: socket timeouts bound each wait, and the watchdog (fetcher.http.watchdog) bounds the
whole, in any thread. The body is read in bounded chunks and refused beyond `max_response_mb`
after decompression, so a gzip bomb costs at most that much memory. Every attempt first takes a
token from the run's rate budget (fetcher.http.budget), which every response's headers update.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import tenacity
import urllib3

from fetcher.errors import DeadlineExceeded, FetchError, RetryableError
from fetcher.http import failures, watchdog
from fetcher.http.auth import OAuth2ClientCredentials
from fetcher.http.budget import Budget, RateLimit
from fetcher.http.deadline import Deadline
from fetcher.http.oauth2 import TokenError, Tokens
from fetcher.http.retry import policy, sleep_until
from fetcher.http.transport import TooManyRedirects, Transport, should_strip_auth, with_query
from fetcher.pagination.pages import PageRequest
from fetcher.redact import redact
from fetcher.version import __version__

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
# What requests sends unless told otherwise; `Accept` is the fetcher's own.
_HEADERS = {
    "User-Agent": f"fetcher/{__version__}",
    "Accept-Encoding": ", ".join(
        urllib3.util.make_headers(accept_encoding=True)["accept-encoding"].split(",")
    ),
    "Accept": "application/json",
    "Connection": "keep-alive",
}


@dataclass(frozen=True)
class Response:
    """A successful response: the final URL after redirects, its headers and its whole body."""

    url: str
    headers: Any
    content: bytes = field(repr=False)


class RetrySettings(Protocol):
    max_attempts: int
    max_wait_s: float


class Endpoint(Protocol):
    """What the client needs to know of a source: a configured source (`config.Source`) is one."""

    name: str
    url: str
    method: str
    headers: Mapping[str, str]
    timeout_s: float
    run_timeout_s: float
    max_response_mb: float
    retry: RetrySettings
    auth: Any  # an auth kind of fetcher.http.auth, or None
    rate_limit: RateLimit | None

    @property
    def max_response_bytes(self) -> int: ...


class Client:
    """Fetches pages for one source within one run. Use as a context manager.

    Safe to share across threads: its pools, token, rate budget and counts of attempts and retries
    are; a run's threads (fetch-ahead, a child's fan-out) share one.

    `in_container` says the fetcher runs in its image, where a refused connection to 127.0.0.1
    most likely meant the host's API: the error then says how to reach it. `budget` is the run's
    rate budget.
    """

    def __init__(
        self,
        source: Endpoint,
        deadline: Deadline,
        budget: Budget | None = None,
        *,
        in_container: bool = False,
    ) -> None:
        self.source = source
        self.deadline = deadline
        self.in_container = in_container
        self.budget = budget or Budget(source.name, source.rate_limit, source.run_timeout_s)
        self.attempts = 0
        self.retries = 0
        self._counting = threading.Lock()
        self._retrying = policy(  # one policy per run; each request starts its attempts afresh
            source.retry.max_attempts,
            source.retry.max_wait_s,
            deadline,
            describe=f"source={source.name} ",
        )
        self._transport = Transport(maxsize=self.budget.concurrency)
        self._strip_on_redirect = () if source.auth is None else source.auth.header_names
        self._tokens: Tokens | None = None
        if isinstance(source.auth, OAuth2ClientCredentials):
            self._tokens = Tokens(source.auth, self._transport, describe=f"source={source.name} ")
            self._strip_on_redirect = ("Authorization",)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._transport.close()

    def get(
        self,
        request: PageRequest,
        endpoint: Endpoint | None = None,
        cancelled: threading.Event | None = None,
    ) -> Response:
        """Send `request` under the retry policy and return the response with its whole body.

        `endpoint` is what to send (method, headers): the client's source, or that source as
        filled in for one parent row (same origin, same settings). `cancelled`, once set, ends
        the request's waits between attempts and its attempts (a walk fetched ahead has ended).
        With OAuth2, a 401 from the API drops the token; the request is sent once more with a new
        one.
        """
        tokens = self._tokens
        try:
            return self._get(request, endpoint, cancelled)
        except FetchError as exc:
            if tokens is None or exc.status != 401 or isinstance(exc, TokenError):
                raise
        logger.info("event=token_refused source=%s status=401 retry=once_with_new_token", self.source.name)
        tokens.forget()
        return self._get(request, endpoint, cancelled)

    def _get(
        self, request: PageRequest, endpoint: Endpoint | None, cancelled: threading.Event | None
    ) -> Response:
        retrying = self._retrying
        if cancelled is not None:  # its waits end, and no attempt starts, once it is set
            retrying = retrying.copy(
                sleep=sleep_until(cancelled), stop=retrying.stop | tenacity.stop_when_event_set(cancelled)
            )
        try:
            for attempt in retrying:
                with attempt:
                    if cancelled is not None and cancelled.is_set():
                        raise FetchError(redact(request.url), "not sent: the walk that asked for it ended")
                    with self._counting:
                        self.attempts += 1
                        if attempt.retry_state.attempt_number > 1:
                            self.retries += 1
                    return self._send(request, endpoint or self.source)
        except RetryableError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            if self.deadline.expired() or attempts < self.source.retry.max_attempts:
                # The policy stops early only when the next wait would pass the run's deadline.
                raise DeadlineExceeded(
                    f"run_timeout_s={self.source.run_timeout_s:g} reached; last error: {exc}"
                ) from exc
            raise FetchError(
                exc.url, f"{exc.problem} (gave up after {attempts} attempts)", status=exc.status
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _send(self, request: PageRequest, endpoint: Endpoint) -> Response:
        if self.deadline.expired():
            raise DeadlineExceeded(f"run_timeout_s={self.source.run_timeout_s:g} reached")
        headers, params = self._credentials(request)
        self.budget.acquire(self.deadline)
        exchange = self.deadline.sooner(self.source.timeout_s)
        try:
            with watchdog.watch(exchange.remaining()) as watch:
                try:
                    response = self._exchange(request, endpoint, exchange, headers, params)
                except FetchError:
                    if not watch.fired:
                        raise
                if watch.fired:  # a body cut short by the watchdog can look complete: never keep it
                    raise RetryableError(
                        redact(request.url),
                        f"timed out: no complete response within timeout_s={self.source.timeout_s:g}",
                    )
                return response
        finally:
            self.budget.release()

    def _credentials(self, request: PageRequest) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and query parameters that carry the credentials for `request`: none off the
        source's own origin, never to a next page on another host. An OAuth2 token is fetched when
        due, within a `timeout_s` window of its own."""
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        auth = self.source.auth
        if auth is None or should_strip_auth(self.source.url, request.full_url):
            return headers, params
        if self._tokens is None:
            auth.apply(headers, params)
            return headers, params
        window = self.deadline.sooner(self.source.timeout_s)
        with watchdog.watch(window.remaining()) as watch:
            try:
                headers["Authorization"] = self._tokens.authorization(window)
            except FetchError:
                if not watch.fired:
                    raise
            if watch.fired:
                problem = f"token request timed out: no token within timeout_s={self.source.timeout_s:g}"
                raise RetryableError(self._tokens.url, problem)
        return headers, params

    def _exchange(
        self,
        request: PageRequest,
        endpoint: Endpoint,
        exchange: Deadline,
        credentials: dict[str, str],
        auth_params: dict[str, str],
    ) -> Response:
        timeout_s = max(exchange.remaining(), 0.001)
        shown = redact(request.url)
        headers = {**_HEADERS, **endpoint.headers, **credentials}
        body = None
        if request.body is not None:
            body = json.dumps(request.body, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            url, response = self._transport.open(
                endpoint.method if request.body is None else "POST",
                with_query(request.url, {**request.params, **auth_params}),
                headers,
                body,
                timeout_s=timeout_s,
                strip_on_redirect=self._strip_on_redirect,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            raise self._connection_failed(request, shown, exc) from None
        except urllib3.exceptions.TimeoutError as exc:
            raise RetryableError(shown, f"timed out: {failures.reason(exc)}") from None
        except TooManyRedirects as exc:
            raise FetchError(shown, f"request failed: {failures.reason(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, urllib3.exceptions.LocationValueError):
                raise FetchError(shown, f"request failed: {failures.reason(exc)}") from None
            raise self._connection_failed(request, shown, exc) from None
        try:
            self.budget.observe(response.headers, status=response.status)
            shown = redact(url)
            if not 200 <= response.status < 300:
                raise failures.status_error(response, shown, self.source.auth is not None)
            content = self._read_body(response, exchange, shown)
        except BaseException:
            response.close()  # a body left unread must not go back to the pool
            raise
        finally:
            response.release_conn()
        return Response(url=url, headers=response.headers, content=content)

    def _connection_failed(self, request: PageRequest, shown: str, exc: BaseException) -> RetryableError:
        hint = (
            f"; {failures.LOCAL_IN_CONTAINER_HINT}"
            if self.in_container and failures.is_local(request.url)
            else ""
        )
        return RetryableError(shown, f"connection failed: {failures.reason(exc)}{hint}")

    def _read_body(self, response: urllib3.BaseHTTPResponse, exchange: Deadline, shown: str) -> bytes:
        limit = self.source.max_response_bytes
        too_big = f"body is larger than max_response_mb={self.source.max_response_mb:g}"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(shown, f"{too_big} (Content-Length {declared}); not read")
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.read1(CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if size > limit:
                    raise FetchError(shown, f"{too_big} after decompression; not read further")
                if exchange.expired():
                    raise RetryableError(
                        shown, f"timed out: body not complete after {self.source.timeout_s:g} s"
                    )
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise RetryableError(shown, "timed out reading the body") from None
        except urllib3.exceptions.DecodeError as exc:
            raise FetchError(shown, f"body could not be decompressed: {failures.reason(exc)}") from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError) as exc:
            raise RetryableError(
                shown, f"connection broken mid-body (truncated): {failures.reason(exc)}"
            ) from None
        return b"".join(chunks)
